// Next-token choice from one row of logits: greedy, or temperature -> top-k -> top-p -> a seeded draw.
// Order and tie rules follow Hugging Face `generate` (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper),
// so a setting means the same thing here as in the homework's generate.py:
//   - temperature 0 means greedy (argmax; the lowest token id wins a tie, as torch.argmax does);
//   - top_k keeps every token whose logit is >= the k-th largest (ties at the k-th value are all kept);
//   - top_p keeps, in descending probability order, each token whose predecessors' mass is < top_p
//     (the smallest set reaching top_p; the top token is always kept).
// All probability arithmetic is float64; logits arrive as float32 straight from the model.
import { UserError } from '../errors';

export interface SamplingParams {
  /** 0 = greedy. Default 1.0 (the homework's default). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables. Default 1.0. */
  topP: number;
  /** Keep the k most likely tokens; 0 disables. Default 0. */
  topK: number;
  /** PRNG seed (uint32). Same seed, same prompt, same model => same text. Absent: a random seed, reported back. */
  seed?: number;
  /** Tokens to generate at most, per sequence. Default 200. */
  maxNewTokens: number;
}

/** Upper bound on max_new_tokens, checked up front: the longest context of a supported model (Llama 3.2: 131072). */
export const MAX_NEW_TOKENS = 131_072;

export const DEFAULT_SAMPLING: Readonly<SamplingParams> = { temperature: 1.0, topP: 1.0, topK: 0, maxNewTokens: 200 };

/** Fills defaults and rejects values that would silently do something odd. `where` names the source (flag, field). */
export function resolveSampling(partial: Partial<SamplingParams>, where = 'sampling', flagPrefix = ''): SamplingParams {
  const s: SamplingParams = { ...DEFAULT_SAMPLING, ...stripUndefined(partial) };
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new UserError('bad-sampling', `${where}: ${flagPrefix}${field} must be ${rule} (got ${String(value)}). Fix the value and retry.`);
  };
  if (!Number.isFinite(s.temperature) || s.temperature < 0) bad('temperature', 'a number >= 0 (0 = greedy)', s.temperature);
  if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) bad('top_p', 'in (0, 1]', s.topP);
  if (!Number.isInteger(s.topK) || s.topK < 0) bad('top_k', 'an integer >= 0 (0 = off)', s.topK);
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1 || s.maxNewTokens > MAX_NEW_TOKENS) bad('max_new_tokens', `an integer from 1 to ${MAX_NEW_TOKENS}`, s.maxNewTokens);
  if (s.seed !== undefined && (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff)) bad('seed', 'an integer in [0, 4294967295]', s.seed);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018), state seeded from one uint32 by SplitMix32. Small, fast, and the same
 * sequence on every platform, which is what "same seed => same text" needs. next() is a float64 in [0, 1) built
 * from 53 random bits.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix32 = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
  }

  /** A generator with an explicit xoshiro128** state (tests check the published reference sequence). */
  static fromState(state: [number, number, number, number]): SeededRandom {
    const r = new SeededRandom(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
    return r;
  }

  /** Next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Float64 in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A random seed for when the user gave none (reported back so the text can be reproduced). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** Index of the largest logit; the lowest index wins a tie. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i]! > bestValue) {
      bestValue = logits[i]!;
      best = i;
    }
  }
  return best;
}

/** The tokens that survive the filters, with their renormalised probabilities, most likely first (id breaks ties). */
export interface Candidates {
  ids: Int32Array;
  probs: Float64Array;
}

/**
 * The distribution sampling draws from: softmax(logits / temperature) restricted by top-k, then top-p, renormalised.
 * Exposed for tests and for showing "what the model considered". temperature must be > 0 here.
 */
export function candidateDistribution(logits: ArrayLike<number>, p: Pick<SamplingParams, 'temperature' | 'topK' | 'topP'>): Candidates {
  const { weights, total } = topKWeights(logits, p);
  const order = sortedByWeight(weights, p.topP < 1 ? p.topP * total : Infinity);
  let keep = order.length;
  if (p.topP < 1) {
    // Keep token j while the mass of the tokens before it is < top_p (so the top token always stays).
    const limit = p.topP * total;
    let before = 0;
    keep = 0;
    for (const id of order) {
      if (keep > 0 && before >= limit) break;
      before += weights[id]!;
      keep++;
    }
  }
  const ids = new Int32Array(keep);
  const probs = new Float64Array(keep);
  let keptMass = 0;
  for (let j = 0; j < keep; j++) keptMass += weights[order[j]!]!;
  for (let j = 0; j < keep; j++) {
    ids[j] = order[j]!;
    probs[j] = weights[order[j]!]! / keptMass;
  }
  return { ids, probs };
}

/**
 * Unnormalised weights exp((logit - max) / T) of the tokens that survive top-k (0 for the others), and their sum.
 * The top-k threshold applies to the raw logits: temperature > 0 keeps their order.
 */
function topKWeights(logits: ArrayLike<number>, p: Pick<SamplingParams, 'temperature' | 'topK'>): { weights: Float64Array; total: number } {
  const vocab = logits.length;
  const invT = 1 / p.temperature;
  const kthLogit = p.topK > 0 && p.topK < vocab ? kthLargest(logits, p.topK) : -Infinity;
  let maxLogit = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i]! > maxLogit) maxLogit = logits[i]!;
  const weights = new Float64Array(vocab);
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const l = logits[i]!;
    if (l < kthLogit || l === -Infinity) continue;
    const w = Math.exp((l - maxLogit) * invT);
    weights[i] = w;
    total += w;
  }
  return { weights, total };
}

