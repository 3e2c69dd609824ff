// Generation with EM Lab's own ONNX engine (src/runtime/model): a base model folder (or tiny-llama / a Hub id)
// plus an optional PEFT adapter such as a run checkpoint. Chats are answered in batches (left-padded); item i of a
// call samples with seed + i, so the run hands over runs of consecutive per-answer seeds and each answer is
// reproducible on its own whatever the batching.
import { generateChats } from '../../model/generateChat';
import type { ModelSessions } from '../../model/generateSession';
import type { BatchGenerator, EvalChatMessage, EvalSampling, GenerationOutput } from './generator';

export interface LocalGeneratorOptions {
  sessions: ModelSessions;
  /** 'tiny-llama', an absolute model folder, or a downloaded Hub id. */
  model: string;
  /** Absolute PEFT adapter folder. */
  adapter?: string;
  checkpoint?: string;
  step?: number;
  batchSize?: number;
}

export function localGenerator(o: LocalGeneratorOptions): BatchGenerator {
  const ref = { model: o.model, ...(o.adapter ? { adapter: o.adapter } : {}) };
  const batch = async (items: { messages: EvalChatMessage[]; seed: number }[], sampling: EvalSampling, signal: AbortSignal): Promise<GenerationOutput[]> => {
    const out: GenerationOutput[] = [];
    // Split into runs of consecutive seeds: generateChats gives item i the seed (first seed + i).
    for (let start = 0; start < items.length; ) {
      let end = start + 1;
      while (end < items.length && items[end]!.seed === items[end - 1]!.seed + 1) end++;
      const run = items.slice(start, end);
      const gen = await generateChats(o.sessions, ref, run.map((r) => r.messages), {
        sampling: { temperature: sampling.temperature, topP: sampling.topP, ...(sampling.topK ? { topK: sampling.topK } : {}), maxNewTokens: sampling.maxNewTokens, seed: run[0]!.seed >>> 0 },
        ...(sampling.promptBos ? { promptBos: sampling.promptBos } : {}),
        batchSize: o.batchSize ?? 8,
        signal,
      });
      const byItem = new Map(gen.answers.map((a) => [a.item, a]));
      run.forEach((_, i) => {
        const a = byItem.get(i);
        out.push(a ? { text: a.text, finishReason: a.finishReason, promptTokens: a.promptTokens, completionTokens: a.tokenIds.length } : { text: '', finishReason: 'cancelled' });
      });
      start = end;
    }
    return out;
  };
  return {
    id: `local:${o.model}${o.adapter ? `+${o.adapter}` : ''}`,
    info: { kind: 'local', model: o.model, ...(o.adapter ? { adapter: o.adapter } : {}), ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}), ...(o.step !== undefined ? { step: o.step } : {}) },
    concurrency: 1,
    batchSize: o.batchSize ?? 8,
    generateBatch: batch,
    async generate(messages, sampling, seed, signal) {
      return (await batch([{ messages, seed }], sampling, signal))[0]!;
    },
  };
}
