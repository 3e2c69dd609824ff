// Seeded pseudo-random numbers, one implementation for the whole runtime: deterministic weights (tiny-llama,
// random-weight benchmarks, tests), data sampling and mixtures, question selection, training data order.
// mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32, fast and well mixed; not for cryptography.
// Same seed => same stream on every machine and Node version. (Token sampling uses xoshiro128** in
// model/sampling.ts, whose longer period matters for long generations.)

/** mulberry32 with its state exposed (one integer), so a training run can checkpoint and resume its stream. */
export function mulberry32WithState(seed: number): { next(): number; state(): number } {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    state: () => a,
  };
}

/** mulberry32 as a function giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  return mulberry32WithState(seed).next;
}

/** splitmix32: scrambles a 32-bit integer; used to derive well-separated seeds from one user seed. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit seed from a string (FNV-1a), so each tensor name gets its own reproducible stream. */
export function seedFrom(text: string, base = 0): number {
  let h = (0x811c9dc5 ^ base) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Uniform values in [-limit, limit): cheap and bounded (a normal init gains nothing for random-weight models). */
export function fillUniform(out: Float32Array | Float64Array, seed: number, limit: number): Float32Array | Float64Array {
  const next = mulberry32(seed);
  for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * limit;
  return out;
}
