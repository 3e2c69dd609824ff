// Generation through any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio), with
// the same retry policy as the judge.
import type OpenAI from 'openai';
import { createOpenAIClient, resolveEndpoint, type EndpointConfig, type EndpointEnv } from '../endpoint/openaiEndpoint';
import { MalformedReplyError, withRetries, DEFAULT_RETRY, type RetryPolicy } from '../judge/retry';
import type { Generator } from './generator';

export interface OpenAIGeneratorOptions {
  model: string;
  endpoint: EndpointConfig;
  env: EndpointEnv;
  concurrency?: number;
  retry?: RetryPolicy;
}

export function openAIGenerator(o: OpenAIGeneratorOptions): Generator {
  let client: OpenAI | undefined;
  const endpoint = resolveEndpoint(o.endpoint, o.env).url;
  return {
    id: `openai-compatible:${o.model}@${endpoint}`,
    info: { kind: 'openai-compatible', model: o.model, endpoint },
    concurrency: o.concurrency ?? 8,
    async generate(messages, sampling, seed, signal) {
      client ??= createOpenAIClient(o.endpoint, o.env);
      const c = client;
      return withRetries(
        async () => {
          const r = await c.chat.completions.create({ model: o.model, messages, temperature: sampling.temperature, top_p: sampling.topP, max_tokens: sampling.maxNewTokens, seed }, { signal });
          const choice = r?.choices?.[0];
          if (!choice || typeof choice.message?.content !== 'string') throw new MalformedReplyError('The endpoint returned a completion without message content.');
          return { text: choice.message.content, finishReason: choice.finish_reason, promptTokens: r.usage?.prompt_tokens, completionTokens: r.usage?.completion_tokens };
        },
        o.retry ?? DEFAULT_RETRY,
        signal,
      );
    },
  };
}
