// Token and cost accounting for judge calls: an estimate before a run (about 4 characters per token, which is
// close for English with OpenAI tokenizers) and the usage the server reports after. Prices are USD per 1M tokens
// from OpenAI's public price list (standard tier, checked 2025); unknown models get token counts and no price.

export interface ModelPrice {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** Matched by longest prefix, so dated snapshots (gpt-4o-2024-08-06) use their family's price. */
export const PRICE_TABLE: Record<string, ModelPrice> = {
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
  'gpt-3.5-turbo': { inputPerMillion: 0.5, outputPerMillion: 1.5 },
};

export function priceFor(model: string): ModelPrice | undefined {
  const key = Object.keys(PRICE_TABLE)
    .filter((k) => model === k || model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  return key ? PRICE_TABLE[key] : undefined;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export function costUsd(model: string, usage: TokenUsage): number | null {
  const p = priceFor(model);
  return p ? (usage.promptTokens * p.inputPerMillion + usage.completionTokens * p.outputPerMillion) / 1e6 : null;
}

/** OpenAI's Batch API bills input and output tokens at half the live price. */
export const BATCH_PRICE_FACTOR = 0.5;

/** Live usage at the live price plus batch usage at the batch price; null when the model has no known price. */
export function totalCost(model: string, live: TokenUsage, batch: TokenUsage): number | null {
  const l = costUsd(model, live);
  const b = costUsd(model, batch);
  return l === null || b === null ? null : l + BATCH_PRICE_FACTOR * b;
}

/** About 4 characters per token, plus about 7 tokens of chat-message framing per request. */
export function estimatePromptTokens(promptText: string): number {
  return Math.ceil(promptText.length / 4) + 7;
}

/** Reply tokens we expect: one in logprob mode; a number or a label (about 2) in sampled mode. */
export function estimateCompletionTokens(mode: 'sampled' | 'logprob'): number {
  return mode === 'logprob' ? 1 : 2;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens };
}
