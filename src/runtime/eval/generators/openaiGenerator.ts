// Generation through any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio, em-lab
// serve), with the same retry policy as the judge. Two things make a checkpoint sweep cheap on such a server:
// - `lora`: the checkpoint is registered at run time (vLLM's /v1/load_lora_adapter) when the run starts and
//   unregistered when it ends, so one server answers for every checkpoint in turn;
// - `n`: samples of the same prompt are asked for in one request with n completions. The request carries the
//   first sample's seed; samples are consecutive in the plan, so on a server that gives choice j the seed + j (em-lab
//   serve does) every answer is the one its own seed gives. A server that ignores `n` (returns fewer choices) is
//   detected on the first such reply and asked one answer per request from then on.
import type OpenAI from 'openai';
import { createOpenAIClient, resolveEndpoint, type EndpointConfig, type EndpointEnv } from '../endpoint/openaiEndpoint';
import { MalformedReplyError, withRetries, DEFAULT_RETRY, type RetryPolicy } from '../judge/retry';
import { CancelledError, errorMessage } from '../../errors';
import type { BatchGenerator, EvalChatMessage, EvalSampling, GenerationOutput } from './generator';
import { loadLoraAdapter, unloadLoraAdapter, type LoraAdapterRef } from './loraAdmin';

export interface OpenAIGeneratorOptions {
  /** The model name at the endpoint: the base model when `lora` is given. */
  model: string;
  endpoint: EndpointConfig;
  env: EndpointEnv;
  /** Requests in flight at once. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** An adapter the server loads for this run and answers as `lora.name`. `localPath` is recorded with the answers. */
  lora?: LoraAdapterRef & { localPath: string };
  /** Most completions per request for samples of one prompt (1 = never use `n`). Default 8. */
  n?: number;
  checkpoint?: string;
  step?: number;
  /** Told when an adapter is registered or unregistered (for logs and tests). */
  onLora?: (event: 'loaded' | 'was-loaded' | 'unloaded' | 'was-not-loaded', a: LoraAdapterRef) => void;
}

/** Ids of runs made before adapters and n existed stay the same, so their folders resume. */
export function openAIGeneratorId(model: string, endpoint: string, adapterPath?: string): string {
  return `openai-compatible:${model}${adapterPath ? `+${adapterPath}` : ''}@${endpoint}`;
}

