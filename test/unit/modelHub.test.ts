import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubCacheDir, pullModel, resolveModelDir } from '../../src/runtime/model/hub';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { writeTestModelFolder } from '../support/llamaFolder';

const REPO = 'acme/tiny-gated';
const TOKEN = 'hf_test_token';

interface FakeHub {
  server: Server;
  endpoint: string;
  ranges: string[];
  /** Per file: bytes to cut the connection after (simulates a dropped download), once. */
  cutAfter: Map<string, number>;
  corrupt: Set<string>;
}

/** Imitates the two Hub endpoints EM Lab uses: /api/models/{id}/revision/{rev}?blobs=true and /{id}/resolve/{rev}/{file}. */
async function startFakeHub(files: Map<string, Buffer>): Promise<FakeHub> {
  const hub: FakeHub = { server: undefined as unknown as Server, endpoint: '', ranges: [], cutAfter: new Map(), corrupt: new Set() };
  hub.server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end('{"error":"Access to model acme/tiny-gated is restricted."}');
      return;
    }
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === `/api/models/${REPO}/revision/main`) {
      assert.equal(url.searchParams.get('blobs'), 'true');
      const siblings = [...files].map(([name, data]) => ({
        rfilename: name,
        size: data.length,
        ...(name.endsWith('.safetensors') ? { lfs: { sha256: createHash('sha256').update(data).digest('hex'), size: data.length } } : {}),
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: REPO, siblings: [...siblings, { rfilename: 'README.md', size: 3 }] }));
      return;
    }
    const m = new RegExp(`^/${REPO}/resolve/main/(.+)$`).exec(url.pathname);
    const name = m?.[1];
    let data = name ? files.get(name) : undefined;
    if (!data || !name) {
      res.writeHead(404).end('not found');
      return;
    }
    if (hub.corrupt.has(name)) data = Buffer.from(data.map((b) => b ^ 1));
    let start = 0;
    const range = req.headers.range;
    if (range) {
      hub.ranges.push(`${name} ${range}`);
      start = Number(/bytes=(\d+)-/.exec(range)![1]);
    }
    const body = data.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': String(body.length), ...(range ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}) });
    const cut = hub.cutAfter.get(name);
    if (cut !== undefined) {
      hub.cutAfter.delete(name);
      res.write(body.subarray(0, cut), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => hub.server.listen(0, '127.0.0.1', r));
  hub.endpoint = `http://127.0.0.1:${(hub.server.address() as AddressInfo).port}`;
  return hub;
}

function codeOf(err: unknown): string {
  return (err as { code?: string }).code ?? String(err);
}

describe('Hugging Face downloads (against a local imitation of the Hub)', function () {
  this.timeout(30000);
  let tmp: string;
  let hub: FakeHub;
  let files: Map<string, Buffer>;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'emlab-hub-'));
    const src = join(tmp, 'src');
    writeTestModelFolder(src, tinyConfig(), randomWeights(tinyConfig(), 4));
    writeFileSync(join(src, 'generation_config.json'), '{"eos_token_id": [1]}');
    files = new Map(readdirSync(src).map((f) => [f, readFileSync(join(src, f))]));
    hub = await startFakeHub(files);
  });
  after(() => {
    hub.server.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  const env = () => ({ HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN });

  it('downloads the checkpoint files (not the README), verified, with progress, into the cache; a second pull fetches nothing', async () => {
    const storageDir = join(tmp, 's1');
    const seen: number[] = [];
    const dir = await pullModel(REPO, { storageDir, env: env(), onProgress: (_f, done, total) => seen.push(done / total) });
    assert.equal(dir, hubCacheDir(storageDir, REPO));
    for (const [name, data] of files) assert.deepEqual(readFileSync(join(dir, name)), data);
    assert.ok(!existsSync(join(dir, 'README.md')));
    assert.equal(seen[seen.length - 1], 1);
    const m = openModelFolder(dir);
    assert.equal(m.config.hiddenSize, 32);
    m.checkpoint.close();
    let calls = 0;
    await pullModel(REPO, { storageDir, env: env(), onProgress: () => calls++ });
    assert.equal(calls, 0);
    assert.equal(await resolveModelDir(REPO, { storageDir, env: env() }), dir);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const storageDir = join(tmp, 's2');
    const size = files.get('model.safetensors')!.length;
    hub.cutAfter.set('model.safetensors', Math.floor(size / 3));
    await assert.rejects(pullModel(REPO, { storageDir, env: env() }), (e) => codeOf(e) === 'hub-offline' && /interrupted.*resume/.test((e as Error).message));
    const part = join(hubCacheDir(storageDir, REPO), 'model.safetensors.part');
    assert.ok(statSync(part).size > 0 && statSync(part).size < size);
    const have = statSync(part).size;
    const dir = await pullModel(REPO, { storageDir, env: env() });
    assert.ok(hub.ranges.includes(`model.safetensors bytes=${have}-`), hub.ranges.join(';'));
    assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), files.get('model.safetensors'));
  });

  it('a gated model without a token says to accept the licence and set HF_TOKEN', async () => {
    await assert.rejects(pullModel(REPO, { storageDir: join(tmp, 's3'), env: { HF_ENDPOINT: hub.endpoint } }), (e) => {
      const msg = (e as Error).message;
      return codeOf(e) === 'hub-gated' && /accept the licence on the model page \(http:\/\/127\.0\.0\.1:\d+\/acme\/tiny-gated\) and set HF_TOKEN/.test(msg) && /HF_TOKEN is not set/.test(msg);
    });
  });

  it('a corrupted LFS file fails its sha256 check and is removed', async () => {
    const storageDir = join(tmp, 's4');
    hub.corrupt.add('model.safetensors');
    try {
      await assert.rejects(pullModel(REPO, { storageDir, env: env() }), (e) => codeOf(e) === 'hub-hash-mismatch');
      assert.ok(!existsSync(join(hubCacheDir(storageDir, REPO), 'model.safetensors.part')));
      assert.ok(!existsSync(join(hubCacheDir(storageDir, REPO), 'model.safetensors')));
    } finally {
      hub.corrupt.delete('model.safetensors');
    }
  });

  it('em-lab model info describes a repo that is not downloaded from its config.json alone', async () => {
    const { infoCommand } = await import('../../src/runtime/cli/modelCommands');
    const { captureIO } = await import('../support/captureIO');
    const io = captureIO({ cwd: tmp, env: { ...env(), EM_LAB_STORAGE: join(tmp, 's7') } });
    assert.equal(await infoCommand.run({ options: { rank: '16' }, positionals: [REPO] }, io), 0);
    assert.match(io.stdout.join('\n'), /4 query heads, 2 KV heads/);
    assert.ok(!existsSync(join(tmp, 's7', 'models')), 'nothing downloaded');
  });

  it('offline: a clear "cannot reach" error; a repo not yet pulled says which command to run', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(pullModel(REPO, { storageDir: join(tmp, 's5'), env: { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_TOKEN: TOKEN } }), (e) => codeOf(e) === 'hub-offline' && /Cannot reach 127\.0\.0\.1/.test((e as Error).message));
    mkdirSync(join(tmp, 's6'));
    await assert.rejects(resolveModelDir('acme/other', { storageDir: join(tmp, 's6') }), /Run `em-lab model pull acme\/other`/);
  });
});
