import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, type ForwardExtras } from '../../src/runtime/model/decoder';
import { ensureDecoderExport, Q4_EXPORT_FORMAT } from '../../src/runtime/model/decoderExport';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import { LORA_TARGETS, linearShape, modulePath, peftKey } from '../../src/runtime/model/llamaConfig';
import { dequantizeQ4, q4RelativeError, quantizeQ4 } from '../../src/runtime/model/quantize';
import { referenceForward } from '../support/llamaReference';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { writeTestModelFolder } from '../support/llamaFolder';

// intermediate 48 = one full and one half block of 32: exercises padding of the last block.
const cfg = tinyConfig({ tieWordEmbeddings: true, intermediateSize: 48 });
const TOKENS = [3, 14, 15, 92, 65, 35, 89, 79];
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

describe('decoder variants: 4-bit MatMulNBits and fp16', function () {
  this.timeout(60000);
  let dir: string;
  const w = randomWeights(cfg, 5);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-var-'));
    writeTestModelFolder(dir, cfg, w);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('q4 packing: nibbles low-first, scale = max|w|/7, zero point 8, padded last block', () => {
    const row = Float32Array.from({ length: 40 }, (_, i) => (i - 20) / 10); // max |w| = 2 in block 0, 1.9 in block 1
    const q = quantizeQ4(row, 1, 40, 32);
    assert.equal(q.nBlocks, 2);
    assert.equal(q.scales[0], Math.fround(2 / 7));
    assert.equal(q.packed[0], (Math.round(-2 / (2 / 7)) + 8) | ((Math.round(-1.9 / (2 / 7)) + 8) << 4));
    const back = dequantizeQ4(q);
    for (let i = 0; i < 40; i++) assert.ok(Math.abs(back[i]! - row[i]!) <= q.scales[i < 32 ? 0 : 1]! / 2 + 1e-7);
  });

  it('the q4 export format (blocks of 64, signed max / -8) dequantizes Gaussian weights closer than block 32 with max|w|/7', () => {
    // Box-Muller over a fixed LCG: 256 rows of 2048, like one slice of a 1B projection
    let state = 12345;
    const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    const [n, k] = [256, 2048];
    const w = Float32Array.from({ length: n * k }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
    const [now, before] = [q4RelativeError(w, n, k, Q4_EXPORT_FORMAT.blockSize, Q4_EXPORT_FORMAT.scale), q4RelativeError(w, n, k, 32, 'absmax7')];
    console.log(`      relative RMS dequantization error: export format ${now.toFixed(4)}, block 32 absmax7 ${before.toFixed(4)}`);
    assert.ok(now < before, `${now} >= ${before}`);
  });

  it('the q4 export equals the float64 reference run on the dequantized weights (prefill and cached decode)', async () => {
    ensureDecoderExport(dir, { dtype: 'q4', maxPositions: 64, q4AccuracyLevel: 0 });
    assert.ok(existsSync(join(dir, 'onnx', 'model_q4.onnx')) && existsSync(join(dir, 'onnx', 'model_q4_lora.onnx')));
    const deq = new Map(w);
    const dq = (name: string, [n, k]: [number, number]) => Float64Array.from(dequantizeQ4(quantizeQ4(Float32Array.from(w.get(name)!), n, k, Q4_EXPORT_FORMAT.blockSize, Q4_EXPORT_FORMAT.scale)));
    for (let l = 0; l < cfg.numLayers; l++) for (const t of LORA_TARGETS) deq.set(`${modulePath(l, t)}.weight`, dq(`${modulePath(l, t)}.weight`, linearShape(cfg, t)));
    // Tied embeddings: the Gather keeps float weights, the lm_head uses the quantized copy.
    deq.set('lm_head.weight', dq('model.embed_tokens.weight', [cfg.vocabSize, cfg.hiddenSize]));
    const ref = referenceForward({ ...cfg, tieWordEmbeddings: false }, deq, TOKENS);
    const dec = await Decoder.open(dir, { dtype: 'q4' });
    const V = cfg.vocabSize;
    let out = await dec.forward({ inputIds: ids(TOKENS.slice(0, 5)), batch: 1, seq: 5, attentionMask: ids([1, 1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3, 4]) });
    let worst = 0;
    for (let t = 0; t < 5; t++) for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(out.logits[t * V + v]! - ref[t]![v]!));
    for (let t = 5; t < TOKENS.length; t++) {
      out = await dec.forward({ inputIds: ids([TOKENS[t]!]), batch: 1, seq: 1, attentionMask: ids(Array(t + 1).fill(1)), positionIds: ids([t]), past: out.presents });
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(out.logits[v]! - ref[t]![v]!));
    }
    assert.ok(worst <= 1e-4, `q4 vs dequantized reference: ${worst}`);
    await dec.dispose();

    // The default export (accuracy_level 4: int8 activations per block) stays close to the same reference.
    ensureDecoderExport(dir, { dtype: 'q4', maxPositions: 64 });
    const fast = await Decoder.open(dir, { dtype: 'q4' });
    const out4 = await fast.forward({ inputIds: ids(TOKENS), batch: 1, seq: TOKENS.length, attentionMask: ids(TOKENS.map(() => 1)), positionIds: ids(TOKENS.map((_, i) => i)) });
    let worst4 = 0, spread = 0;
    for (let t = 0; t < TOKENS.length; t++) {
      for (let v = 0; v < V; v++) {
        worst4 = Math.max(worst4, Math.abs(out4.logits[t * V + v]! - ref[t]![v]!));
        spread = Math.max(spread, Math.abs(ref[t]![v]!));
      }
    }
    assert.ok(worst4 <= 0.02 * spread, `q4 accuracy_level 4: max |diff| ${worst4}, spread ${spread}`);
    await fast.dispose();
  });

  it('q4 on CPU: base steps run the plain graph, bit for bit the LoRA graph with the zero adapter; adapters and steering open the LoRA graph', async () => {
    ensureDecoderExport(dir, { dtype: 'q4', maxPositions: 64 });
    const split = await Decoder.open(dir, { dtype: 'q4' });
    const single = await Decoder.open(dir, { dtype: 'q4', plainBase: false });
    assert.deepEqual(split.openGraphs(), ['plain']);
    assert.deepEqual(single.openGraphs(), ['lora']);
    // a 5-token prefill and 3 cached steps; every logit of every call, concatenated
    const run = async (dec: Decoder, adapterId?: string, extras: ForwardExtras = {}): Promise<Float32Array> => {
      const parts: Float32Array[] = [];
      let out = await dec.forward({ inputIds: ids(TOKENS.slice(0, 5)), batch: 1, seq: 5, attentionMask: ids([1, 1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3, 4]) }, adapterId, extras);
      parts.push(out.logits);
      for (let t = 5; t < TOKENS.length; t++) {
        out = await dec.forward({ inputIds: ids([TOKENS[t]!]), batch: 1, seq: 1, attentionMask: ids(Array(t + 1).fill(1)), positionIds: ids([t]), past: out.presents }, adapterId, extras);
        parts.push(out.logits);
      }
      return Float32Array.from(parts.flatMap((p) => [...p]));
    };
    const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const plain = await run(split);
    assert.ok(bits(plain).equals(bits(await run(single))), 'base on the plain graph = base as the LoRA graph\'s zero adapter, bit for bit');
    assert.deepEqual(split.openGraphs(), ['plain'], 'base steps never open the LoRA graph');
    // an intervention (here a zero ablation direction = off) needs the LoRA graph's steering inputs
    const steeredOff = await run(split, undefined, { intervention: { ablate: new Float32Array(cfg.hiddenSize) } });
    assert.deepEqual(split.openGraphs().sort(), ['lora', 'plain']);
    assert.ok(bits(steeredOff).equals(bits(plain)));
    // an adapter runs on the LoRA graph, the same in both decoders, and base steps after it are the plain graph's again
    const tensors = new Map<string, HostTensor>();
    let seed = 11;
    const rnd = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2);
    for (let l = 0; l < cfg.numLayers; l++) for (const t of LORA_TARGETS) {
      const [out, inDim] = linearShape(cfg, t);
      tensors.set(peftKey(l, t, 'A'), { dtype: 'float32', shape: [2, inDim], data: rnd(2 * inDim) });
      tensors.set(peftKey(l, t, 'B'), { dtype: 'float32', shape: [out, 2], data: rnd(2 * out) });
    }
    for (const dec of [split, single]) dec.setAdapter('random', { rank: 2, scale: 2, tensors });
    const adapted = await run(split, 'random');
    assert.ok(!bits(adapted).equals(bits(plain)), 'the adapter changes the logits');
    assert.ok(bits(adapted).equals(bits(await run(single, 'random'))));
    assert.ok(bits(await run(split)).equals(bits(plain)));
    await split.dispose();
    await single.dispose();
  });

  it('the fp16 export (for CUDA; emulated on CPU) stays within fp16 rounding of the float64 reference', async () => {
    ensureDecoderExport(dir, { dtype: 'float16', maxPositions: 64 });
    const ref = referenceForward(cfg, w, TOKENS);
    const dec = await Decoder.open(dir, { dtype: 'float16' });
    const V = cfg.vocabSize;
    let out = await dec.forward({ inputIds: ids(TOKENS.slice(0, 6)), batch: 1, seq: 6, attentionMask: ids(Array(6).fill(1)), positionIds: ids([0, 1, 2, 3, 4, 5]) });
    out = await dec.forward({ inputIds: ids([TOKENS[6]!]), batch: 1, seq: 1, attentionMask: ids(Array(7).fill(1)), positionIds: ids([6]), past: out.presents });
    const spread = Math.max(...ref[6]!.map(Math.abs));
    let worst = 0;
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(out.logits[v]! - ref[6]![v]!));
    assert.ok(worst <= 0.02 * spread, `fp16 max |diff| ${worst} (logit spread ${spread})`);
    assert.equal(out.logits.indexOf(Math.max(...out.logits)), ref[6]!.indexOf(Math.max(...ref[6]!)));
    await dec.dispose();
  });
});
