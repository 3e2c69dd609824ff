import { strict as assert } from 'node:assert';
import { linearShape, modulePath, peftKey, type LoraTarget } from '../../src/runtime/model/llamaConfig';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { mergeLora, referenceForward } from '../support/llamaReference';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { buildTestModel, floatTensor, runStep } from '../support/llamaSession';
import type { OrtTensor } from '../../src/runtime/onnx/ort';

const cfg = tinyConfig({ tieWordEmbeddings: true, ropeScaling: { factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 } });
const TOKENS = [4, 90, 13, 27, 55, 1, 72, 38];
const TARGETS: LoraTarget[] = ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj'];
const LAYERS = [1];

function randomAdapter(rank: number, seed: number, zero = false): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>();
  for (const l of LAYERS) {
    for (const t of TARGETS) {
      const [out, inDim] = linearShape(cfg, t);
      for (const [which, n] of [['A', rank * inDim], ['B', out * rank]] as const) {
        const key = peftKey(l, t, which);
        m.set(key, zero ? new Float64Array(n) : (fillUniform(new Float64Array(n), seedFrom(key, seed), 0.4) as Float64Array));
      }
    }
  }
  return m;
}

function feeds(adapter: Map<string, Float64Array>, rank: number): Record<string, OrtTensor> {
  const f: Record<string, OrtTensor> = {};
  for (const l of LAYERS) {
    for (const t of TARGETS) {
      const [out, inDim] = linearShape(cfg, t);
      f[peftKey(l, t, 'A')] = floatTensor('float32', adapter.get(peftKey(l, t, 'A'))!, [rank, inDim]);
      f[peftKey(l, t, 'B')] = floatTensor('float32', adapter.get(peftKey(l, t, 'B'))!, [out, rank]);
    }
  }
  return f;
}

describe('LoRA in the Llama graph', function () {
  this.timeout(60000);
  const base = randomWeights(cfg, 11);
  const mask = [TOKENS.map(() => 1)];

  for (const [label, alpha, rank, rslora] of [['scale alpha/r', 16, 4, false], ['rsLoRA scale alpha/sqrt(r)', 8, 4, true]] as const) {
    it(`a random adapter gives the logits of merged weights W + scale·B·A (${label})`, async () => {
      const scale = rslora ? alpha / Math.sqrt(rank) : alpha / rank;
      const adapter = randomAdapter(rank, 5);
      const merged = new Map(base);
      for (const l of LAYERS) {
        for (const t of TARGETS) {
          const [out, inDim] = linearShape(cfg, t);
          const name = `${modulePath(l, t)}.weight`;
          merged.set(name, mergeLora(base.get(name)!, adapter.get(peftKey(l, t, 'A'))!, adapter.get(peftKey(l, t, 'B'))!, out, inDim, rank, scale));
        }
      }
      const ref = referenceForward(cfg, merged, TOKENS);
      const refBase = referenceForward(cfg, base, TOKENS);
      const m = await buildTestModel(cfg, base, 'float32', { rank: 'lora_rank', scale, targets: TARGETS, layers: LAYERS });
      assert.equal(m.loraKeys.length, 2 * TARGETS.length * LAYERS.length);
      const out = await runStep(m, [TOKENS], mask, undefined, feeds(adapter, rank));
      const V = cfg.vocabSize;
      let worst = 0, shift = 0;
      for (let t = 0; t < TOKENS.length; t++) {
        for (let v = 0; v < V; v++) {
          worst = Math.max(worst, Math.abs(out.logits[t * V + v]! - ref[t]![v]!));
          shift = Math.max(shift, Math.abs(ref[t]![v]! - refBase[t]![v]!));
        }
      }
      assert.ok(worst <= 1e-4, `max |diff| vs merged reference ${worst}`);
      assert.ok(shift > 0.05, `the adapter must change the logits (shift ${shift})`);
    });
  }

  it('a zero adapter gives exactly the base logits, and adapters of different rank share one session', async () => {
    const plain = await buildTestModel(cfg, base, 'float32');
    const withLora = await buildTestModel(cfg, base, 'float32', { rank: 'lora_rank', scale: 2, targets: TARGETS, layers: LAYERS });
    const baseOut = await runStep(plain, [TOKENS], mask);
    for (const rank of [1, 8]) {
      const zero = await runStep(withLora, [TOKENS], mask, undefined, feeds(randomAdapter(rank, 0, true), rank));
      assert.deepEqual(Array.from(zero.logits), Array.from(baseOut.logits));
    }
    const r8 = await runStep(withLora, [TOKENS], mask, undefined, feeds(randomAdapter(8, 2), 8));
    assert.notDeepEqual(Array.from(r8.logits), Array.from(baseOut.logits));
  });
});
