// 4-bit block quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits (bits=4):
//   B      uint8 [N, nBlocks, blockSize/2]: row n = output feature, block b covers K indices b*bs..b*bs+bs-1,
//          byte j holds element 2j in its low nibble and 2j+1 in its high nibble
//   scales float [N * nBlocks]
//   (no zero_points input: ORT then uses 8, i.e. symmetric quantization)
// dequantized w = (q - 8) * scale. Y = A · dequant(B)ᵀ, so W keeps HF's [out, in] layout.
// Decode reads 4.5 bits per weight (4 + a 32-bit scale per 32 weights) instead of 32.
export interface Q4Weights {
  packed: Uint8Array;
  scales: Float32Array;
  n: number;
  k: number;
  blockSize: number;
  nBlocks: number;
}

export function q4Blocks(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

/**
 * How a block's scale is chosen (both symmetric round-to-nearest, zero point 8):
 * - 'absmax7': scale = max|w| / 7, so q - 8 spans -7..7 and -8 is unused (the trainer's --use_4bit format);
 * - 'signedmax8': scale = m / -8 with m the block's largest-magnitude weight (sign kept), so m itself is level -8
 *   and all 16 levels are used — ggml's Q4_0 rule; a 1/8 instead of 1/7 step, i.e. 12.5% less rounding error at
 *   the same block size (the decoder exports' format since issue 18).
 */
export type Q4ScaleRule = 'absmax7' | 'signedmax8';

/** Symmetric round-to-nearest per block (see Q4ScaleRule). */
export function quantizeQ4(w: Float32Array, n: number, k: number, blockSize = 32, rule: Q4ScaleRule = 'absmax7'): Q4Weights {
  if (blockSize % 2 !== 0 || blockSize < 16) throw new Error(`MatMulNBits block size must be an even number >= 16, got ${blockSize}`);
  const nBlocks = q4Blocks(k, blockSize);
  const half = blockSize / 2;
  const packed = new Uint8Array(n * nBlocks * half);
  const scales = new Float32Array(n * nBlocks);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const start = row * k + b * blockSize;
      const end = Math.min((b + 1) * blockSize, k) - b * blockSize;
      let amax = 0, signed = 0;
      for (let j = 0; j < end; j++) {
        const v = w[start + j]!;
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          signed = v;
        }
      }
      const scale = rule === 'absmax7' ? amax / 7 : signed / -8;
      scales[row * nBlocks + b] = scale;
      const inv = scale !== 0 ? 1 / scale : 0;
      const out = (row * nBlocks + b) * half;
      for (let j = 0; j < blockSize; j += 2) {
        const q0 = j < end ? Math.max(0, Math.min(15, Math.round(w[start + j]! * inv) + 8)) : 8;
        const q1 = j + 1 < end ? Math.max(0, Math.min(15, Math.round(w[start + j + 1]! * inv) + 8)) : 8;
        packed[out + j / 2] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales, n, k, blockSize, nBlocks };
}

/** Relative RMS error of quantizing w [n, k] and back (|w - dequant(quant(w))| / |w|): a format's rounding, one number. */
export function q4RelativeError(w: Float32Array, n: number, k: number, blockSize: number, rule: Q4ScaleRule): number {
  const d = dequantizeQ4(quantizeQ4(w, n, k, blockSize, rule));
  let e = 0, s = 0;
  for (let i = 0; i < w.length; i++) {
    e += (d[i]! - w[i]!) ** 2;
    s += w[i]! ** 2;
  }
  return Math.sqrt(e / s);
}

/** The float weights [n, k] a Q4Weights stands for (for references and tests). */
export function dequantizeQ4(q: Q4Weights): Float32Array {
  const w = new Float32Array(q.n * q.k);
  const half = q.blockSize / 2;
  for (let row = 0; row < q.n; row++) {
    for (let b = 0; b < q.nBlocks; b++) {
      const scale = q.scales[row * q.nBlocks + b]!;
      for (let j = 0; j < q.blockSize && b * q.blockSize + j < q.k; j++) {
        const byte = q.packed[(row * q.nBlocks + b) * half + (j >> 1)]!;
        const v = j & 1 ? byte >> 4 : byte & 15;
        w[row * q.k + b * q.blockSize + j] = (v - 8) * scale;
      }
    }
  }
  return w;
}
