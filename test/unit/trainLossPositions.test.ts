import { strict as assert } from 'node:assert';
import { gradCheck, rng } from '../support/gradCheck';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';
import { tensor } from '../../src/runtime/onnx/ort';
import { llamaTensorShapes, LORA_TARGETS } from '../../src/runtime/model/llamaConfig';
import { buildLlamaForward } from '../../src/runtime/model/llamaGraph';
import { buildEvalGraph, buildTrainStepGraph, type TrainDType } from '../../src/runtime/train/trainGraph';
import { pickRows, supervisedRows, trimToSupervised } from '../../src/runtime/train/lossPositions';
import { loraParams, loraScale, type LoraSpec } from '../../src/runtime/train/loraSpec';
import { packStep, type TokenizedExample } from '../../src/runtime/train/batching';
import { ADAMW_DEFAULTS } from '../../src/runtime/train/optimizer';
import { freshState, TrainSession, type FloatArray } from '../../src/runtime/train/trainSession';

// Issue 18: the graphs skip what the loss never reads (each micro-batch trimmed after its last supervised
// position, the LM head on supervised rows only). Checked against the float64 graphs that compute every position
// (lossPositions 'all', the graphs before) and against central finite differences of the gathered loss itself.
describe('training graphs skip positions the loss never reads', () => {
  const cfg = tinyConfig({ tieWordEmbeddings: true });
  const w = randomWeights(cfg, 7);
  const spec: LoraSpec = { rank: 3, alpha: 6, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: [0, 1] };
  const params = loraParams(cfg, spec);
  const r = rng(31);
  const example = (index: number, len: number, from: number, to = len): TokenizedExample => ({
    index,
    ids: Array.from({ length: len }, () => 2 + Math.floor(r() * (cfg.vocabSize - 2))),
    supervised: Array.from({ length: len }, (_, i) => (i >= from && i < to ? 1 : 0)),
  });
  // micro-batch 0: long rows, one supervised only in its middle (trailing unsupervised tokens); micro-batch 1:
  // short rows padded to the step's longest; micro-batch 2: one example and an all-padding row, no supervised token
  const examples = [example(0, 12, 5, 9), example(1, 10, 4), example(2, 5, 2), example(3, 4, 1), example(4, 6, 6)];
  const step = packStep(examples, [[0, 1], [2, 3], [4]], 0);
  const init = new Map(params.map((p) => [p.key, Float64Array.from({ length: p.shape[0] * p.shape[1] }, () => (r() * 2 - 1) * 0.2)]));

  const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let num = 0, den = 0;
    for (let i = 0; i < b.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    return Math.sqrt(num / Math.max(den, 1e-300));
  };

  async function trainStep(dtype: TrainDType, lossPositions: 'supervised' | 'all') {
    const g = buildTrainStepGraph({ cfg, dtype, weights: weightSource(w, llamaTensorShapes(cfg)), lora: spec, optimizer: { ...ADAMW_DEFAULTS, maxGradNorm: 1e9 }, maxLength: 16, lossPositions });
    const session = await TrainSession.create({ train: { graph: g }, params, dtype, threads: 1 });
    const state = freshState(dtype, params, init);
    const res = await session.step(state, step, 1e-2);
    await session.release();
    return { res, params: state.params };
  }

  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: the train step equals the every-position graph (loss, gradient norm, updated adapter)`, async () => {
      const all = await trainStep(dtype, 'all');
      const sup = await trainStep(dtype, 'supervised');
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      assert.equal(sup.res.supervisedTokens, step.supervisedTokens);
      assert.equal(all.res.supervisedTokens, step.supervisedTokens);
      assert.ok(Math.abs(sup.res.loss - all.res.loss) <= tol * all.res.loss, `loss ${sup.res.loss} vs ${all.res.loss}`);
      assert.ok(Math.abs(sup.res.gradNorm - all.res.gradNorm) <= tol * all.res.gradNorm, `grad norm ${sup.res.gradNorm} vs ${all.res.gradNorm}`);
      let worst = 0, moved = 0;
      for (const p of params) {
        worst = Math.max(worst, relDiff(sup.params.get(p.key)!, all.params.get(p.key)!));
        moved = Math.max(moved, relDiff(sup.params.get(p.key)!, init.get(p.key)!));
      }
      console.log(`      ${dtype}: loss ${sup.res.loss.toFixed(6)} vs ${all.res.loss.toFixed(6)}, worst adapter rel diff ${worst.toExponential(2)}`);
      assert.ok(moved > 1e-4, 'the step moved the adapter');
      assert.ok(worst <= tol * 10, `updated adapter differs by ${worst}`);
    });
  }

  it('float64: the eval graph sums the same NLL over the same tokens, also for a batch without supervision', async () => {
    const evalOf = async (lossPositions: 'supervised' | 'all') => {
      const g = buildEvalGraph({ cfg, dtype: 'float64', weights: weightSource(w, llamaTensorShapes(cfg)), lora: spec, maxLength: 16, lossPositions });
      const session = await TrainSession.create({ train: { graph: g }, eval: { graph: g }, params, dtype: 'float64', threads: 1 });
      const out = [await session.evalBatch(init as Map<string, FloatArray>, packStep(examples, [[0, 1, 2, 3]], 0)), await session.evalBatch(init as Map<string, FloatArray>, packStep(examples, [[4]], 0))];
      await session.release();
      return out;
    };
    const [all, sup] = [await evalOf('all'), await evalOf('supervised')];
    assert.equal(sup[0]!.tokens, all[0]!.tokens);
    assert.ok(sup[0]!.tokens > 0);
    assert.ok(Math.abs(sup[0]!.nllSum - all[0]!.nllSum) <= 1e-12 * all[0]!.nllSum, `${sup[0]!.nllSum} vs ${all[0]!.nllSum}`);
    for (const e of [sup[1]!, all[1]!]) assert.ok(e.nllSum === 0 && e.tokens === 0, `no supervised token: ${JSON.stringify(e)}`);
  });

  it('float64: LoRA gradients of the trimmed, gathered loss match central finite differences', async () => {
    const B = 2, T = 7;
    const ids = [5, 17, 23, 42, 8, 3, 0, 9, 11, 64, 3, 0, 0, 0];
    const mask = [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0];
    const targets = [17, 23, 42, 8, 3, 0, 0, 11, 64, 3, 0, 0, 0, 0];
    const lossWeights = [0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]; // trims to 4 columns, gathers 3 rows
    const small: LoraSpec = { ...spec, rank: 2, targets: ['q_proj', 'v_proj', 'up_proj', 'down_proj'] };
    const ps = loraParams(cfg, small);
    const res = await gradCheck(
      ps.map((p) => ({ name: p.key, dims: p.shape, data: Array.from({ length: p.shape[0] * p.shape[1] }, () => (r() * 2 - 1) * 0.3) })),
      (g, values) => {
        const byKey = new Map(ps.map((p, k) => [p.key, values[k]!]));
        const tok = trimToSupervised(g, {
          ids: g.input('input_ids', 'int64', [B, T]),
          mask: g.input('attention_mask', 'int64', [B, T]),
          targets: g.input('targets', 'int64', [B, T]),
          weights: g.input('loss_weights', 'float32', [B, T]),
        });
        const rows = supervisedRows(g, tok.weights);
        const fwd = buildLlamaForward(g, cfg, {
          dtype: 'float64', weights: weightSource(w, llamaTensorShapes(cfg)), kvCache: false, inputIds: tok.ids, attentionMask: tok.mask, maxPositions: 16, headRows: rows,
          lora: { rank: small.rank, scale: loraScale(small), targets: small.targets, layers: small.layers, provide: (k) => byKey.get(k)! },
        });
        const lw = g.op('Cast', [pickRows(g, tok.weights, rows)], { to: 11 });
        const lp = g.op('LogSoftmax', [fwd.logits], { axis: -1 });
        const picked = g.op('Squeeze', [g.op('GatherElements', [lp, g.op('Unsqueeze', [pickRows(g, tok.targets, rows), g.constInt64([-1])])], { axis: 1 }), g.constInt64([-1])]);
        return g.op('Neg', [g.op('Div', [g.op('ReduceSum', [g.op('Mul', [picked, lw])], { keepdims: 0 }), g.op('ReduceSum', [lw], { keepdims: 0 })])], {}, { outputInfo: [{ shape: [] }] });
      },
      {
        maxPerParam: 8,
        feeds: {
          input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [B, T]),
          attention_mask: tensor('int64', BigInt64Array.from(mask.map(BigInt)), [B, T]),
          targets: tensor('int64', BigInt64Array.from(targets.map(BigInt)), [B, T]),
          loss_weights: tensor('float32', Float32Array.from(lossWeights), [B, T]),
        },
      },
    );
    console.log(`      relative L2 vs finite differences ${res.relL2.toExponential(2)}`);
    assert.ok(Number.isFinite(res.loss) && res.loss > 0);
    assert.ok(res.relL2 <= 1e-6, `relative L2 ${res.relL2}; per parameter ${JSON.stringify(res.perParam)}`);
  });
});
