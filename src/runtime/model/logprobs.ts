// Per-token log-probabilities of a given text under the model: one forward pass over the whole sequence, then
// log_softmax of the logits at position t-1, read at token t. Summed in float64 (the logits arrive as float32).
// Used by `em-lab logprobs` (analysis, and checking numerics against other implementations).

export interface LogitsModel {
  readonly vocabSize: number;
  /** Logits at every position of one unpadded sequence, [ids.length, vocab] row-major. */
  allLogits(ids: readonly number[]): Promise<Float32Array>;
}

export interface TokenLogprob {
  /** Position in the sequence. */
  index: number;
  id: number;
  /** The vocabulary entry (byte-level form). */
  piece: string;
  /** The token decoded alone (may be U+FFFD for part of a multi-byte character). */
  text: string;
  /** log P(token | everything before it), natural log; null for the first token (nothing predicts it). */
  logprob: number | null;
  /** The most likely tokens at this position (only when asked for). */
  top?: { id: number; piece: string; logprob: number }[];
}

export interface LogprobsResult {
  tokens: TokenLogprob[];
  /** Sum of the non-null logprobs. */
  total: number;
  /** Tokens that have a logprob. */
  scored: number;
}

export interface LogprobsOptions {
  piece(id: number): string;
  decodeOne(id: number): string;
  /** How many alternatives to list per position (0 = none). */
  top?: number;
}

/** log_softmax of one row, in float64: x - max - log(sum(exp(x - max))). */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - logZ;
  return out;
}

export async function tokenLogprobs(model: LogitsModel, ids: readonly number[], options: LogprobsOptions): Promise<LogprobsResult> {
  const logits = await model.allLogits(ids);
  const V = model.vocabSize;
  const tokens: TokenLogprob[] = [];
  let total = 0;
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    const entry: TokenLogprob = { index: t, id, piece: options.piece(id), text: options.decodeOne(id), logprob: null };
    if (t > 0) {
      const lp = logSoftmax(logits.subarray((t - 1) * V, t * V));
      entry.logprob = lp[id]!;
      total += lp[id]!;
      if (options.top && options.top > 0) entry.top = topK(lp, options.top).map((i) => ({ id: i, piece: options.piece(i), logprob: lp[i]! }));
    }
    tokens.push(entry);
  }
  return { tokens, total, scored: Math.max(ids.length - 1, 0) };
}

/** Indices of the k largest values, largest first (lowest index on ties). */
function topK(values: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length < k || values[i]! > values[best[best.length - 1]!]!) {
      let j = best.length < k ? best.length : best.length - 1;
      best[j] = i;
      while (j > 0 && values[best[j - 1]!]! < values[best[j]!]!) {
        [best[j - 1], best[j]] = [best[j]!, best[j - 1]!];
        j--;
      }
    }
  }
  return best;
}
