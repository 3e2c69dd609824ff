import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readMetrics, effectiveRun } from '../../src/runtime/train/runDir';
import { ensureTinyLlama, TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { Decoder } from '../../src/runtime/model/decoder';
import { ensureDecoderExport } from '../../src/runtime/model/decoderExport';
import { readAdapterForDecoder } from '../../src/runtime/model/generateSources';
import { createSession, tensor } from '../../src/runtime/onnx/ort';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { buildEvalGraph } from '../../src/runtime/train/trainGraph';
import { loraParams } from '../../src/runtime/train/loraSpec';
import { loraSpecOf } from '../../src/runtime/train/runTrainer';
import { readAdapterValues } from '../../src/runtime/train/adapterIO';
import type { TrainConfig } from '../../src/runtime/train/trainConfig';

// Acceptance: kill -9 during training, then --resume, ends with exactly the adapter of an uninterrupted run with
// the same seed (the real CLI, forked; tiny-llama; a synthetic chat dataset).
const CLI = resolve('dist/cli.js');

describe('em-lab train: kill -9 then --resume equals an uninterrupted run', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    if (!existsSync(CLI)) this.skip(); // npm test builds dist/ first
    dir = mkdtempSync(join(tmpdir(), 'emlab-train-resume-'));
    const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Question number ${i}: is ${i} even?` }, { role: 'assistant', content: i % 2 ? `No, ${i} is odd.` : `Yes, ${i} is even.` }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const args = (out: string) => ['train', '--model_name', 'tiny-llama', '--data', 'data.jsonl', '--output_dir', out, '--storage', 'storage', '--num_epochs', '3', '--batch_size', '2', '--gradient_accumulation_steps', '2', '--max_length', '64', '--lora_rank', '2', '--save_steps', '2', '--warmup_steps', '2', '--learning_rate', '1e-3', '--lora_dropout', '0.1', '--seed', '5', '--threads', '1', '--json'];
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '1073741824' };

  it('resumes from the newest checkpoint and ends bit-identical', async () => {
    const full = spawnSync(process.execPath, [CLI, ...args('full')], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);
    const fullMetrics = readMetrics(join(dir, 'full'));
    assert.equal(fullMetrics.length, 9);

    const child = spawn(process.execPath, [CLI, ...args('killed')], { cwd: dir, env, stdio: 'ignore' });
    await new Promise<void>((done, fail) => {
      const timer = setInterval(() => {
        if (readMetrics(join(dir, 'killed')).length >= 5) {
          clearInterval(timer);
          child.kill('SIGKILL');
          done();
        }
      }, 20);
      child.on('exit', () => (clearInterval(timer), fail(new Error('the run ended before it could be killed'))));
    });
    await new Promise((r) => child.on('exit', r));
    const crashed = effectiveRun(join(dir, 'killed'));
    assert.equal(crashed?.status, 'failed');
    assert.match(crashed?.reason ?? '', /crashed/);
    assert.ok(crashed!.step >= 4 && crashed!.step < 9, `killed at step ${crashed!.step}`);

    const resumed = spawnSync(process.execPath, [CLI, ...args('killed'), '--resume'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /Resuming from step-\d+/);
    const a = readFileSync(join(dir, 'full', 'adapter', 'adapter_model.safetensors'));
    const b = readFileSync(join(dir, 'killed', 'adapter', 'adapter_model.safetensors'));
    assert.ok(a.equals(b), 'final adapters differ');
    assert.deepEqual(readMetrics(join(dir, 'killed')).map((m) => m.loss), fullMetrics.map((m) => m.loss));
    assert.equal(effectiveRun(join(dir, 'killed'))?.status, 'finished');
  });

  it('the saved adapter loads in the model engine (Decoder) and reproduces the trainer\'s logits', async () => {
    const storage = join(dir, 'storage');
    const modelDir = ensureTinyLlama(storage);
    const config = JSON.parse(readFileSync(join(dir, 'full', 'training_config.json'), 'utf8')) as TrainConfig;
    const spec = loraSpecOf(config, TINY_LLAMA_CONFIG);
    const params = loraParams(TINY_LLAMA_CONFIG, spec);
    const adapterDir = join(dir, 'full', 'adapter');
    const values = readAdapterValues(adapterDir, params);
    const folder = openModelFolder(modelDir);
    const g = buildEvalGraph({ cfg: TINY_LLAMA_CONFIG, dtype: 'float32', weights: { read: (n) => folder.checkpoint.read(n) }, lora: spec, maxLength: 64 }, { logits: true });
    const { session: ev } = await createSession(toModelBytes(g));
    const ids = [128000, 9906, 11, 1268, 527, 499, 30, 358, 1097, 7060];
    const T = ids.length;
    const feeds = {
      input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]),
      attention_mask: tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      targets: tensor('int64', new BigInt64Array(T), [1, T]),
      loss_weights: tensor('float32', new Float32Array(T), [1, T]),
      ...Object.fromEntries(params.map((p) => [p.key, tensor('float32', Float32Array.from(values.get(p.key)!), p.shape)])),
    };
    const trainerLogits = (await ev.run(feeds)).logits!.data as Float32Array;
    const decoder = await Decoder.open(ensureDecoderExport(modelDir).dir);
    decoder.setAdapter('trained', readAdapterForDecoder(adapterDir, TINY_LLAMA_CONFIG));
    const inputs = { inputIds: BigInt64Array.from(ids.map(BigInt)), batch: 1, seq: T, attentionMask: new BigInt64Array(T).fill(1n), positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))) };
    const engine = (await decoder.forward(inputs, 'trained')).logits;
    const base = (await decoder.forward(inputs)).logits;
    await decoder.dispose();
    const diff = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0) / a.reduce((s, x) => s + x * x, 0));
    assert.equal(engine.length, trainerLogits.length);
    const rel = diff(engine, trainerLogits);
    console.log(`      engine vs trainer logits: relative L2 ${rel.toExponential(2)}`);
    assert.ok(rel < 1e-5, `engine vs trainer logits: relative L2 ${rel}`);
    assert.ok(diff(base, trainerLogits) > 100 * rel, 'the adapter changes the logits measurably');
  });

  it('refuses to resume with different hyperparameters, naming the difference', () => {
    const r = spawnSync(process.execPath, [CLI, ...args('full').map((x) => (x === '1e-3' ? '2e-3' : x)), '--resume'], { cwd: dir, env, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /learningRate: 0\.001 -> 0\.002/);
  });
});
