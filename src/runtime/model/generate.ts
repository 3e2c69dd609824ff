// Autoregressive generation over a KV-cached decoder: one prefill over the (left-padded) prompts, then one decode
// step per new token, sampling each sequence with its own seeded generator and stopping each on any eos id.
// Batched and single-prompt runs take the same path (a single prompt is a batch of one), so greedy output does not
// depend on batching. Cancellation is checked between tokens; a cancelled run returns what it has so far.
import { CancelledError } from '../errors';
import { randomSeed, resolveSampling, sampleToken, SeededRandom, type SamplingParams } from './sampling';
import { StreamDecoder } from './generateStream';

/** One forward call's inputs, row-major int64 as the decoder contract wants them. */
export interface StepInputs {
  batch: number;
  /** Tokens per row in this call (the prompt length at prefill, 1 when decoding). */
  seq: number;
  /** [batch, seq] */
  inputIds: BigInt64Array;
  /** [batch, pastLength + seq]: 1 = real token, 0 = left padding. */
  attentionMask: BigInt64Array;
  /** [batch, seq]: cumsum(mask) - 1, clipped at 0 (padding never attends or is attended to, so its value is moot). */
  positionIds: BigInt64Array;
  pastLength: number;
}

export interface StepOutputs<Past> {
  /** Logits of the LAST position of each row, [batch, vocab] row-major (float32 as the graph gives them). */
  lastLogits: Float32Array;
  /** The cache after this call; handed back on the next call. */
  past: Past;
}

/** What generation needs from a model: one cached forward step. Implemented over the ORT decoder by generateModel.ts. */
export interface StepModel<Past> {
  readonly vocabSize: number;
  step(inputs: StepInputs, past: Past | undefined): Promise<StepOutputs<Past>>;
  /** Frees a cache that will not be used again (ORT tensors hold native memory). */
  release?(past: Past): void;
}

export type FinishReason = 'eos' | 'length' | 'cancelled';

export interface TokenEvent {
  /** Row in the batch (0 for a single prompt). */
  sequence: number;
  /** The token just generated; absent on the final flush of text held back for an incomplete character. */
  tokenId?: number;
  /** Text this token completed (may be '' while a multi-byte character is still partial). */
  delta: string;
  /** 0-based index of the token among this row's new tokens. */
  index: number;
}

export interface GenerateOptions {
  sampling?: Partial<SamplingParams>;
  eosTokenIds: readonly number[];
  padTokenId: number;
  /** Ids -> text (skip special tokens). Used for streaming deltas and the final text. */
  decode(ids: readonly number[], options?: { cleanUpSpaces?: boolean }): string;
  signal?: AbortSignal;
  onToken?(event: TokenEvent): void;
}

export interface SequenceResult {
  tokenIds: number[];
  /** Final text, decoded as Hugging Face does (clean_up_tokenization_spaces as configured). */
  text: string;
  finishReason: FinishReason;
  /** The seed this row sampled with (reproduce it alone with this seed). */
  seed: number;
  promptTokens: number;
}

export interface GenerateStats {
  prefillMs: number;
  decodeMs: number;
  /** Decode steps run (the longest row's new tokens minus the one the prefill produced). */
  decodeSteps: number;
  /** Tokens chosen from decode-step logits (all rows, eos included) per second of decoding. */
  decodeTokensPerSecond: number;
  batch: number;
}

export interface GenerateResult {
  sequences: SequenceResult[];
  sampling: SamplingParams;
  stats: GenerateStats;
}

/**
 * Generates for a batch of tokenized prompts. Row i samples with seed + i (mod 2^32), so prompt i of a batch
 * produces exactly what a single-prompt run with seed + i produces. Without a seed a random one is drawn and
 * reported in `sampling.seed`.
 */
