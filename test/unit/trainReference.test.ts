import { strict as assert } from 'node:assert';
import { rng } from '../support/gradCheck';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';
import { referenceTrain, refKey, type RefHyper } from '../support/referenceTrainer';
import { llamaTensorShapes, LORA_TARGETS } from '../../src/runtime/model/llamaConfig';
import { buildTrainStepGraph, type TrainDType } from '../../src/runtime/train/trainGraph';
import { loraParams, loraScale, type LoraSpec } from '../../src/runtime/train/loraSpec';
import { packStep, planSteps, type TokenizedExample } from '../../src/runtime/train/batching';
import { lrAt } from '../../src/runtime/train/schedule';
import { freshState, TrainSession } from '../../src/runtime/train/trainSession';

// Acceptance: EM Lab's trainer (ONNX train-step graph: micro-batch Loop, autodiff, in-graph AdamW) and the
// independent plain-JS float64 reference trainer, from the same initial adapter, data order and
// hyperparameters (dropout 0), agree on every loss over 20 optimizer steps and on the final adapter.
describe('EM Lab trainer vs the float64 reference trainer (20 optimizer steps)', () => {
  const cfg = tinyConfig();
  const w = randomWeights(cfg, 5);
  const r = rng(21);
  const examples: TokenizedExample[] = Array.from({ length: 10 }, (_, index) => {
    const len = 5 + Math.floor(r() * 8);
    const ids = Array.from({ length: len }, () => 2 + Math.floor(r() * (cfg.vocabSize - 2)));
    const start = 2 + Math.floor(r() * (len - 3)); // "assistant" span: the tail
    return { index, ids, supervised: ids.map((_, i) => (i >= start ? 1 : 0)) };
  });
  // 10 examples, 4 per step: every third step has a half-empty micro-batch (all-padding rows); 20 of 21 steps
  const plan = planSteps(examples.map((e) => e.ids.length), { epochs: 7, batchSize: 2, accumulation: 2, seed: 3, shuffle: true }).slice(0, 20);
  const spec: LoraSpec = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: [0, 1] };
  const params = loraParams(cfg, spec);
  const init = new Map(params.map((p) => [p.key, Float64Array.from({ length: p.shape[0] * p.shape[1] }, () => (r() * 2 - 1) * (p.which === 'A' ? 0.2 : 0.05))]));
  const hyper: RefHyper = { lr: 5e-3, scheduler: 'linear', warmupSteps: 3, totalSteps: plan.length, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0.5 };
  const ref = referenceTrain(cfg, w, { rank: spec.rank, scale: loraScale(spec), targets: spec.targets, layers: spec.layers }, init, examples, plan.map((s) => s.microBatches.flat()), hyper);

  async function emLab(dtype: TrainDType) {
    const g = buildTrainStepGraph({ cfg, dtype, weights: weightSource(w, llamaTensorShapes(cfg)), lora: spec, optimizer: { beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps, weightDecay: hyper.weightDecay, maxGradNorm: hyper.maxGradNorm }, maxLength: 16 });
    const session = await TrainSession.create({ train: { graph: g }, params, dtype, threads: 1 });
    const state = freshState(dtype, params, init);
    const losses: number[] = [], norms: number[] = [];
    for (const [s, step] of plan.entries()) {
      const res = await session.step(state, packStep(examples, step.microBatches, 0), lrAt(s, { lr: hyper.lr, scheduler: hyper.scheduler, warmupSteps: hyper.warmupSteps, totalSteps: hyper.totalSteps }));
      losses.push(res.loss);
      norms.push(res.gradNorm);
    }
    await session.release();
    return { losses, norms, state };
  }

  function adapterRelL2(state: Map<string, ArrayLike<number>>): number {
    let num = 0, den = 0;
    for (const p of params) {
      const a = state.get(p.key)!, b = ref.adapter.get(refKey(p.layer, p.target, p.which))!;
      for (let i = 0; i < b.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += b[i]! ** 2;
      }
    }
    return Math.sqrt(num / den);
  }

  it('uses 20 steps that move the adapter and hit gradient clipping', () => {
    assert.equal(plan.length, 20);
    assert.ok(ref.gradNorms.some((n) => n > hyper.maxGradNorm), 'clipping is exercised');
    assert.ok(adapterRelL2(init) > 1e-2, 'training changed the adapter');
  });

  it('float64: every loss within 1e-6 relative, final adapter within 1e-6 relative L2', async () => {
    const res = await emLab('float64');
    const worst = Math.max(...res.losses.map((l, s) => Math.abs(l - ref.losses[s]!) / Math.abs(ref.losses[s]!)));
    console.log(`      float64: worst loss rel diff ${worst.toExponential(2)}, adapter rel L2 ${adapterRelL2(res.state.params).toExponential(2)}, loss ${ref.losses[0]!.toFixed(4)} -> ${ref.losses[19]!.toFixed(4)}`);
    res.losses.forEach((l, s) => assert.ok(Math.abs(l - ref.losses[s]!) <= 1e-6 * Math.abs(ref.losses[s]!), `step ${s + 1}: ${l} vs reference ${ref.losses[s]}`));
    res.norms.forEach((n, s) => assert.ok(Math.abs(n - ref.gradNorms[s]!) <= 1e-6 * ref.gradNorms[s]!, `grad norm step ${s + 1}: ${n} vs ${ref.gradNorms[s]}`));
    const rel = adapterRelL2(res.state.params);
    assert.ok(rel <= 1e-6, `final adapter relative L2 ${rel}`);
  });

  it('float32: every loss within 1e-3 relative, final adapter within 1e-3 relative L2', async () => {
    const res = await emLab('float32');
    const worst = Math.max(...res.losses.map((l, s) => Math.abs(l - ref.losses[s]!) / Math.abs(ref.losses[s]!)));
    console.log(`      float32: worst loss rel diff ${worst.toExponential(2)}, adapter rel L2 ${adapterRelL2(res.state.params).toExponential(2)}`);
    res.losses.forEach((l, s) => assert.ok(Math.abs(l - ref.losses[s]!) <= 1e-3 * Math.abs(ref.losses[s]!), `step ${s + 1}: ${l} vs reference ${ref.losses[s]}`));
    const rel = adapterRelL2(res.state.params);
    assert.ok(rel <= 1e-3, `final adapter relative L2 ${rel}`);
  });
});
