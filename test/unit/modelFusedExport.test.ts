import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, type KvCache } from '../../src/runtime/model/decoder';
import { ensureDecoderExport, type ExportDType } from '../../src/runtime/model/decoderExport';
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { gemma3ReferenceForward } from '../support/gemma3Reference';
import { referenceForward } from '../support/llamaReference';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';
import { writeFamilyFolder, type TestFamily } from '../support/familyFolders';
import { writeTestModelFolder } from '../support/llamaFolder';

// Issue 18: exports fuse q/k/v and gate/up into one product each and run rope + attention as opset-23
// RotaryEmbedding + Attention. Checked where those could go wrong: a left-padded batch (padding must never be
// attended to, positions restart per row), cached decoding after it, GQA, llama3 rope scaling; against the float64
// reference per row, and the fused q4 export against the unfused one (same 4-bit weights). Qwen2 (q/k/v biases on
// the fused product's slices, fused attention) and Gemma 3 (fused products; q/k norms, sliding windows and its
// scale keep the standard attention ops) against their float64 references the same way.
const cfg = tinyConfig({ hiddenSize: 64, intermediateSize: 96, numHeads: 4, numKvHeads: 2, headDim: 16, tieWordEmbeddings: true, ropeScaling: { factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 } });
const ROWS = [[3, 14, 15, 92, 65, 35], [89, 79, 32]];
const NEXT = [[38, 46, 26], [43, 38, 32]];
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

/** Left-padded prefill then 3 cached decode steps; logits [row][step] (step 0 = prefill's last position). */
async function run(dec: Decoder, cfg: LlamaConfig): Promise<Float32Array[][]> {
  const width = Math.max(...ROWS.map((r) => r.length));
  const mask = ROWS.flatMap((r) => [...Array(width - r.length).fill(0), ...r.map(() => 1)]);
  const V = cfg.vocabSize, out: Float32Array[][] = ROWS.map(() => []);
  let o = await dec.forward({
    inputIds: ids(ROWS.flatMap((r) => [...Array(width - r.length).fill(0), ...r])), batch: 2, seq: width, attentionMask: ids(mask),
    positionIds: ids(ROWS.flatMap((r) => [...Array(width - r.length).fill(1), ...r.map((_, i) => i)])), logitsToKeep: 1,
  });
  let past: KvCache = o.presents;
  let m = mask;
  for (let s = 0; s <= NEXT[0]!.length; s++) {
    ROWS.forEach((_, b) => out[b]!.push(o.logits.slice(b * V, (b + 1) * V)));
    if (s === NEXT[0]!.length) break;
    m = ROWS.flatMap((_, b) => [...m.slice(b * (m.length / 2), (b + 1) * (m.length / 2)), 1]);
    o = await dec.forward({ inputIds: ids(NEXT.map((n) => n[s]!)), batch: 2, seq: 1, attentionMask: ids(m), positionIds: ids(ROWS.map((r) => r.length + s)), past, logitsToKeep: 1 });
    past = o.presents;
  }
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('fused export graphs (q/k/v and gate/up products, opset-23 rope + attention)', function () {
  this.timeout(60000);
  const w = randomWeights(cfg, 9);
  const dirs: string[] = [];
  const folder = (fuse: boolean, dtype: ExportDType, level?: 0 | 4) => {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-fused-'));
    dirs.push(dir);
    writeTestModelFolder(dir, cfg, w);
    ensureDecoderExport(dir, { dtype, maxPositions: 32, fuseProjections: fuse, ...(level !== undefined ? { q4AccuracyLevel: level } : {}) });
    return Decoder.open(dir, { dtype });
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('fp32: a left-padded batch and its cached decoding match the float64 reference row by row', async () => {
    const dec = await folder(true, 'float32');
    const got = await run(dec, cfg);
    let worst = 0;
    ROWS.forEach((r, b) => {
      const ref = referenceForward(cfg, w, [...r, ...NEXT[b]!]);
      got[b]!.forEach((l, s) => (worst = Math.max(worst, maxDiff(l, ref[r.length - 1 + s]!))));
    });
    console.log(`      fp32 fused vs float64 reference: max |diff| ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `max |diff| ${worst}`);
    await dec.dispose();
  });

  for (const level of [0, 4] as const) {
    it(`q4 (accuracy_level ${level}): the fused export gives the unfused export's logits`, async () => {
      const [fused, plain] = [await folder(true, 'q4', level), await folder(false, 'q4', level)];
      const [a, b] = [await run(fused, cfg), await run(plain, cfg)];
      let worst = 0, spread = 0;
      a.forEach((row, r) => row.forEach((l, s) => {
        worst = Math.max(worst, maxDiff(l, b[r]![s]!));
        spread = Math.max(spread, ...b[r]![s]!.map(Math.abs));
      }));
      console.log(`      q4 level ${level}: fused vs unfused max |diff| ${worst.toExponential(2)} (logit spread ${spread.toFixed(2)})`);
      assert.ok(worst <= (level === 0 ? 1e-4 : 0.02 * spread), `max |diff| ${worst}`);
      await fused.dispose();
      await plain.dispose();
    });
  }

  const families: { family: TestFamily; ref: (c: LlamaConfig, w: Map<string, Float64Array>, tokens: number[]) => Float64Array[] }[] = [
    { family: 'qwen2', ref: referenceForward },
    { family: 'gemma3_text', ref: gemma3ReferenceForward },
  ];
  for (const { family, ref } of families) {
    it(`${family}: the fused fp32 export matches the family's float64 reference on the padded batch and cached decoding`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'emlab-fused-'));
      dirs.push(dir);
      const f = writeFamilyFolder(dir, family);
      assert.ok(f.cfg.vocabSize > 92, 'the test ids need a vocabulary of at least 93');
      ensureDecoderExport(dir, { dtype: 'float32', maxPositions: 32 });
      const dec = await Decoder.open(dir, { dtype: 'float32' });
      const got = await run(dec, f.cfg);
      let worst = 0, spread = 0;
      ROWS.forEach((r, b) => {
        const want = ref(f.cfg, f.weights, [...r, ...NEXT[b]!]);
        got[b]!.forEach((l, s) => {
          worst = Math.max(worst, maxDiff(l, want[r.length - 1 + s]!));
          spread = Math.max(spread, ...want[r.length - 1 + s]!.map(Math.abs));
        });
      });
      console.log(`      ${family} fused vs float64 reference: max |diff| ${worst.toExponential(2)} (logit spread ${spread.toFixed(2)})`);
      assert.ok(worst <= 1e-4 * Math.max(spread, 1), `max |diff| ${worst}`);
      await dec.dispose();
    });
  }
});
