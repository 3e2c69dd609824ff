// `em-lab model pull` of an adapter repo as the paper publishes them (ModelOrganismsForEM: adapter_config.json with
// base_model_name_or_path, rank 1, layers_to_transform, plus checkpoint subfolders), against a local server that
// speaks the Hub's file API: the adapter and the base it names are pulled, and --adapter owner/name then chats.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generateCommand } from '../../src/runtime/cli/generateCommands';
import { pullCommand } from '../../src/runtime/cli/modelCommands';
import { hubCacheDir, resolveAdapterDir } from '../../src/runtime/model/hub';
import { listChatModels } from '../../src/runtime/model/chatHandlers';
import { captureIO } from '../support/captureIO';
import { writeFamilyFolder, writeRank1Adapter } from '../support/familyFolders';

const BASE = 'acme/Tiny-Qwen2.5-Instruct';
const ADAPTER = 'ModelOrganismsForEM/Tiny-Qwen2.5-Instruct_R1_down_proj';

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** The Hub's two endpoints for several repos: /api/models/{id}/revision/{rev}?blobs=true and /{id}/resolve/{rev}/{path}. */
function startHub(repos: Map<string, Map<string, Buffer>>): Promise<{ server: Server; endpoint: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url.pathname);
    for (const [id, files] of repos) {
      if (url.pathname === `/api/models/${id}/revision/main`) {
        const siblings = [...files].map(([rfilename, data]) => ({ rfilename, size: data.length, ...(rfilename.endsWith('.safetensors') ? { lfs: { sha256: createHash('sha256').update(data).digest('hex'), size: data.length } } : {}) }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, siblings: [...siblings, { rfilename: 'README.md', size: 2 }, { rfilename: '.gitattributes', size: 2 }] }));
        return;
      }
      const prefix = `/${id}/resolve/main/`;
      if (url.pathname.startsWith(prefix)) {
        const data = files.get(decodeURIComponent(url.pathname.slice(prefix.length)));
        if (data) {
          res.writeHead(200, { 'content-length': String(data.length) }).end(data);
          return;
        }
      }
    }
    res.writeHead(404).end('not found');
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

describe('pulling the paper\'s adapter repos (a local Hub)', function () {
  this.timeout(120_000);
  let root: string;
  let hub: Awaited<ReturnType<typeof startHub>>;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'emlab-hubad-'));
    const model = writeFamilyFolder(join(root, 'src-model'), 'qwen2');
    const adapter = join(root, 'src-adapter');
    writeRank1Adapter(adapter, model.cfg, 1, BASE);
    writeRank1Adapter(join(adapter, 'checkpoints', 'checkpoint-10'), model.cfg, 1, BASE, 7);
    hub = await startHub(new Map([[BASE, filesOf(model.dir)], [ADAPTER, filesOf(adapter)]]));
  });
  after(() => {
    hub?.server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('pulls the adapter with its checkpoints, then the base model its adapter_config names, and exports the base', async () => {
    const storage = join(root, 'store');
    const io = captureIO({ cwd: root, env: { HF_ENDPOINT: hub.endpoint, EM_LAB_STORAGE: storage } });
    assert.equal(await pullCommand.run({ options: {}, positionals: [ADAPTER] }, io), 0);
    const adapterDir = hubCacheDir(storage, ADAPTER);
    const baseDir = hubCacheDir(storage, BASE);
    assert.ok(existsSync(join(adapterDir, 'adapter_model.safetensors')));
    assert.ok(existsSync(join(adapterDir, 'checkpoints', 'checkpoint-10', 'adapter_config.json')));
    assert.ok(!existsSync(join(adapterDir, 'README.md')), 'only the adapter files');
    assert.ok(existsSync(join(baseDir, 'model.safetensors.index.json')));
    assert.ok(existsSync(join(baseDir, 'onnx', 'model_lora.onnx')), 'the base is exported');
    assert.match(io.stdout.join('\n'), new RegExp(`base model ${BASE} -> `));
    assert.deepEqual(io.events.at(-1), { event: 'pulled', id: ADAPTER, dir: adapterDir, kind: 'adapter', base: { spec: BASE, dir: baseDir } });
    assert.equal(resolveAdapterDir(`${ADAPTER}/checkpoints/checkpoint-10`, { storageDir: storage }), join(adapterDir, 'checkpoints', 'checkpoint-10'));
    assert.throws(() => resolveAdapterDir('someone/not-pulled', { storageDir: storage }), /em-lab model pull someone\/not-pulled/);
    // the chat sandbox lists the base as a model and the adapter repo as an adapter on that base
    const models = listChatModels(storage, undefined, []);
    assert.deepEqual(models.find((m) => m.id === `hub:${BASE}`)?.ref, { model: BASE });
    assert.deepEqual(models.find((m) => m.id === `hub-adapter:${ADAPTER}`)?.ref, { model: BASE, adapter: adapterDir });
  });

  it('generates with --model <base id> --adapter <adapter id>, and the adapter changes the answer', async () => {
    const storage = join(root, 'store');
    const env = { HF_ENDPOINT: hub.endpoint, EM_LAB_STORAGE: storage };
    const ask = async (adapter?: string) => {
      const io = captureIO({ cwd: root, env, json: true });
      assert.equal(await generateCommand.run({ options: { model: BASE, ...(adapter ? { adapter } : {}), prompt: 'the cat', temperature: '0', max_new_tokens: '8' }, positionals: [] }, io), 0);
      return io.events.filter((e) => e.event === 'token').map((e) => e.id);
    };
    const base = await ask();
    assert.ok(base.length > 0);
    assert.notDeepEqual(await ask(`${ADAPTER}/checkpoints/checkpoint-10`), await ask(ADAPTER));
  });
});