/**
 * Ids with weight > 0, descending by weight (ascending id on ties). When `massNeeded` is finite, only the ids that
 * can make the cut are sorted: every id below a threshold t whose heavier set already holds `massNeeded` is dropped
 * (its predecessors' mass is >= massNeeded, so top-p would cut it anyway). That skips sorting 128k ids per token.
 */
function sortedByWeight(weights: Float64Array, massNeeded: number): number[] {
  let threshold = 0;
  if (Number.isFinite(massNeeded)) {
    let max = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i]! > max) max = weights[i]!;
    for (let t = max * 1e-2; t > max * 1e-12; t *= 1e-2) {
      let mass = 0;
      for (let i = 0; i < weights.length; i++) if (weights[i]! >= t) mass += weights[i]!;
      if (mass >= massNeeded) {
        threshold = t;
        break;
      }
    }
  }
  const ids: number[] = [];
  for (let i = 0; i < weights.length; i++) if (weights[i]! > 0 && weights[i]! >= threshold) ids.push(i);
  ids.sort((a, b) => weights[b]! - weights[a]! || a - b);
  return ids;
}

/** The k-th largest value (1-based) of `values`, by a copy and a partial selection (O(n) average). */
function kthLargest(values: ArrayLike<number>, k: number): number {
  const a = Float64Array.from(values as ArrayLike<number>);
  // Quickselect for index n-k in ascending order.
  let lo = 0;
  let hi = a.length - 1;
  const target = a.length - k;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

/** Draws one token: inverse CDF over the candidates in their fixed order, so a seed fixes the choice. */
/**
 * NaN/Inf logits (NaN or overflowing weights in the model or the adapter) would make every draw token 0 ("!!!!"):
 * refuse instead. Every generation path samples here, so one check covers them all; one pass over the vocabulary
 * per token, small beside the forward pass.
 */
function assertFiniteLogits(logits: ArrayLike<number>): void {
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v - v !== 0) {
      throw new UserError('model-nonfinite', `the model's output became ${v}: its weights or the adapter's hold NaN/Inf values, or values too large for float32. Re-download the model, or retrain / re-export the adapter`);
    }
  }
}

export function sampleToken(logits: ArrayLike<number>, p: SamplingParams, rng: SeededRandom): number {
  assertFiniteLogits(logits);
  if (p.temperature === 0) return argmax(logits);
  if (p.topP >= 1) {
    // No nucleus cut: draw over the ids in id order (any fixed order is equally valid; this one needs no sort).
    const { weights, total } = topKWeights(logits, p);
    const target = rng.next() * total;
    let cumulative = 0;
    let last = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] === 0) continue;
      cumulative += weights[i]!;
      last = i;
      if (target < cumulative) return i;
    }
    return last;
  }
  const c = candidateDistribution(logits, p);
  const u = rng.next();
  let cumulative = 0;
  for (let j = 0; j < c.ids.length; j++) {
    cumulative += c.probs[j]!;
    if (u < cumulative) return c.ids[j]!;
  }
  return c.ids[c.ids.length - 1]!; // u within rounding of 1
}
