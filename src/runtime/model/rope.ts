// Rotary position embedding tables, computed in float64 at build time (HF `_compute_llama3_parameters`).
import type { LlamaConfig } from './llamaConfig';

/** Which rope a layer uses: 'global' (rope_theta with the config's scaling) or 'local' (Gemma 3's sliding layers). */
export type RopeKind = 'global' | 'local';

/**
 * Inverse frequencies [headDim/2], with llama3 or linear rope_scaling applied when the config has it. Local
 * (sliding-window) layers use localRopeTheta and no scaling, as HF's Gemma 3 does.
 */
export function ropeInverseFrequencies(c: LlamaConfig, kind: RopeKind = 'global'): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  const theta = kind === 'local' ? c.localRopeTheta ?? c.ropeTheta : c.ropeTheta;
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / c.headDim);
  if (kind === 'local') return inv;
  if (c.ropeLinearFactor) for (let i = 0; i < half; i++) inv[i] = inv[i]! / c.ropeLinearFactor;
  const s = c.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i]!;
    if (wavelen < highWavelen) continue; // high frequencies: unchanged
    if (wavelen > lowWavelen) {
      inv[i] = inv[i]! / s.factor; // low frequencies: slowed down by `factor`
      continue;
    }
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    inv[i] = (1 - smooth) * (inv[i]! / s.factor) + smooth * inv[i]!;
  }
  return inv;
}

/**
 * cos and sin tables [positions, headDim] in HF's rotate_half layout (the half-dim frequencies repeated twice),
 * so q_rot = q·cos + rotate_half(q)·sin with rows gathered by position id.
 */
export function ropeTables(c: LlamaConfig, positions: number, kind: RopeKind = 'global'): { cos: Float64Array; sin: Float64Array } {
  const inv = ropeInverseFrequencies(c, kind);
  const d = c.headDim;
  const half = d / 2;
  const cos = new Float64Array(positions * d);
  const sin = new Float64Array(positions * d);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i]!;
      const ca = Math.cos(a), sa = Math.sin(a);
      cos[p * d + i] = ca;
      cos[p * d + i + half] = ca;
      sin[p * d + i] = sa;
      sin[p * d + i + half] = sa;
    }
  }
  return { cos, sin };
}

/** R [headDim, headDim] with x·R = rotate_half(x) = concat(-x[half:], x[:half]): a MatMul instead of Slice/Neg/Concat. */
export function rotateHalfMatrix(headDim: number): Float64Array {
  const half = headDim / 2;
  const r = new Float64Array(headDim * headDim);
  for (let j = 0; j < half; j++) {
    r[(j + half) * headDim + j] = -1; // out[j] = -x[j+half]
    r[j * headDim + (j + half)] = 1; // out[j+half] = x[j]
  }
  return r;
}
