// Answers to conversations with a loaded model: the entry point for the CLI, the chat handlers and evaluation.
// Conversations are rendered with the model's chat template and generated with continuous batching
// (generateBatched.ts). Item i of the list samples with its own seed (seed + i, or `seeds[i]`), so answers do not
// depend on the batch size or on which other items ran beside them.
import { freemem } from 'node:os';
import type { ChatMessage, ModelLabel, ModelRef, ResolvedSampling } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { assertEndsWithUser } from './chatTemplate';
import type { SequenceResult, TokenEvent } from './generate';
import { generateBatched, type ThroughputStats } from './generateBatched';
import { ModelSessions, type Progress } from './generateSession';
import type { LlamaConfig } from './llamaConfig';
import { randomSeed, resolveSampling, type SamplingParams } from './sampling';

export interface ChatGenerationOptions {
  sampling?: Partial<SamplingParams>;
  /** Most sequences decoding at once; 'auto' (default) = as many as memory allows (autoBatchSize). */
  batchSize?: number | 'auto';
  /** Per-item seeds (default: sampling.seed + i). */
  seeds?: readonly number[];
  /**
   * 'single' (default): the chat template tokenized directly. 'double': the template rendered to text and that text
   * tokenized again with special tokens, as the homework's generate.py does (Llama 3: a second BOS in front).
   */
  promptBos?: 'single' | 'double';
  signal?: AbortSignal;
  /** `item` is the index in `conversations`. */
  onToken?(item: number, event: TokenEvent): void;
  /** Item `item` is complete (called in finishing order, as soon as it is). */
  onAnswer?(item: number, answer: SequenceResult): void;
  onStats?(stats: ThroughputStats): void;
  progress?: Progress;
}

export interface ChatAnswer extends SequenceResult {
  item: number;
}

export interface ChatGeneration {
  label: ModelLabel;
  sampling: ResolvedSampling;
  answers: ChatAnswer[];
  /** Wall time of the whole generation. */
  decodeMs: number;
  /** New tokens (all sequences) per second of wall time. */
  decodeTokensPerSecond: number;
  stats: ThroughputStats;
  batchSize: number;
}

/** Largest automatic batch: beyond it a CPU step is compute-bound and more rows only add attention work. */
export const MAX_AUTO_BATCH = 64;

/**
 * How many sequences fit: the KV cache of one row at its longest (prompt + new tokens), counted twice because a
 * decode step holds the past and the grown present at once, within 40% of the free memory, at most MAX_AUTO_BATCH.
 * Llama-3.2-1B fp32, 260 tokens: 68 MB a row.
 */
export function autoBatchSize(cfg: LlamaConfig, maxTokens: number, bytesPerValue = 4, freeBytes = freemem()): number {
  const perRow = 2 * 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * bytesPerValue * maxTokens + cfg.vocabSize * 4;
  return Math.max(1, Math.min(MAX_AUTO_BATCH, Math.floor((0.4 * freeBytes) / perRow)));
}

export async function generateChats(sessions: ModelSessions, ref: ModelRef, conversations: readonly (readonly ChatMessage[])[], options: ChatGenerationOptions = {}): Promise<ChatGeneration> {
  try {
    return await generateChatsUnnamed(sessions, ref, conversations, options);
  } catch (err) {
    if (err instanceof UserError && err.code === 'model-nonfinite') throw new UserError(err.code, `${ref.model}${ref.adapter ? ` with the adapter ${ref.adapter}` : ''}: ${err.message}.`);
    throw err;
  }
}

async function generateChatsUnnamed(sessions: ModelSessions, ref: ModelRef, conversations: readonly (readonly ChatMessage[])[], options: ChatGenerationOptions): Promise<ChatGeneration> {
  const loaded = await sessions.load(ref, options.progress);
  const tok = loaded.base.tokenizer;
  const model = ModelSessions.stepModel(loaded);
  const sampling = resolveSampling(options.sampling ?? {});
  const seed = sampling.seed ?? randomSeed();
  const prompts = conversations.map((c, i) => {
    assertEndsWithUser(c, `conversation ${i + 1}`);
    return options.promptBos === 'double' ? tok.encodeText(tok.renderChat(c), true) : tok.encodeChat(c);
  });
  const longest = Math.max(0, ...prompts.map((p) => p.length)) + sampling.maxNewTokens;
  const bytes = loaded.base.decoder.manifest.dtype === 'float16' ? 2 : 4;
  const batchSize = Math.max(1, options.batchSize === undefined || options.batchSize === 'auto' ? autoBatchSize(loaded.base.decoder.config, longest, bytes) : options.batchSize);
  const t0 = performance.now();
  let lastDone = -1;
  const r = await ModelSessions.using(loaded, () => generateBatched(model, prompts.map((prompt, i) => ({ prompt, seed: (options.seeds?.[i] ?? seed + i) >>> 0 })), {
    sampling: { ...sampling, seed },
    maxBatch: batchSize,
    eosTokenIds: tok.eosTokenIds,
    padTokenId: tok.padTokenId,
    decode: (ids, o) => tok.decode(ids, o),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onToken ? { onToken: options.onToken } : {}),
    onAnswer: (i, a) => {
      options.onAnswer?.(i, a);
    },
    onStats: (s) => {
      options.onStats?.(s);
      if (s.done !== lastDone) options.progress?.(`Generated ${s.done}/${s.total} (${s.answersPerMinute.toFixed(1)} answers/min, ${s.tokensPerSecond.toFixed(1)} tokens/s, batch ${s.active})`, s.done / s.total);
      lastDone = s.done;
    },
  }));
  const decodeMs = performance.now() - t0;
  return {
    label: loaded.label,
    sampling: { ...sampling, seed },
    answers: r.results.map((a, item) => (a ? { ...a, item } : undefined)).filter((a): a is ChatAnswer => a !== undefined),
    decodeMs,
    decodeTokensPerSecond: r.stats.tokensPerSecond,
    stats: r.stats,
    batchSize,
  };
}
