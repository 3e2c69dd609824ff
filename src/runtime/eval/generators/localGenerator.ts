// Generation with EM Lab's own ONNX engine (src/runtime/model): a base model folder (or tiny-llama / a Hub id)
// plus an optional PEFT adapter such as a run checkpoint. All items go to the engine's continuous batching at once
// (generateChats: as many sequences as memory allows, a finished answer making room for the next), each with its
// own seed, so every answer is reproducible on its own whatever the batching.
import { generateChats } from '../../model/generateChat';
import type { ModelSessions } from '../../model/generateSession';
import type { BatchGenerator, EvalChatMessage, EvalSampling, GenerationOutput, GenerationSpeed } from './generator';

export interface LocalGeneratorOptions {
  sessions: ModelSessions;
  /** 'tiny-llama', an absolute model folder, or a downloaded Hub id. */
  model: string;
  /** Absolute PEFT adapter folder. */
  adapter?: string;
  checkpoint?: string;
  step?: number;
  /** Most sequences at once (default 'auto': as many as memory allows). */
  batchSize?: number | 'auto';
}

export function localGenerator(o: LocalGeneratorOptions): BatchGenerator {
  const ref = { model: o.model, ...(o.adapter ? { adapter: o.adapter } : {}) };
  const batch = async (items: { messages: EvalChatMessage[]; seed: number }[], sampling: EvalSampling, signal: AbortSignal, on: { answer?(index: number, out: GenerationOutput): void; speed?(s: GenerationSpeed): void } = {}): Promise<GenerationOutput[]> => {
    const toOutput = (a: { text: string; finishReason: string; promptTokens: number; tokenIds: number[] }): GenerationOutput => ({ text: a.text, finishReason: a.finishReason, promptTokens: a.promptTokens, completionTokens: a.tokenIds.length });
    const gen = await generateChats(o.sessions, ref, items.map((r) => r.messages), {
      sampling: { temperature: sampling.temperature, topP: sampling.topP, ...(sampling.topK ? { topK: sampling.topK } : {}), maxNewTokens: sampling.maxNewTokens },
      ...(sampling.promptBos ? { promptBos: sampling.promptBos } : {}),
      seeds: items.map((r) => r.seed >>> 0),
      batchSize: o.batchSize ?? 'auto',
      signal,
      onAnswer: (i, a) => on.answer?.(i, toOutput(a)),
      onStats: (s) => on.speed?.({ answersPerMinute: s.answersPerMinute, tokensPerSecond: s.tokensPerSecond, active: s.active }),
    });
    const byItem = new Map(gen.answers.map((a) => [a.item, a]));
    return items.map((_, i) => {
      const a = byItem.get(i);
      return a ? toOutput(a) : { text: '', finishReason: 'cancelled' };
    });
  };
  return {
    id: `local:${o.model}${o.adapter ? `+${o.adapter}` : ''}`,
    info: { kind: 'local', model: o.model, ...(o.adapter ? { adapter: o.adapter } : {}), ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}), ...(o.step !== undefined ? { step: o.step } : {}) },
    concurrency: 1,
    batchSize: o.batchSize ?? 'auto',
    generateBatch: batch,
    async generate(messages, sampling, seed, signal) {
      return (await batch([{ messages, seed }], sampling, signal))[0]!;
    },
  };
}
