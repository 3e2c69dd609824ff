// Answers to conversations with a loaded model: the entry point for the CLI, the chat handlers and evaluation.
// Conversations are rendered with the model's chat template and generated in batches (left padding). Item i of the
// whole list samples with seed + i whatever the batch size, so answers do not depend on how items were batched.
import type { ChatMessage, ModelLabel, ModelRef, ResolvedSampling } from '../../protocol/chatMethods';
import { assertEndsWithUser } from './chatTemplate';
import { generateTokens, type SequenceResult, type TokenEvent } from './generate';
import { ModelSessions, type Progress } from './generateSession';
import { randomSeed, resolveSampling, type SamplingParams } from './sampling';

export interface ChatGenerationOptions {
  sampling?: Partial<SamplingParams>;
  /**
   * 'single' (default): the chat template tokenized directly. 'double': the template rendered to text and that text
   * tokenized again with special tokens, as the homework's generate.py does (Llama 3: a second BOS in front).
   */
  promptBos?: 'single' | 'double';
  /** Rows per forward pass (default 8). 1 for chat. */
  batchSize?: number;
  signal?: AbortSignal;
  /** `item` is the index in `conversations`. */
  onToken?(item: number, event: TokenEvent): void;
  progress?: Progress;
}

export interface ChatAnswer extends SequenceResult {
  item: number;
}

export interface ChatGeneration {
  label: ModelLabel;
  sampling: ResolvedSampling;
  answers: ChatAnswer[];
  /** Summed over batches. */
  prefillMs: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
}

export async function generateChats(sessions: ModelSessions, ref: ModelRef, conversations: readonly (readonly ChatMessage[])[], options: ChatGenerationOptions = {}): Promise<ChatGeneration> {
  const loaded = await sessions.load(ref, options.progress);
  const tok = loaded.base.tokenizer;
  const model = ModelSessions.stepModel(loaded);
  const sampling = resolveSampling(options.sampling ?? {});
  const seed = sampling.seed ?? randomSeed();
  const prompts = conversations.map((c, i) => {
    assertEndsWithUser(c, `conversation ${i + 1}`);
    return options.promptBos === 'double' ? tok.encodeText(tok.renderChat(c), true) : tok.encodeChat(c);
  });
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const answers: ChatAnswer[] = [];
  let prefillMs = 0;
  let decodeMs = 0;
  let decoded = 0;
  for (let start = 0; start < prompts.length; start += batchSize) {
    if (options.signal?.aborted && start > 0) break;
    const batch = prompts.slice(start, start + batchSize);
    const r = await ModelSessions.using(loaded, () => generateTokens(model, batch, {
      sampling: { ...sampling, seed: (seed + start) >>> 0 },
      eosTokenIds: tok.eosTokenIds,
      padTokenId: tok.padTokenId,
      decode: (ids, o) => tok.decode(ids, o),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onToken ? { onToken: (e: TokenEvent) => options.onToken!(start + e.sequence, e) } : {}),
    }));
    r.sequences.forEach((s, i) => answers.push({ ...s, item: start + i }));
    prefillMs += r.stats.prefillMs;
    decodeMs += r.stats.decodeMs;
    decoded += r.stats.decodeTokensPerSecond * (r.stats.decodeMs / 1000);
    options.progress?.(`Generated ${Math.min(start + batchSize, prompts.length)}/${prompts.length}`, Math.min(start + batchSize, prompts.length) / prompts.length);
  }
  return {
    label: loaded.label,
    sampling: { ...sampling, seed },
    answers,
    prefillMs,
    decodeMs,
    decodeTokensPerSecond: decodeMs > 0 ? decoded / (decodeMs / 1000) : 0,
  };
}
