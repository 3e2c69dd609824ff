import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { halfToFloat } from '../../src/runtime/model/hostTensor';
import { dequantizeQ4_0, dequantizeQ6_K, quantizeQ4_0, quantizeQ6_K } from '../../bench/peers/ggmlQuant';
import { writeGguf, type MetaValue } from '../../bench/peers/gguf';
import { permuteRope } from '../../bench/peers/llamaGguf';
import { mulberry32 } from '../../src/runtime/random';

// The peer bench's GGUF writer and ggml quantizers (issue 18). The bench itself reads every format back through
// llama.cpp against a float64 reference (bench/peers/peerCheck.ts); these tests pin the formats without llama.cpp.
describe('peer bench: GGUF writer and ggml Q4_0/Q6_K blocks', () => {
  it('Q4_0: d = signed max / -8 in fp16, levels round(x/d) + 8, low nibbles hold weights 0-15 and high 16-31', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => (j - 16) * 0.25); // max |x| = 4 at j = 0 (x = -4): d = 0.5
    const q = quantizeQ4_0(x);
    assert.equal(q.length, 18);
    assert.equal(halfToFloat(q[0]! | (q[1]! << 8)), 0.5);
    const level = (j: number) => Math.min(15, Math.trunc(x[j]! / 0.5 + 8.5));
    for (let j = 0; j < 16; j++) assert.equal(q[2 + j], level(j) | (level(j + 16) << 4), `byte ${j}`);
    const back = dequantizeQ4_0(q, 32);
    for (let j = 0; j < 32; j++) assert.equal(back[j], (level(j) - 8) * 0.5);
  });

  it('Q4_0 and Q6_K round trips stay within their step sizes on random rows; a zero block stays zero', () => {
    const r = mulberry32(5);
    const x = Float32Array.from({ length: 4096 }, () => (r() * 2 - 1) * (r() < 0.01 ? 8 : 1));
    const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - x[i]!) ** 2, 0) / a.length);
    const scale = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    const q4 = dequantizeQ4_0(quantizeQ4_0(x), x.length), q6 = dequantizeQ6_K(quantizeQ6_K(x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      const amax = Math.max(...x.subarray(b * 32, b * 32 + 32).map(Math.abs));
      // step |d| = amax/8: half a step of rounding, a whole step where the one level missing on one side clamps
      for (let j = b * 32; j < b * 32 + 32; j++) assert.ok(Math.abs(q4[j]! - x[j]!) <= (amax / 8) * 1.01, `Q4_0 element ${j}`);
    }
    console.log(`      relative RMS error: Q4_0 ${(rms(q4) / scale).toExponential(2)}, Q6_K ${(rms(q6) / scale).toExponential(2)}`);
    assert.ok(rms(q4) / scale < 0.2 && rms(q6) / scale < 0.04 && rms(q6) < rms(q4) / 4, "6-bit levels are 4x finer than 4-bit ones");
    assert.ok(dequantizeQ6_K(quantizeQ6_K(new Float32Array(256)), 256).every((v) => v === 0));
  });

  it('permutes q/k rows from rotate_half halves to interleaved pairs, per head', () => {
    const rows = 8, cols = 2, heads = 2; // head dim 4: HF rows [a0 a1 b0 b1] -> [a0 b0 a1 b1]
    const w = Float32Array.from({ length: rows * cols }, (_, i) => i);
    const p = permuteRope(w, rows, cols, heads);
    const order = [0, 2, 1, 3, 4, 6, 5, 7];
    order.forEach((src, dst) => assert.deepEqual([...p.subarray(dst * cols, dst * cols + cols)], [...w.subarray(src * cols, src * cols + cols)]));
  });

  it('writes GGUF v3: header, typed metadata, tensor infos with 32-byte aligned offsets, then the data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-gguf-'));
    try {
      const a = Float32Array.from([1, 2, 3]), b = quantizeQ4_0(Float32Array.from({ length: 64 }, (_, i) => i / 10));
      const meta = new Map<string, MetaValue>([['general.architecture', { str: 'llama' }], ['llama.block_count', { u32: 2 }], ['llama.rope.freq_base', { f32: 0.5 }], ['tokenizer.ggml.tokens', { strings: ['a', 'bé'] }], ['tokenizer.ggml.token_type', { i32s: [1, 3] }]]);
      const path = join(dir, 'm.gguf');
      writeGguf(path, meta, [
        { name: 'x', dims: [3], type: 'F32', data: () => new Uint8Array(a.buffer) },
        { name: 'w', dims: [32, 2], type: 'Q4_0', data: () => b },
      ]);
      // an independent reader of the spec's layout
      const buf = readFileSync(path);
      let o = 0;
      const u32 = () => { o += 4; return buf.readUInt32LE(o - 4); };
      const u64 = () => { o += 8; return Number(buf.readBigUInt64LE(o - 8)); };
      const str = () => { const n = u64(); o += n; return buf.toString('utf8', o - n, o); };
      assert.equal(u32(), 0x46554747);
      assert.equal(u32(), 3);
      assert.equal(u64(), 2);
      const nKv = u64();
      const kv: Record<string, unknown> = {};
      for (let k = 0; k < nKv; k++) {
        const key = str(), type = u32();
        if (type === 4) kv[key] = u32();
        else if (type === 6) { kv[key] = buf.readFloatLE(o); o += 4; }
        else if (type === 8) kv[key] = str();
        else if (type === 9) {
          const et = u32(), n = u64();
          kv[key] = Array.from({ length: n }, () => (et === 8 ? str() : (o += 4, buf.readInt32LE(o - 4))));
        } else assert.fail(`type ${type}`);
      }
      assert.deepEqual(kv, { 'general.alignment': 32, 'general.architecture': 'llama', 'llama.block_count': 2, 'llama.rope.freq_base': 0.5, 'tokenizer.ggml.tokens': ['a', 'bé'], 'tokenizer.ggml.token_type': [1, 3] });
      const infos = [0, 1].map(() => ({ name: str(), dims: Array.from({ length: u32() }, () => u64()), type: u32(), offset: u64() }));
      assert.deepEqual(infos, [{ name: 'x', dims: [3], type: 0, offset: 0 }, { name: 'w', dims: [32, 2], type: 2, offset: 32 }]);
      const start = Math.ceil(o / 32) * 32;
      assert.deepEqual(new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + 12)), a);
      assert.deepEqual(new Uint8Array(buf.subarray(start + 32, start + 32 + 36)), b);
      assert.equal(buf.length, start + 32 + 36);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
