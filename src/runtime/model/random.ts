// Seeded pseudo-random numbers for deterministic weights (tiny-llama, random-weight benchmarks, tests).
// mulberry32: 32-bit state, fast, good enough for initialisation (not for cryptography).
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
