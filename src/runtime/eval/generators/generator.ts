// What a generation run needs from a model: answer one chat, with given sampling, cancellably. Implemented by the
// OpenAI-compatible endpoint generator (openaiGenerator.ts) and by the local ONNX engine (src/runtime/model/).

export interface EvalChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface EvalSampling {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** Keep the k most likely tokens (0 or absent = off). The homework preset: 50, transformers' default. */
  topK?: number;
  /**
   * How a chat becomes prompt tokens (local engine): 'single' tokenizes the chat template directly (one BOS);
   * 'double' renders the template to text and tokenizes that again with special tokens, as the homework's
   * generate.py does, which for Llama 3 puts a second <|begin_of_text|> in front (docs/homework.md).
   */
  promptBos?: 'single' | 'double';
}

export interface GenerationOutput {
  text: string;
  finishReason?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** This answer could not be generated (after retries); the run reports it and a rerun asks again. */
  error?: string;
  /** A server that sampled several answers in one request (`n`): the request's seed and n, and this answer's choice. */
  request?: { seed: number; n: number; choice: number };
}

/** Recorded with every answer so a result can be traced to exactly what produced it. */
export interface GeneratorInfo {
  /** 'openai-compatible' or 'local'. */
  kind: string;
  model: string;
  adapter?: string;
  checkpoint?: string;
  step?: number;
  endpoint?: string;
  /** The model name a server answered as when it loaded `adapter` at run time (vLLM's load_lora_adapter). */
  servedAs?: string;
}

export interface Generator {
  /** Stable identity of the model + adapter + checkpoint; a resumed run must use the same one. */
  id: string;
  info: GeneratorInfo;
  /** How many generate() calls may run at once (1 for a local engine that batches itself). */
  concurrency: number;
  /** seed: per-answer seed (reproducible sampling where the backend supports it). */
  generate(messages: EvalChatMessage[], sampling: EvalSampling, seed: number, signal: AbortSignal): Promise<GenerationOutput>;
  /** Called once before the first answer a run asks for (e.g. registering an adapter with a server). */
  open?(signal: AbortSignal): Promise<void>;
  /** Called once after the run's last answer when open() succeeded, also after a failure or cancel. */
  close?(): Promise<void>;
}

/** Throughput of a batching engine while it runs (shown beside the progress). */
export interface GenerationSpeed {
  answersPerMinute: number;
  tokensPerSecond: number;
  /** Sequences decoding together now. */
  active: number;
}

/**
 * A generator that answers many chats at once (the local engine, continuous batching); the run hands it every
 * pending item in one call and records each answer as soon as `onAnswer` reports it.
 */
export interface BatchGenerator extends Generator {
  /** Most chats decoding at once ('auto' = as many as memory allows). */
  batchSize: number | 'auto';
  /**
   * Answers in input order (also reported one by one through onAnswer as they finish). Items cut short by cancel
   * come back with finishReason 'cancelled'.
   */
  generateBatch(items: { messages: EvalChatMessage[]; seed: number }[], sampling: EvalSampling, signal: AbortSignal, on?: { answer?(index: number, out: GenerationOutput): void; speed?(s: GenerationSpeed): void }): Promise<GenerationOutput[]>;
}

export function isBatchGenerator(g: Generator): g is BatchGenerator {
  return typeof (g as Partial<BatchGenerator>).generateBatch === 'function';
}
