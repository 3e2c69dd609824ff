// `em-lab cache` and `em-lab cache prune` on a storage folder laid out as the runtime writes it, with files of
// known sizes: every entry, its kind and its size as written here; pruning deletes exactly what was named.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cachePruneCommand, cacheShowCommand } from '../../src/runtime/cli/cacheCommands';
import { defaultStorageDir } from '../../src/runtime/storage';
import { captureIO } from '../support/captureIO';

// path under the temp folder -> size in bytes
const LAYOUT: Record<string, number> = {
  'store/models/tiny-llama/model.safetensors': 3000,
  'store/models/tiny-llama/tokenizer.json': 500,
  'store/models/tiny-llama/onnx/model.onnx': 7000,
  'store/models/hf/meta-llama--Llama-3.2-1B-Instruct/model.safetensors': 20000,
  'store/models/hf/meta-llama--Llama-3.2-1B-Instruct/onnx/model.onnx_data': 40000,
  'store/train-artifacts/abc123/train.onnx': 1100,
  'store/train-artifacts/abc123/weights.bin': 9000,
  'store/judge-cache/judge-cache.jsonl': 250,
  'usercache/judge-cache.jsonl': 125,
  'xdg/em-lab/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg': 60000,
};

const sum = (prefix: string, except?: string) =>
  Object.entries(LAYOUT).filter(([p]) => p.startsWith(prefix) && !(except && p.startsWith(except))).reduce((s, [, n]) => s + n, 0);

describe('em-lab cache | cache prune', () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const args = (positionals: string[] = [], options: Record<string, string | boolean> = {}) => ({ positionals, options: { storage: join(tmp, 'store'), ...options } });

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'emlab-cache-'));
    for (const [p, n] of Object.entries(LAYOUT)) {
      mkdirSync(dirname(join(tmp, p)), { recursive: true });
      writeFileSync(join(tmp, p), Buffer.alloc(n, 1));
    }
    env = { EM_LAB_CACHE_DIR: join(tmp, 'usercache'), XDG_CACHE_HOME: join(tmp, 'xdg') };
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('storage is $EM_LAB_STORAGE, else ~/.em-lab', () => {
    assert.equal(defaultStorageDir({ EM_LAB_STORAGE: join(tmp, 's') }), join(tmp, 's'));
    assert.match(defaultStorageDir({}), /[\\/]\.em-lab$/);
  });

  it('lists every entry with its kind and size; a model\'s ONNX export counts as an artifact', async () => {
    const io = captureIO({ cwd: tmp, env, json: true });
    assert.equal(await cacheShowCommand.run(args(), io), 0);
    const entries = io.events.filter((e) => e.event === 'entry').map((e) => [e.kind, e.name, e.bytes]);
    assert.deepEqual(entries, [
      ['models', 'hf/meta-llama--Llama-3.2-1B-Instruct', 20000],
      ['artifacts', 'hf/meta-llama--Llama-3.2-1B-Instruct/onnx', 40000],
      ['models', 'tiny-llama', 3500],
      ['artifacts', 'tiny-llama/onnx', 7000],
      ['artifacts', 'train-artifacts/abc123', 10100],
      ['judge', 'judge-cache/judge-cache.jsonl', 250],
      ['judge', join(tmp, 'usercache', 'judge-cache.jsonl'), 125],
      ['cuda', 'microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg', 60000],
    ]);
    const summary = io.events.find((e) => e.event === 'summary') as { bytes: number; byKind: Record<string, number> };
    assert.equal(summary.bytes, Object.values(LAYOUT).reduce((s, n) => s + n, 0));
    assert.deepEqual(summary.byKind, { models: 23500, artifacts: 57100, judge: 375, cuda: 60000 });
    const text = captureIO({ cwd: tmp, env });
    await cacheShowCommand.run(args(), text);
    assert.match(text.stdout.join('\n'), /artifacts\s+tiny-llama\/onnx\s+7 kB/);
  });

  it('prune artifacts deletes the exports and training graphs and keeps the models', async () => {
    const io = captureIO({ cwd: tmp, env, json: true });
    assert.equal(await cachePruneCommand.run(args(['artifacts']), io), 0);
    const pruned = io.events.find((e) => e.event === 'pruned') as { bytes: number };
    assert.equal(pruned.bytes, 7000 + 40000 + 10100);
    assert.ok(!existsSync(join(tmp, 'store/models/tiny-llama/onnx')));
    assert.ok(!existsSync(join(tmp, 'store/train-artifacts/abc123')));
    assert.ok(existsSync(join(tmp, 'store/models/tiny-llama/model.safetensors')));
    assert.ok(existsSync(join(tmp, 'store/models/hf/meta-llama--Llama-3.2-1B-Instruct/model.safetensors')));
  });

  it('prune by entry name takes the whole model folder; --dry-run deletes nothing', async () => {
    const dry = captureIO({ cwd: tmp, env });
    await cachePruneCommand.run(args(['hf/meta-llama--Llama-3.2-1B-Instruct'], { 'dry-run': true }), dry);
    assert.match(dry.stdout.join('\n'), /Would free 20 kB \(dry run: nothing deleted\)/);
    assert.ok(existsSync(join(tmp, 'store/models/hf/meta-llama--Llama-3.2-1B-Instruct/model.safetensors')));
    const io = captureIO({ cwd: tmp, env, json: true });
    await cachePruneCommand.run(args(['hf/meta-llama--Llama-3.2-1B-Instruct']), io);
    assert.equal((io.events.find((e) => e.event === 'pruned') as { bytes: number }).bytes, sum('store/models/hf/'));
    assert.ok(!existsSync(join(tmp, 'store/models/hf/meta-llama--Llama-3.2-1B-Instruct')));
    assert.ok(existsSync(join(tmp, 'store/models/tiny-llama/onnx/model.onnx')));
  });

  it('--older-than keeps what was used recently', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    for (const p of ['store/judge-cache/judge-cache.jsonl', 'usercache/judge-cache.jsonl']) utimesSync(join(tmp, p), old, old);
    utimesSync(join(tmp, 'usercache/judge-cache.jsonl'), new Date(), new Date());
    const io = captureIO({ cwd: tmp, env, json: true });
    await cachePruneCommand.run(args(['judge'], { 'older-than': '30' }), io);
    assert.deepEqual((io.events.find((e) => e.event === 'pruned') as { entries: string[] }).entries, [join(tmp, 'store/judge-cache/judge-cache.jsonl')]);
    assert.ok(existsSync(join(tmp, 'usercache/judge-cache.jsonl')));
  });

  it('an unknown name is refused with the kinds to choose from, and nothing is deleted', async () => {
    await assert.rejects(cachePruneCommand.run(args(['modles']), captureIO({ cwd: tmp, env })), /Nothing cached is called "modles"\. Name a kind \(models, artifacts, judge, cuda, all\)/);
    assert.ok(existsSync(join(tmp, 'store/models/tiny-llama/onnx/model.onnx')));
  });
});
