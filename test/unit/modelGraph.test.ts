import { strict as assert } from 'node:assert';
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { referenceForward } from '../support/llamaReference';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { buildTestModel, runStep } from '../support/llamaSession';

const CONFIGS: [string, LlamaConfig][] = [
  ['GQA 4q/2kv, untied, plain rope', tinyConfig()],
  [
    'MQA 4q/1kv, tied, llama3 rope scaling (all three frequency bands)',
    tinyConfig({ hiddenSize: 64, numHeads: 4, numKvHeads: 1, headDim: 16, tieWordEmbeddings: true, ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 32 } }),
  ],
  ['MHA with head_dim != hidden/heads, 3 layers, untied', tinyConfig({ hiddenSize: 24, numHeads: 4, numKvHeads: 4, headDim: 8, numLayers: 3 })],
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// Two rows: the second left-padded by 3 tokens.
const ROW0 = [5, 17, 3, 88, 42, 9, 60, 11, 2, 33];
const ROW1 = [0, 0, 0, 7, 19, 64, 23, 8, 50, 31];
const MASK1 = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1];

describe('Llama ONNX graph vs float64 reference', function () {
  this.timeout(60000);
  for (const [label, cfg] of CONFIGS) {
    it(`${label}: prefill and token-by-token KV-cache decoding agree to 1e-4 (fp32)`, async () => {
      const w = randomWeights(cfg, 7);
      const ref0 = referenceForward(cfg, w, ROW0);
      const ref1 = referenceForward(cfg, w, ROW1, MASK1);
      const V = cfg.vocabSize;
      const m = await buildTestModel(cfg, w, 'float32');
      const full = await runStep(m, [ROW0, ROW1], [ROW0.map(() => 1), MASK1]);
      let worst = 0;
      for (let t = 0; t < ROW0.length; t++) {
        worst = Math.max(worst, maxDiff(full.logits.subarray(t * V, (t + 1) * V), ref0[t]!));
        if (MASK1[t]) worst = Math.max(worst, maxDiff(full.logits.subarray((ROW0.length + t) * V, (ROW0.length + t + 1) * V), ref1[t]!));
      }
      assert.ok(worst <= 1e-4, `prefill max |diff| ${worst}`);
      // Logits have a real spread, so agreement is not trivially small numbers.
      assert.ok(Math.max(...ref0[9]!.map(Math.abs)) > 0.5);

      // Prefill 4 tokens, then one token per step with the KV cache.
      let step = await runStep(m, [ROW0.slice(0, 4), ROW1.slice(0, 4)], [[1, 1, 1, 1], MASK1.slice(0, 4)]);
      let decodeWorst = 0;
      for (let t = 4; t < ROW0.length; t++) {
        step = await runStep(m, [[ROW0[t]!], [ROW1[t]!]], [ROW0.slice(0, t + 1).map(() => 1), MASK1.slice(0, t + 1)], step.presents);
        decodeWorst = Math.max(decodeWorst, maxDiff(step.logits.subarray(0, V), ref0[t]!), maxDiff(step.logits.subarray(V, 2 * V), ref1[t]!));
      }
      assert.ok(decodeWorst <= 1e-4, `decode max |diff| ${decodeWorst}`);
    });
  }

  it('float64 graph matches the reference to 1e-9 (the trainer differentiates this graph in float64)', async () => {
    const cfg = CONFIGS[1]![1];
    const w = randomWeights(cfg, 3);
    const ref = referenceForward(cfg, w, ROW0);
    const m = await buildTestModel(cfg, w, 'float64');
    const out = await runStep(m, [ROW0], [ROW0.map(() => 1)]);
    const V = cfg.vocabSize;
    let worst = 0;
    for (let t = 0; t < ROW0.length; t++) worst = Math.max(worst, maxDiff(out.logits.subarray(t * V, (t + 1) * V), ref[t]!));
    assert.ok(worst <= 1e-9, `float64 max |diff| ${worst}`);
  });
});
