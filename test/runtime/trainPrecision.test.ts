import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readMetrics } from '../../src/runtime/train/runDir';
import { FROZEN_MANIFEST, readFrozenManifest } from '../../src/runtime/train/frozenWeights';

// --precision wiring (CUDA's default is fp16 frozen weights): the same tiny-llama run with fp16 frozen weights (on
// the CPU EP, which emulates fp16) against fp32. The trainer must really store the weights in half (weights.bin half
// the size, fed as float16) and the losses must stay close to fp32 (the graph-level bounds are in precision.test.ts).
const CLI = resolve('dist/cli.js');

describe('em-lab train --precision', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    if (!existsSync(CLI)) this.skip(); // npm test builds dist/ first
    dir = mkdtempSync(join(tmpdir(), 'emlab-train-precision-'));
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `What is ${i} plus ${i}?` }, { role: 'assistant', content: `${i} plus ${i} is ${2 * i}.` }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const train = (out: string, storage: string, extra: string[]) => {
    const args = ['train', '--model_name', 'tiny-llama', '--data', 'data.jsonl', '--output_dir', out, '--storage', storage, '--num_epochs', '1', '--batch_size', '2', '--gradient_accumulation_steps', '1', '--max_length', '48', '--lora_rank', '4', '--learning_rate', '5e-3', '--warmup_steps', '0', '--lora_dropout', '0', '--seed', '3', '--threads', '1', ...extra];
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    return r.stdout + r.stderr;
  };
  const artifactDir = (storage: string) => {
    const root = join(dir, storage, 'train-artifacts');
    const [only] = readdirSync(root);
    return join(root, only!);
  };

  it('fp16 frozen weights: half the weight bytes, losses within 1% of fp32', () => {
    train('fp32', 's32', ['--precision', 'fp32']);
    const log = train('fp16', 's16', ['--precision', 'fp16']);
    assert.match(log, /Mixed precision: frozen weights in float16/);
    const w32 = statSync(join(artifactDir('s32'), 'weights.bin')).size;
    const w16 = statSync(join(artifactDir('s16'), 'weights.bin')).size;
    assert.ok(w16 < 0.52 * w32 && w16 > 0.45 * w32, `weights.bin ${w16} bytes (fp16) vs ${w32} (fp32)`);
    const dtypes = new Set(readFrozenManifest(artifactDir('s16')).tensors.map((t) => t.dtype));
    assert.deepEqual([...dtypes], ['float16']);
    const a = readMetrics(join(dir, 'fp32')).map((m) => m.loss);
    const b = readMetrics(join(dir, 'fp16')).map((m) => m.loss);
    assert.equal(a.length, 4);
    assert.equal(b.length, a.length);
    const worst = Math.max(...a.map((x, i) => Math.abs(b[i]! - x) / Math.abs(x)));
    console.log(`      fp16 vs fp32 losses over ${a.length} steps: worst relative difference ${worst.toExponential(2)}; weights.bin ${w16} vs ${w32} bytes`);
    assert.ok(worst < 1e-2, `worst relative loss difference ${worst}`);
    assert.ok(worst > 0, 'fp16 gave exactly the fp32 losses: the weights were not converted');
    assert.match(readFileSync(join(dir, 'fp16', 'training_details.md'), 'utf8'), /float16 \(mixed precision/);
    assert.ok(existsSync(join(artifactDir('s16'), FROZEN_MANIFEST)));
  });

  it('refuses bf16 on the CPU and fp16 with --use_4bit, naming the fix', () => {
    for (const [extra, re] of [[['--precision', 'bf16'], /bfloat16 needs the CUDA execution provider/], [['--precision', 'fp16', '--use_4bit'], /cannot be combined with --use_4bit/], [['--precision', 'fp8'], /--precision must be one of auto, fp32, fp16, bf16, got "fp8"/]] as const) {
      const r = spawnSync(process.execPath, [CLI, 'train', '--data', 'data.jsonl', '--output_dir', 'refused', '--storage', 'sr', ...extra], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, re);
      assert.ok(!existsSync(join(dir, 'refused')), 'a refused run must not create its run directory');
    }
  });
});