/** Counts in-flight requests across concurrent batches (the pool runs several batches at once). */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export function openAIGenerator(o: OpenAIGeneratorOptions): BatchGenerator {
  let client: OpenAI | undefined;
  const endpoint = resolveEndpoint(o.endpoint, o.env).url;
  const concurrency = o.concurrency ?? 8;
  const maxN = Math.max(1, o.n ?? 8);
  let nWorks = maxN > 1; // until a server shows it ignores n
  const gate = new Gate(concurrency);
  const servedAs = o.lora ? o.lora.name : o.model;
  const getClient = () => (client ??= createOpenAIClient(o.endpoint, o.env));

  /** One request for `n` answers to the same messages; returns exactly what came back (maybe fewer). */
  const request = (messages: EvalChatMessage[], sampling: EvalSampling, seed: number, n: number, signal: AbortSignal) =>
    gate.run(() =>
      withRetries(
        async () => {
          const r = await getClient().chat.completions.create(
            { model: servedAs, messages, temperature: sampling.temperature, top_p: sampling.topP, max_tokens: sampling.maxNewTokens, seed, ...(n > 1 ? { n } : {}) },
            { signal },
          );
          const choices = Array.isArray(r?.choices) ? [...r.choices].sort((a, b) => a.index - b.index) : [];
          if (!choices.length || choices.some((c) => typeof c.message?.content !== 'string')) throw new MalformedReplyError('The endpoint returned a completion without message content.');
          // usage covers the whole request: the prompt once, the completions summed; split the latter evenly.
          const completionEach = r.usage ? Math.round(r.usage.completion_tokens / choices.length) : undefined;
          return choices.map((c, i): GenerationOutput => ({
            text: c.message.content!,
            ...(c.finish_reason ? { finishReason: c.finish_reason } : {}),
            ...(r.usage ? { promptTokens: r.usage.prompt_tokens, completionTokens: completionEach } : {}),
            ...(n > 1 ? { request: { seed, n, choice: i } } : {}),
          }));
        },
        o.retry ?? DEFAULT_RETRY,
        signal,
      ),
    );

  /** Answers for consecutive items with the same messages and consecutive seeds. */
  const answerGroup = async (messages: EvalChatMessage[], seeds: number[], sampling: EvalSampling, signal: AbortSignal): Promise<GenerationOutput[]> => {
    const out: GenerationOutput[] = [];
    while (out.length < seeds.length) {
      const n = nWorks ? Math.min(maxN, seeds.length - out.length) : 1;
      const got = await request(messages, sampling, seeds[out.length]!, n, signal);
      if (n > 1 && got.length < n) nWorks = false; // the server ignores n: one answer per request from now on
      out.push(...got.slice(0, n === 1 ? 1 : got.length));
    }
    return out;
  };

  // Every pending answer comes in one call (the run's continuous-batching path); requests in flight are bounded by
  // the gate, and each group's answers are reported as soon as its requests return.
  const generateBatch: BatchGenerator['generateBatch'] = async (items, sampling, signal, on) => {
    // Group consecutive items that share their messages and have consecutive seeds (the samples of one prompt).
    const groups: { start: number; end: number }[] = [];
    for (let i = 0; i < items.length; i++) {
      const g = groups.at(-1);
      const prev = items[i - 1];
      if (g && prev && items[i]!.seed === prev.seed + 1 && JSON.stringify(items[i]!.messages) === JSON.stringify(prev.messages)) g.end = i + 1;
      else groups.push({ start: i, end: i + 1 });
    }
    const out: GenerationOutput[] = new Array(items.length);
    await Promise.all(
      groups.map(async ({ start, end }) => {
        const group = items.slice(start, end);
        try {
          const answers = await answerGroup(group[0]!.messages, group.map((it) => it.seed), sampling, signal);
          answers.forEach((a, i) => (out[start + i] = a));
        } catch (err) {
          const cut = err instanceof CancelledError || signal.aborted;
          for (let i = start; i < end; i++) out[i] = cut ? { text: '', finishReason: 'cancelled' } : { text: '', error: errorMessage(err) };
        }
        for (let i = start; i < end; i++) on?.answer?.(i, out[i]!);
      }),
    );
    return out;
  };

  let registered = false;
  return {
    id: openAIGeneratorId(o.model, endpoint, o.lora?.localPath),
    info: {
      kind: 'openai-compatible',
      model: o.model,
      endpoint,
      ...(o.lora ? { adapter: o.lora.localPath, servedAs: o.lora.name } : {}),
      ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}),
      ...(o.step !== undefined ? { step: o.step } : {}),
    },
    concurrency,
    batchSize: maxN,
    generateBatch,
    async generate(messages, sampling, seed, signal) {
      const [a] = await generateBatch([{ messages, seed }], sampling, signal);
      if (a!.error) throw new Error(a!.error);
      return a!;
    },
    ...(o.lora
      ? {
          async open(signal: AbortSignal) {
            const r = await withRetries(() => loadLoraAdapter(getClient(), endpoint, o.lora!, signal), o.retry ?? DEFAULT_RETRY, signal);
            registered = true;
            o.onLora?.(r, o.lora!);
          },
          async close() {
            if (!registered) return;
            registered = false;
            const r = await withRetries(() => unloadLoraAdapter(getClient(), o.lora!), o.retry ?? DEFAULT_RETRY, new AbortController().signal);
            o.onLora?.(r, o.lora!);
          },
        }
      : {}),
  };
}
