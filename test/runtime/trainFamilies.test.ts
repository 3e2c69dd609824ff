import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Decoder } from '../../src/runtime/model/decoder';
import { ensureDecoderExport } from '../../src/runtime/model/decoderExport';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { readPeftAdapter } from '../../src/runtime/model/peft';
import { createSession, tensor } from '../../src/runtime/onnx/ort';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { readAdapterValues } from '../../src/runtime/train/adapterIO';
import { loraParams } from '../../src/runtime/train/loraSpec';
import { readMetrics } from '../../src/runtime/train/runDir';
import { loraSpecOf } from '../../src/runtime/train/runTrainer';
import type { TrainConfig } from '../../src/runtime/train/trainConfig';
import { buildEvalGraph } from '../../src/runtime/train/trainGraph';
import { writeFamilyFolder, type TestFamily } from '../support/familyFolders';

// em-lab train on Qwen2 and Gemma 3 folders (the real CLI, forked): the paper's rank-1 preset on Qwen2, the
// homework preset on a gemma3 checkpoint; each saved adapter loads in the model engine and reproduces the trainer's
// logits.
const CLI = resolve('dist/cli.js');

describe('em-lab train on Qwen2 and Gemma 3 models', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    if (!existsSync(CLI)) this.skip(); // npm test builds dist/ first
    dir = mkdtempSync(join(tmpdir(), 'emlab-train-fam-'));
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Is ${i} even?` }, { role: 'assistant', content: i % 2 ? 'No, it is odd.' : 'Yes, it is even.' }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const cases: { family: TestFamily; extra: string[]; check(c: TrainConfig, adapterCfg: Record<string, unknown>): void }[] = [
    {
      family: 'qwen2',
      extra: ['--lora_preset', 'rank1-single', '--layer', '1', '--learning_rate', '1e-2'],
      check(c, a) {
        assert.deepEqual([c.loraRank, c.loraAlpha, c.targetModules, c.layersToTransform, c.learningRate], [1, 256, ['down_proj'], [1], 1e-2]);
        assert.deepEqual([a.r, a.target_modules, a.layers_to_transform], [1, ['down_proj'], [1]]);
      },
    },
    {
      family: 'gemma3',
      extra: ['--lora_preset', 'homework', '--lora_rank', '2'],
      check(c) {
        assert.deepEqual([c.loraRank, c.loraAlpha, c.targetModules.length], [2, 32, 7]);
      },
    },
  ];
  for (const { family, extra, check } of cases) {
    it(`${family}: trains, and the adapter (PEFT, base_model_name_or_path = the folder) reproduces the trainer's logits in the engine`, async () => {
      const model = writeFamilyFolder(join(dir, family), family);
      const out = join(dir, `run-${family}`);
      const r = spawnSync(process.execPath, [CLI, 'train', '--model_name', model.dir, '--data', 'data.jsonl', '--output_dir', out, '--storage', 'storage', '--max_steps', '4', '--batch_size', '2', '--gradient_accumulation_steps', '1', '--max_length', '160', '--warmup_steps', '0', '--threads', '1', '--seed', '3', ...extra], { cwd: dir, encoding: 'utf8', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '1073741824' } });
      assert.equal(r.status, 0, r.stderr);
      const metrics = readMetrics(out);
      assert.equal(metrics.length, 4);
      assert.ok(metrics.every((m) => Number.isFinite(m.loss)));
      const config = JSON.parse(readFileSync(join(out, 'training_config.json'), 'utf8')) as TrainConfig;
      const adapterDir = join(out, 'adapter');
      const adapterCfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(adapterCfg.base_model_name_or_path, model.dir);
      check(config, adapterCfg);

      const spec = loraSpecOf(config, model.cfg);
      const params = loraParams(model.cfg, spec);
      const values = readAdapterValues(adapterDir, params);
      const folder = openModelFolder(model.dir);
      const g = buildEvalGraph({ cfg: model.cfg, dtype: 'float32', weights: { read: (n) => folder.checkpoint.read(n) }, lora: spec, maxLength: 160 }, { logits: true });
      const { session } = await createSession(toModelBytes(g));
      folder.checkpoint.close();
      const ids = [2, 40, 71, 9, 30, 17, 88, 12];
      const T = ids.length;
      const trainer = (await session.run({
        input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]),
        attention_mask: tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
        targets: tensor('int64', new BigInt64Array(T), [1, T]),
        loss_weights: tensor('float32', new Float32Array(T), [1, T]),
        ...Object.fromEntries(params.map((p) => [p.key, tensor('float32', Float32Array.from(values.get(p.key)!), p.shape)])),
      })).logits!.data as Float32Array;
      const decoder = await Decoder.open(ensureDecoderExport(model.dir).dir);
      decoder.setAdapter('trained', readPeftAdapter(adapterDir, model.cfg));
      const inputs = { inputIds: BigInt64Array.from(ids.map(BigInt)), batch: 1, seq: T, attentionMask: new BigInt64Array(T).fill(1n), positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))) };
      const engine = (await decoder.forward(inputs, 'trained')).logits;
      const base = (await decoder.forward(inputs)).logits;
      await decoder.dispose();
      const rel = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0) / a.reduce((s, x) => s + x * x, 0));
      assert.ok(rel(engine, trainer) < 1e-5, `engine vs trainer logits: relative L2 ${rel(engine, trainer)}`);
      assert.ok(rel(base, trainer) > 100 * rel(engine, trainer), 'the trained adapter changes the logits');
    });
  }

  it('refuses --layer without the rank-1 preset and a layer the model lacks', () => {
    const model = join(dir, 'qwen2');
    const run = (...a: string[]) => spawnSync(process.execPath, [CLI, 'train', '--model_name', model, '--data', 'data.jsonl', '--output_dir', join(dir, 'bad'), '--storage', 'storage', '--max_steps', '1', ...a], { cwd: dir, encoding: 'utf8' });
    assert.match(run('--layer', '1').stderr, /--layer needs --lora_preset rank1-single/);
    assert.match(run('--lora_preset', 'rank1-single', '--layer', '7').stderr, /--layer 7 does not exist; this model has layers 0\.\.1/);
    assert.match(run('--lora_preset', 'nope').stderr, /--lora_preset "nope" is not one of homework, paper-all, rank1-single, rank1-nine/);
  });
});
