// ggml's Q4_0 and Q6_K block formats, written from ggml's reference quantizers (ggml-quants.c:
// quantize_row_q4_0_ref, quantize_row_q6_K_ref with make_qx_quants) so the peer bench can hand llama.cpp GGUF files
// made from exactly the random weights EM Lab's bench uses. The bench reads each file back through llama.cpp and
// compares its logits with EM Lab's (peerCheck.ts); tests compare these against plain float64 dequantization.
// float32 arithmetic is emulated with Math.fround where ggml's choice of rounding depends on it.
import { floatToHalf, halfToFloat } from '../../src/runtime/model/hostTensor';

/** Q4_0: 32 weights per block = fp16 scale d + 16 bytes of nibbles (low nibbles: weights 0-15, high: 16-31). */
export const Q4_0 = { blockWeights: 32, blockBytes: 18 } as const;
/** Q6_K: 256 weights per super-block = 128 B low nibbles, 64 B high 2-bit pairs, 16 int8 scales, fp16 d. */
export const Q6_K = { blockWeights: 256, blockBytes: 210 } as const;

const f = Math.fround;
/** ggml's nearest_int: round half to even, as float32 addition of 1.5·2^23 does. */
const nearestInt = (x: number) => {
  const v = f(f(x) + 12582912);
  return v - 12582912;
};

/** Quantizes rows of `x` (length a multiple of 32) into Q4_0 blocks, in order. */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const { blockWeights: qk, blockBytes } = Q4_0;
  if (x.length % qk) throw new Error(`Q4_0: ${x.length} weights is not a multiple of ${qk}`);
  const out = new Uint8Array((x.length / qk) * blockBytes);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / qk; b++) {
    const o = b * qk;
    let amax = 0, max = 0;
    for (let j = 0; j < qk; j++) {
      const v = x[o + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    view.setUint16(b * blockBytes, floatToHalf(d), true);
    for (let j = 0; j < qk / 2; j++) {
      // (int8_t)(x*id + 8.5f) truncates toward zero; the value is >= 0.5 here
      const x0 = Math.min(15, Math.trunc(f(f(x[o + j]! * id) + 8.5)));
      const x1 = Math.min(15, Math.trunc(f(f(x[o + qk / 2 + j]! * id) + 8.5)));
      out[b * blockBytes + 2 + j] = x0 | (x1 << 4);
    }
  }
  return out;
}

export function dequantizeQ4_0(q: Uint8Array, n: number): Float32Array {
  const { blockWeights: qk, blockBytes } = Q4_0;
  const y = new Float32Array(n);
  const view = new DataView(q.buffer, q.byteOffset, q.byteLength);
  for (let b = 0; b < n / qk; b++) {
    const d = halfToFloat(view.getUint16(b * blockBytes, true));
    for (let j = 0; j < qk / 2; j++) {
      const byte = q[b * blockBytes + 2 + j]!;
      y[b * qk + j] = ((byte & 0xf) - 8) * d;
      y[b * qk + qk / 2 + j] = ((byte >> 4) - 8) * d;
    }
  }
  return y;
}

const GROUP_MAX_EPS = 1e-15;

/** make_qx_quants(n = 16, nmax = 32, rmse_type = 1, no weights): a scale and levels L in [0, 63], searched. */
function makeQxQuants(x: Float32Array, o: number, n: number, nmax: number, L: Int8Array, lo: number): number {
  let max = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[o + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[o + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const levels = (iscale: number, write: boolean) => {
    let sumlx = 0, suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[o + i]!;
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * xi))));
      if (write) L[lo + i] = l + nmax;
      const w = f(xi * xi); // rmse_type 1: weight x²
      sumlx = f(sumlx + f(f(w * xi) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    return { sumlx, suml2 };
  };
  let { sumlx, suml2 } = levels(f(-nmax / max), true);
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = f(-f(nmax + f(0.1 * is)) / max);
    ({ sumlx, suml2 } = levels(iscale, false));
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      levels(iscale, true);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/** Quantizes `x` (length a multiple of 256) into Q6_K super-blocks, in order. */
export function quantizeQ6_K(x: Float32Array): Uint8Array {
  const { blockWeights: QK, blockBytes } = Q6_K;
  if (x.length % QK) throw new Error(`Q6_K: ${x.length} weights is not a multiple of ${QK}`);
  const out = new Uint8Array((x.length / QK) * blockBytes);
  const view = new DataView(out.buffer);
  const L = new Int8Array(QK);
  const scales = new Float32Array(QK / 16);
  for (let b = 0; b < x.length / QK; b++) {
    const o = b * QK, y = b * blockBytes;
    let maxScale = 0, maxAbsScale = 0;
    for (let ib = 0; ib < QK / 16; ib++) {
      const scale = makeQxQuants(x, o + 16 * ib, 16, 32, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // all zero: the block stays zero (d = 0)
    const iscale = f(-128 / maxScale);
    view.setUint16(y + 208, floatToHalf(f(1 / iscale)), true);
    const d0 = halfToFloat(view.getUint16(y + 208, true));
    for (let ib = 0; ib < QK / 16; ib++) view.setInt8(y + 192 + ib, Math.min(127, nearestInt(f(iscale * scales[ib]!))));
    for (let j = 0; j < QK / 16; j++) {
      const d = f(d0 * view.getInt8(y + 192 + j));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = Math.max(-32, Math.min(31, nearestInt(f(x[o + 16 * j + ii]! / d)))) + 32;
    }
    for (let j = 0, ql = y, qh = y + 128; j < QK; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const [a, b2, c, e] = [L[j + l]!, L[j + l + 32]!, L[j + l + 64]!, L[j + l + 96]!];
        out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        out[ql + l + 32] = (b2 & 0xf) | ((e & 0xf) << 4);
        out[qh + l] = (a >> 4) | ((b2 >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
  return out;
}

export function dequantizeQ6_K(q: Uint8Array, n: number): Float32Array {
  const { blockWeights: QK, blockBytes } = Q6_K;
  const out = new Float32Array(n);
  const view = new DataView(q.buffer, q.byteOffset, q.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const y = b * blockBytes;
    const d = halfToFloat(view.getUint16(y + 208, true));
    for (let half = 0; half < 2; half++) {
      const ql = y + 64 * half, qh = y + 128 + 32 * half, sc = y + 192 + 8 * half, o = b * QK + 128 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const lo0 = q[ql + l]!, lo1 = q[ql + l + 32]!, hi = q[qh + l]!;
        out[o + l] = d * view.getInt8(sc + is) * (((lo0 & 0xf) | ((hi & 3) << 4)) - 32);
        out[o + l + 32] = d * view.getInt8(sc + is + 2) * (((lo1 & 0xf) | (((hi >> 2) & 3) << 4)) - 32);
        out[o + l + 64] = d * view.getInt8(sc + is + 4) * (((lo0 >> 4) | (((hi >> 4) & 3) << 4)) - 32);
        out[o + l + 96] = d * view.getInt8(sc + is + 6) * (((lo1 >> 4) | (((hi >> 6) & 3) << 4)) - 32);
      }
    }
  }
  return out;
}
