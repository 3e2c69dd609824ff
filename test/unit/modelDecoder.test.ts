import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from '../../src/runtime/model/decoder';
import { ensureDecoderExport } from '../../src/runtime/model/decoderExport';
import { linearShape, modulePath, peftKey, type LoraTarget } from '../../src/runtime/model/llamaConfig';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import { mergeLora, referenceForward } from '../support/llamaReference';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { writeTestModelFolder } from '../support/llamaFolder';

const cfg = tinyConfig({ numKvHeads: 1, tieWordEmbeddings: true, ropeScaling: { factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 } });
const TOKENS = [3, 14, 15, 92, 65, 35, 89, 79];
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('exported decoder (model.onnx + model_lora.onnx sharing model.onnx_data)', function () {
  this.timeout(60000);
  let dir: string;
  const w = randomWeights(cfg, 21);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-dec-'));
    writeTestModelFolder(dir, cfg, w);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the weights once; the LoRA graph references the same data file', () => {
    const { manifest } = ensureDecoderExport(dir, { maxPositions: 64 });
    assert.equal(manifest.model, 'model.onnx');
    assert.equal(manifest.loraModel, 'model_lora.onnx');
    const data = statSync(join(dir, 'onnx', 'model.onnx_data')).size;
    assert.ok(data >= cfg.vocabSize * cfg.hiddenSize * 4, `data ${data}`);
    assert.ok(!existsSync(join(dir, 'onnx', 'model_lora.onnx_data')));
    assert.ok(statSync(join(dir, 'onnx', 'model_lora.onnx')).size < 200_000);
    const again = ensureDecoderExport(dir, { maxPositions: 64 });
    assert.deepEqual(again.manifest, manifest, 'an up-to-date export is reused');
  });

  it('prefill + cached decode match the float64 reference; adapters switch per call without reloading', async () => {
    const dec = await Decoder.open(dir);
    const V = cfg.vocabSize;
    const ref = referenceForward(cfg, w, TOKENS);
    // Adapter on q/down of layer 0, rank 3, scale 2.
    const rank = 3, scale = 2;
    const targets: LoraTarget[] = ['q_proj', 'down_proj'];
    const tensors = new Map<string, HostTensor>();
    const merged = new Map(w);
    for (const t of targets) {
      const [out, inDim] = linearShape(cfg, t);
      const a = fillUniform(new Float64Array(rank * inDim), seedFrom(t, 1), 0.5) as Float64Array;
      const b = fillUniform(new Float64Array(out * rank), seedFrom(t, 2), 0.5) as Float64Array;
      tensors.set(peftKey(0, t, 'A'), { dtype: 'float64', shape: [rank, inDim], data: a });
      tensors.set(peftKey(0, t, 'B'), { dtype: 'float64', shape: [out, rank], data: b });
      const name = `${modulePath(0, t)}.weight`;
      merged.set(name, mergeLora(w.get(name)!, a, b, out, inDim, rank, scale));
    }
    dec.setAdapter('bad', { rank, scale, tensors });
    const refLora = referenceForward(cfg, merged, TOKENS);

    for (const [adapter, expected] of [[undefined, ref], ['bad', refLora], [undefined, ref]] as const) {
      let out = await dec.forward({ inputIds: ids(TOKENS.slice(0, 5)), batch: 1, seq: 5, attentionMask: ids([1, 1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3, 4]) }, adapter);
      let worst = 0;
      for (let t = 0; t < 5; t++) worst = Math.max(worst, maxDiff(out.logits.subarray(t * V, (t + 1) * V), expected[t]!));
      for (let t = 5; t < TOKENS.length; t++) {
        out = await dec.forward({ inputIds: ids([TOKENS[t]!]), batch: 1, seq: 1, attentionMask: ids(Array(t + 1).fill(1)), positionIds: ids([t]), past: out.presents }, adapter);
        worst = Math.max(worst, maxDiff(out.logits, expected[t]!));
      }
      assert.ok(worst <= 1e-4, `adapter ${adapter ?? 'base'}: max |diff| ${worst}`);
    }
    // num_logits_to_keep = 1: only the last position's logits, same values.
    const last = await dec.forward({ inputIds: ids(TOKENS.slice(0, 5)), batch: 1, seq: 5, attentionMask: ids([1, 1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3, 4]), logitsToKeep: 1 });
    assert.equal(last.kept, 1);
    assert.equal(last.logits.length, V);
    assert.ok(maxDiff(last.logits, ref[4]!) <= 1e-4);
    assert.throws(() => dec.setAdapter('x', { rank: 2, scale: 1, tensors: new Map([[peftKey(0, 'q_proj', 'A'), tensors.get(peftKey(0, 'q_proj', 'A'))!]]) }), /expected \[2,32\]/);
    assert.throws(() => dec.setAdapter('x', { rank, scale, tensors: new Map([[peftKey(7, 'q_proj', 'A'), tensors.get(peftKey(0, 'q_proj', 'A'))!]]) }), /does not match any LoRA module/);
    await dec.dispose();
  });
});
