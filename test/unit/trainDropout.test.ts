import { strict as assert } from 'node:assert';
import { GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor } from '../../src/runtime/onnx/ort';
import { dropoutHash, insertLoraDropout, stepDropoutSeed } from '../../src/runtime/train/loraDropout';
import { gradCheck } from '../support/gradCheck';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import { buildTrainStepGraph } from '../../src/runtime/train/trainGraph';
import { loraParams, type LoraSpec } from '../../src/runtime/train/loraSpec';
import { ADAMW_DEFAULTS } from '../../src/runtime/train/optimizer';
import { packStep } from '../../src/runtime/train/batching';
import { freshState, TrainSession } from '../../src/runtime/train/trainSession';

describe('LoRA dropout with counter-based masks', () => {
  it('the hash looks uniform and uncorrelated, and keeps 1 - p of the elements', () => {
    const n = 20000, seed = stepDropoutSeed(3, 5);
    const u = Array.from({ length: n }, (_, i) => dropoutHash(i, seed));
    const mean = u.reduce((a, b) => a + b, 0) / n;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    const kept = u.filter((x) => x < 0.9).length / n;
    assert.ok(Math.abs(kept - 0.9) < 0.01, `kept ${kept}`);
    let c = 0;
    for (let i = 1; i < n; i++) c += (u[i]! - 0.5) * (u[i - 1]! - 0.5);
    const corr = c / (n - 1) / (1 / 12);
    assert.ok(Math.abs(corr) < 0.03, `lag-1 correlation ${corr}`);
    assert.notEqual(stepDropoutSeed(3, 5), stepDropoutSeed(3, 6));
  });

  it('the graph applies exactly the JS mask (scaled by 1/(1-p)) before the lora_A product, and its gradient is right', async () => {
    const p = 0.3, seedValue = 123456789;
    const g = new GraphBuilder('dropout', [{ domain: '', version: 21 }]);
    const x = g.input('x', 'float64', [4, 6]);
    const a = g.input('lora_A', 'float64', [6, 6]);
    const seed = g.input('seed', 'int64', []);
    const y = g.op('Gemm', [x, a], { transB: 1 });
    g.output(y, 'y');
    assert.equal(insertLoraDropout(g, new Set(['lora_A']), seed, p, 'float64'), 1);
    const { session } = await createSession(toModelBytes(g), { optimization: 'disabled' });
    const xv = Float64Array.from({ length: 24 }, (_, i) => i + 1);
    const eye = Float64Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)); // y = dropout(x)
    const out = (await session.run({ x: tensor('float64', xv, [4, 6]), lora_A: tensor('float64', eye, [6, 6]), seed: tensor('int64', BigInt64Array.from([BigInt(seedValue)]), []) })).y!.data as Float64Array;
    // the first inserted module's stream: seed + 104729 (see insertLoraDropout)
    const expected = Array.from(xv, (v, i) => (dropoutHash(i, (seedValue + 104729) % 2147483647) < 1 - p ? v / (1 - p) : 0));
    expected.forEach((e, i) => assert.ok(Math.abs(e - out[i]!) < 1e-12, `element ${i}: ${out[i]} vs ${e}`));
    assert.ok(expected.some((e) => e === 0) && expected.some((e) => e !== 0));

    const res = await gradCheck([{ name: 'x', dims: [3, 5] }, { name: 'lora_A', dims: [2, 5] }], (gb, [xx, aa]) => {
      const s = gb.constInt64(987654321);
      const yy = gb.op('Gemm', [xx!, aa!], { transB: 1 });
      const loss = gb.op('ReduceSum', [gb.op('Mul', [yy, yy])], { keepdims: 0 });
      insertLoraDropout(gb, new Set([aa!.name]), s, 0.5, 'float64');
      return loss;
    });
    assert.ok(res.relL2 < 1e-7, `dropout gradient relative L2 ${res.relL2}`);
  });

  it('in the train step: the same seed gives the same update, another seed another one', async () => {
    const cfg = tinyConfig();
    const spec: LoraSpec = { rank: 2, alpha: 4, dropout: 0.5, useRslora: false, targets: ['q_proj', 'down_proj'], layers: [1] };
    const params = loraParams(cfg, spec);
    const g = buildTrainStepGraph({ cfg, dtype: 'float32', weights: weightSource(randomWeights(cfg, 1), llamaTensorShapes(cfg)), lora: spec, optimizer: ADAMW_DEFAULTS, maxLength: 16 });
    const session = await TrainSession.create({ train: { graph: g }, params, dtype: 'float32', threads: 1 });
    const init = new Map(params.map((p) => [p.key, Float64Array.from({ length: p.shape[0] * p.shape[1] }, (_, i) => Math.sin(i + p.shape[0]) * 0.1)]));
    const ex = [{ index: 0, ids: [3, 9, 27, 81, 43, 29, 87], supervised: [0, 0, 0, 1, 1, 1, 1] }];
    const run = async (seed: number) => {
      const st = freshState('float32', params, init);
      const r = await session.step(st, packStep(ex, [[0]], 0), 1e-2, seed);
      return { loss: r.loss, a: Array.from(st.params.get(params[0]!.key)!) };
    };
    const a = await run(11), b = await run(11), c = await run(12);
    assert.deepEqual(a, b);
    assert.notEqual(a.loss, c.loss);
    await assert.rejects(session.step(freshState('float32', params, init), packStep(ex, [[0]], 0), 1e-2), /dropout seed/);
    await session.release();
  });
});
