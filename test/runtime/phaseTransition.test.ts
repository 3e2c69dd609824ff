// The phase-transition metrics of a real rank-1 run (tiny-llama, the paper's rank1-single preset, four checkpoints)
// equal a hand computation from the checkpoints' safetensors; above rank 1 the vectors are the top singular vectors
// of scale·B·A (checked on an adapter whose singular vectors are known by construction).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainCommand } from '../../src/runtime/cli/trainCommands';
import { phaseCommand } from '../../src/runtime/cli/phaseCommands';
import { SafetensorsFile } from '../../src/runtime/model/safetensors';
import { convertTensor } from '../../src/runtime/model/hostTensor';
import { writePeftAdapter } from '../../src/runtime/model/peft';
import { loraTrajectory, topSingular } from '../../src/runtime/train/loraTrajectory';
import { captureIO } from '../support/captureIO';
import { trainHandlers } from '../../src/runtime/train/handlers';

const KEY = 'base_model.model.model.layers.1.mlp.down_proj.lora_';

describe('LoRA vectors across checkpoints (phase transition)', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-phase-'));
    const rows = Array.from({ length: 16 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Is ${i} even?` }, { role: 'assistant', content: i % 2 ? `No, ${i} is odd.` : `Yes, ${i} is even.` }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('a rank-1 run: norms, consecutive and final cosines, rotation and the sharpest step equal a hand computation', async () => {
    const io = captureIO({ cwd: dir, env: {} });
    const options = { model_name: 'tiny-llama', data: ['data.jsonl'], output_dir: 'run', storage: 'storage', lora_preset: 'rank1-single', layer: '1', max_steps: '8', save_steps: '2', batch_size: '2', gradient_accumulation_steps: '1', max_length: '48', warmup_steps: '0', learning_rate: '3e-2', threads: '1', seed: '1' };
    assert.equal(await trainCommand.run({ options, positionals: [] }, io), 0, io.stderr.join('\n'));
    const view = await loraTrajectory(join(dir, 'run'));
    assert.deepEqual(view.steps.slice(-4), [2, 4, 6, 8]);
    assert.equal(view.rank, 1);
    assert.deepEqual(view.modules.map((m) => m.module), ['layers.1.mlp.down_proj']);
    // by hand: read A [1, 192] and B [64, 1] of every checkpoint
    const vec = (step: number, which: 'A' | 'B') => {
      const f = SafetensorsFile.open(join(dir, 'run', 'checkpoints', `step-${step}`, 'adapter_model.safetensors'));
      try {
        return Array.from(convertTensor(f.read(`${KEY}${which}.weight`), 'float32').data as Float32Array);
      } finally {
        f.close();
      }
    };
    const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
    const cosine = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0) / (norm(x) * norm(y));
    const steps = view.steps;
    const last = steps.at(-1)!;
    for (const [i, p] of view.modules[0]!.points.entries()) {
      const s = steps[i]!;
      assert.equal(p.step, s);
      const A = vec(s, 'A'), B = vec(s, 'B');
      const close = (got: number | null, want: number, what: string) => assert.ok(got !== null && Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `step ${s} ${what}: ${got} vs ${want}`);
      close(p.normA, norm(A), '|A|');
      close(p.normB, norm(B), '|B|');
      close(p.sigma, (256 / 1) * norm(A) * norm(B), 'sigma = alpha/r |A||B|');
      close(p.cosFinalA, cosine(A, vec(last, 'A')), 'cos final A');
      close(p.cosFinalB, cosine(B, vec(last, 'B')), 'cos final B');
      if (i === 0) assert.equal(p.cosPrevB, null);
      else {
        const prev = steps[i - 1]!;
        close(p.cosPrevA, cosine(A, vec(prev, 'A')), 'cos prev A');
        close(p.cosPrevB, cosine(B, vec(prev, 'B')), 'cos prev B');
        close(p.rotationB, (Math.acos(cosine(B, vec(prev, 'B'))) * 180) / Math.PI / (s - prev), 'rotation deg/step');
      }
    }
    const rates = view.modules[0]!.points.map((p) => p.rotationB ?? -1);
    assert.equal(view.sharpestStep, steps[rates.indexOf(Math.max(...rates))]);
    // the training view's method: the same view; no sweep, so no EM curve; one checkpoint is not enough
    const ctx = { signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: join(dir, 'storage'), env: {} };
    assert.deepEqual(await trainHandlers['train/phase']({ runDir: join(dir, 'run') }, ctx), { phase: view, em: null });
    const few = await trainHandlers['train/phase']({ runDir: join(dir, 'nope') }, ctx);
    assert.equal(few.phase, null);
    assert.match(few.reason!, /No checkpoints in|needs at least two/);
    // the CLI prints the same table and marks the step
    const out = captureIO({ cwd: dir });
    assert.equal(await phaseCommand.run({ options: {}, positionals: ['run'] }, out), 0);
    assert.match(out.stdout.join('\n'), new RegExp(`sharpest rotation of the B vectors: step ${view.sharpestStep}`));
  });

  it('above rank 1: the top singular vectors of scale·B·A, compared up to sign', async () => {
    // B·A = 3·u1 v1ᵀ + 1·u2 v2ᵀ with orthonormal u's and v's: the top pair is (u1, v1), sigma = scale · 3
    const inDim = 4, out = 3, r = 2;
    const v1 = [0.5, 0.5, 0.5, 0.5], v2 = [0.5, -0.5, 0.5, -0.5], u1 = [0.6, 0.8, 0], u2 = [0, 0, 1];
    const A = Float64Array.from([...v1.map((x) => 3 * x), ...v2]);
    const B = Float64Array.from([u1[0]!, u2[0]!, u1[1]!, u2[1]!, u1[2]!, u2[2]!]);
    const t = topSingular(A, B, r, inDim, out, 2);
    assert.ok(Math.abs(t.sigma - 6) < 1e-10, `sigma ${t.sigma}`);
    const sameUpToSign = (x: Float64Array, y: number[]) => Math.abs(Math.abs(x.reduce((s, v, i) => s + v * y[i]!, 0)) - 1) < 1e-10;
    assert.ok(sameUpToSign(t.v, v1) && sameUpToSign(t.u, u1));
    // two checkpoints (float32 on disk) whose top pair is flipped in sign and whose rank columns are swapped: |cos| = 1
    const run = join(dir, 'svd-run');
    const save = (step: number, a: number[], b: number[]) => {
      const d = join(run, 'checkpoints', `step-${step}`);
      mkdirSync(d, { recursive: true });
      writePeftAdapter(d, { r, loraAlpha: 4, targets: ['down_proj'], layers: [1], baseModelNameOrPath: 'tiny-llama' }, new Map([
        [`${KEY}A.weight`, { dtype: 'float32', shape: [r, inDim], data: Float32Array.from(a) }],
        [`${KEY}B.weight`, { dtype: 'float32', shape: [out, r], data: Float32Array.from(b) }],
      ]));
    };
    save(1, [...A], [...B]);
    save(2, [...v2, ...v1.map((x) => -3 * x)], [u2[0]!, u1[0]!, u2[1]!, u1[1]!, u2[2]!, u1[2]!]);
    const view = await loraTrajectory(run);
    const p = view.modules[0]!.points[1]!;
    assert.equal(view.rank, 2);
    assert.ok(Math.abs(p.cosPrevB! - 1) < 1e-6 && Math.abs(p.cosPrevA! - 1) < 1e-6, `${p.cosPrevA} ${p.cosPrevB}`);
    assert.ok(Math.abs(p.sigma - 6) < 1e-6, `(float32 on disk) scale alpha/r = 2: sigma ${p.sigma}`);
  });
});