export async function generateTokens<Past>(model: StepModel<Past>, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<GenerateResult> {
  if (prompts.length === 0) throw new Error('generateTokens: no prompts');
  if (prompts.some((p) => p.length === 0)) throw new Error('generateTokens: a prompt has no tokens');
  const sampling = resolveSampling(options.sampling ?? {});
  const seed = sampling.seed ?? randomSeed();
  const resolved: SamplingParams = { ...sampling, seed };
  const batch = prompts.length;
  const eos = new Set(options.eosTokenIds);
  const rows = prompts.map((p, i) => ({
    rng: new SeededRandom((seed + i) >>> 0),
    seed: (seed + i) >>> 0,
    tokens: [] as number[],
    done: false,
    finishReason: 'length' as FinishReason,
    stream: options.onToken ? new StreamDecoder((ids) => options.decode(ids, { cleanUpSpaces: false })) : undefined,
    promptTokens: p.length,
  }));

  // Prefill: left-pad to the longest prompt.
  const width = Math.max(...prompts.map((p) => p.length));
  const mask = new Uint8Array(batch * width);
  const inputIds = new BigInt64Array(batch * width).fill(BigInt(options.padTokenId));
  prompts.forEach((p, b) => {
    const offset = width - p.length;
    for (let t = 0; t < p.length; t++) {
      inputIds[b * width + offset + t] = BigInt(p[t]!);
      mask[b * width + offset + t] = 1;
    }
  });
  // Per row: how many real tokens it has (the next position id).
  const realCount = prompts.map((p) => p.length);
  let attention = mask;
  let past: Past | undefined;
  const t0 = performance.now();
  let out = await model.step({ batch, seq: width, inputIds, attentionMask: toInt64(mask), positionIds: positionsFromMask(mask, batch, width, width), pastLength: 0 }, undefined);
  past = out.past;
  const prefillMs = performance.now() - t0;
  let decodeSteps = 0;
  let decodedTokens = 0; // tokens chosen from decode-step logits, for the speed figure
  const t1 = performance.now();
  let cancelled = false;
  try {
    for (;;) {
      // Choose this step's token for every live row.
      const next = new BigInt64Array(batch).fill(BigInt(options.padTokenId));
      for (let b = 0; b < batch; b++) {
        const row = rows[b]!;
        if (row.done) continue;
        const logits = out.lastLogits.subarray(b * model.vocabSize, (b + 1) * model.vocabSize);
        const id = sampleToken(logits, resolved, row.rng);
        if (decodeSteps > 0) decodedTokens++;
        next[b] = BigInt(id);
        if (eos.has(id)) {
          row.done = true;
          row.finishReason = 'eos';
          continue;
        }
        row.tokens.push(id);
        if (row.stream) options.onToken!({ sequence: b, tokenId: id, delta: row.stream.push(id), index: row.tokens.length - 1 });
        if (row.tokens.length >= resolved.maxNewTokens) {
          row.done = true;
          row.finishReason = 'length';
        }
      }
      if (rows.every((r) => r.done)) break;
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      // Decode step: every row advances one position (finished rows feed padding the others never see).
      const pastLength = attention.length / batch;
      const grown = new Uint8Array(batch * (pastLength + 1));
      for (let b = 0; b < batch; b++) {
        grown.set(attention.subarray(b * pastLength, (b + 1) * pastLength), b * (pastLength + 1));
        grown[b * (pastLength + 1) + pastLength] = 1;
      }
      attention = grown;
      const positionIds = new BigInt64Array(batch);
      for (let b = 0; b < batch; b++) positionIds[b] = BigInt(realCount[b]!++);
      const previous = past;
      out = await model.step({ batch, seq: 1, inputIds: next, attentionMask: toInt64(attention), positionIds, pastLength }, previous);
      if (previous !== undefined && model.release) model.release(previous);
      past = out.past;
      decodeSteps++;
    }
  } finally {
    if (past !== undefined && model.release) model.release(past);
  }
  const decodeMs = performance.now() - t1;
  if (cancelled) for (const r of rows) if (!r.done) r.finishReason = 'cancelled';
  const sequences: SequenceResult[] = rows.map((r) => {
    if (r.stream) {
      const tail = r.stream.flush();
      if (tail) options.onToken!({ sequence: rows.indexOf(r), delta: tail, index: r.tokens.length });
    }
    return { tokenIds: r.tokens, text: options.decode(r.tokens), finishReason: r.finishReason, seed: r.seed, promptTokens: r.promptTokens };
  });
  return {
    sequences,
    sampling: resolved,
    stats: { prefillMs, decodeMs, decodeSteps, decodeTokensPerSecond: decodeMs > 0 ? decodedTokens / (decodeMs / 1000) : 0, batch },
  };
}

/** Throws CancelledError when the signal is already aborted (before any work starts). */
export function checkNotCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('Generation cancelled before it started.');
}

/** position_ids for the last `seq` columns of a [batch, total] mask: cumsum(mask) - 1, clipped at 0. */
export function positionsFromMask(mask: Uint8Array, batch: number, total: number, seq: number): BigInt64Array {
  const out = new BigInt64Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let t = 0; t < total; t++) {
      sum += mask[b * total + t]!;
      if (t >= total - seq) out[b * seq + t - (total - seq)] = BigInt(Math.max(sum - 1, 0));
    }
  }
  return out;
}

function toInt64(mask: Uint8Array): BigInt64Array {
  const out = new BigInt64Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 1n : 0n;
  return out;
}
