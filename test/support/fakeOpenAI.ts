// A local stand-in for an OpenAI-compatible Chat Completions server (node:http on 127.0.0.1), used by the unit
// tests, the judge bench and the e2e scenario so the REAL `openai` client is exercised end to end. It serves
// plain replies and logprob replies (`n` choices when asked), limits concurrency (429 + Retry-After beyond it), adds
// latency, and injects faults on demand: 429, 500, hangs past the client's timeout, and malformed bodies. Optionally
// it speaks vLLM's run-time LoRA endpoints (`lora`) and OpenAI's Files + Batches API (`batches`,
// fakeOpenAIBatches.ts). It counts everything.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fakeBatchApi, type FakeBatchOptions, type FakeBatchStats } from './fakeOpenAIBatches';

export interface FakeChatRequest {
  model: string;
  /** The last user message's text (the judge prompt, or the question for a generator). */
  prompt: string;
  /** The full request body, parsed. */
  body: Record<string, unknown>;
  wantsLogprobs: boolean;
  /** Which of the request's n choices this reply is (0 for n = 1). */
  choice: number;
  /** The request's seed, if any. */
  seed?: number;
}

export type FakeReply = { content: string } | { topLogprobs: { token: string; logprob: number }[] };

export type FakeFault = 'rate-limit' | 'server-error' | 'hang' | 'malformed-json' | 'no-choices' | 'unauthorized';

export interface FakeOpenAIOptions {
  /** Delay before each successful reply (ms). */
  latencyMs?: number;
  /** Requests in flight beyond this get 429 with Retry-After. Default: unlimited. */
  maxConcurrent?: number;
  /** Sent as retry-after-ms (and retry-after in whole seconds, rounded up) with every 429. Default 50 ms. */
  retryAfterMs?: number;
  /** The reply to a request that is not faulted. Default: see defaultReply. */
  reply?: (req: FakeChatRequest) => FakeReply;
  /** Fault to inject for this request; `attempt` counts earlier requests with the same prompt (0 = first). */
  fault?: (req: FakeChatRequest, attempt: number) => FakeFault | undefined;
  /** vLLM's /v1/load_lora_adapter and /v1/unload_lora_adapter; chat for a model that is neither a base model nor loaded gets 404. */
  lora?: { baseModels: string[] };
  /** false: answer one choice whatever `n` asks (as Ollama does). Default true. */
  supportsN?: boolean;
  /** OpenAI's /v1/files and /v1/batches (answers from the same `reply`). */
  batches?: FakeBatchOptions;
}

export interface FakeOpenAIStats {
  requests: number;
  /** Successful replies per prompt: the "judged exactly once" count. */
  okByPrompt: Map<string, number>;
  rateLimited: number;
  serverErrors: number;
  hung: number;
  malformed: number;
  maxInFlight: number;
  /** When each prompt's requests arrived (ms since server start), to check Retry-After was honoured. */
  arrivalsByPrompt: Map<string, number[]>;
  /** Every load/unload call, in order, with what the server answered. */
  loraCalls: { op: 'load' | 'unload'; name: string; path?: string; status: number }[];
  /** Chat completions answered per model name, and the choices (answers) in them. */
  chatsByModel: Map<string, number>;
  choicesByModel: Map<string, number>;
  /** Chat requests for a model the server did not have loaded at that moment (404). */
  unknownModel: number;
  batch: FakeBatchStats;
}

export interface FakeOpenAI {
  baseURL: string;
  stats: FakeOpenAIStats;
  okTotal(): number;
  /** LoRA adapters loaded now (name -> path). */
  loraLoaded(): Map<string, string>;
  close(): Promise<void>;
}

/**
 * A number for judge prompts (derived from the text, so stable), an echo for anything else: it names the model and,
 * when the request has a seed, the seed choice j samples with (seed + j, as em-lab serve does), so a test can tell
 * which adapter and which seed produced an answer.
 */
export function defaultReply(req: FakeChatRequest): FakeReply {
  let h = 0;
  for (const ch of req.prompt) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const score = h % 101;
  if (req.wantsLogprobs) return { topLogprobs: [{ token: String(score), logprob: 0 }] };
  if (/ANSWER/.test(req.prompt)) return { content: String(score) };
  if (req.seed !== undefined) return { content: `A fake answer from ${req.model} with seed ${req.seed + req.choice} to: ${req.prompt.slice(0, 80)}` };
  return { content: `A fake answer to: ${req.prompt.slice(0, 80)}` };
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const user = [...messages].reverse().find((m) => m.role === 'user');
  const c = user?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : '')).join('');
  return '';
}

/** The request as the reply function sees it, for choice `choice`. */
export function chatRequestOf(body: Record<string, unknown>, choice = 0): FakeChatRequest {
  return { model: String(body.model ?? ''), prompt: lastUserText(body), body, wantsLogprobs: body.logprobs === true, choice, ...(typeof body.seed === 'number' ? { seed: body.seed } : {}) };
}

/** The chat.completion the fake answers to `body` (live, and in a batch's output file). */
export function completion(body: Record<string, unknown>, reply: (req: FakeChatRequest) => FakeReply, n = 1): Record<string, unknown> {
  const first = chatRequestOf(body);
  let completionTokens = 0;
  const choices = Array.from({ length: n }, (_, i) => {
    const r = reply(chatRequestOf(body, i));
    const content = 'content' in r ? r.content : (r.topLogprobs[0]?.token ?? '');
    const logprobs = 'topLogprobs' in r ? { content: [{ token: content, logprob: r.topLogprobs[0]?.logprob ?? 0, bytes: null, top_logprobs: r.topLogprobs.map((t) => ({ ...t, bytes: null })) }], refusal: null } : null;
    completionTokens += Math.max(1, Math.ceil(content.length / 4));
    return { index: i, message: { role: 'assistant', content, refusal: null }, logprobs, finish_reason: 'stop' };
  });
  const promptTokens = Math.ceil(first.prompt.length / 4);
  return {
    id: `chatcmpl-fake-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: first.model,
    choices,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const started = Date.now();
  const reply = options.reply ?? defaultReply;
  const batchApi = options.batches ? fakeBatchApi(options.batches, (body) => completion(body, reply), (body) => chatRequestOf(body)) : undefined;
  const stats: FakeOpenAIStats = {
    requests: 0,
    okByPrompt: new Map(),
    rateLimited: 0,
    serverErrors: 0,
    hung: 0,
    malformed: 0,
    maxInFlight: 0,
    arrivalsByPrompt: new Map(),
    loraCalls: [],
    chatsByModel: new Map(),
    choicesByModel: new Map(),
    unknownModel: 0,
    batch: batchApi?.stats ?? { uploads: 0, created: 0, retrieves: 0, downloads: 0, linesAnswered: 0, byStatus: {} },
  };
  const loaded = new Map<string, string>(); // lora name -> path
  const seen = new Map<string, number>();
  let inFlight = 0;
  const retryAfterMs = options.retryAfterMs ?? 50;

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (res.destroyed) return false;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const path = (req.url ?? '').replace(/\?.*$/, '').replace(/^\/v1/, '');
    if (options.lora && req.method === 'POST' && (path === '/load_lora_adapter' || path === '/unload_lora_adapter')) {
      const b = JSON.parse(raw.toString('utf8')) as { lora_name?: string; lora_path?: string };
      const name = String(b.lora_name ?? '');
      // vLLM's replies: plain-text success, 400 with an error object for a second load or an unknown unload.
      if (path === '/load_lora_adapter') {
        const status = loaded.has(name) ? 400 : 200;
        stats.loraCalls.push({ op: 'load', name, path: String(b.lora_path ?? ''), status });
        if (status === 400) send(res, 400, JSON.stringify({ object: 'error', message: `The lora adapter '${name}' has already been loaded.`, type: 'BadRequestError', code: 400 }));
        else {
          loaded.set(name, String(b.lora_path ?? ''));
          res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' added successfully.`);
        }
      } else {
        const status = loaded.delete(name) ? 200 : 400;
        stats.loraCalls.push({ op: 'unload', name, status });
        if (status === 400) send(res, 400, JSON.stringify({ object: 'error', message: `The lora adapter '${name}' cannot be found.`, type: 'BadRequestError', code: 400 }));
        else res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' removed successfully.`);
      }
      return;
    }
    if (batchApi && (await batchApi.handle(req, path, raw, res))) return;
    if (req.method !== 'POST' || path !== '/chat/completions') {
      send(res, 404, JSON.stringify({ error: { message: `fake server: no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
      return;
    }
    stats.requests++;
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const chat = chatRequestOf(body);
    if (options.lora && !options.lora.baseModels.includes(chat.model) && !loaded.has(chat.model)) {
      stats.unknownModel++;
      send(res, 404, JSON.stringify({ object: 'error', message: `The model \`${chat.model}\` does not exist.`, type: 'NotFoundError', code: 404 }));
      return;
    }
    const attempt = seen.get(chat.prompt) ?? 0;
    seen.set(chat.prompt, attempt + 1);
    const arrivals = stats.arrivalsByPrompt.get(chat.prompt) ?? [];
    arrivals.push(Date.now() - started);
    stats.arrivalsByPrompt.set(chat.prompt, arrivals);

    if (options.maxConcurrent !== undefined && inFlight >= options.maxConcurrent) {
      stats.rateLimited++;
      send(res, 429, JSON.stringify({ error: { message: 'Rate limit reached (fake server).', type: 'rate_limit_error' } }), { 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.ceil(retryAfterMs / 1000)) });
      return;
    }
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    try {
      const fault = options.fault?.(chat, attempt);
      if (fault === 'hang') {
        stats.hung++;
        await new Promise<void>((resolve) => res.on('close', () => resolve())); // never answers; the client must time out
        return;
      }
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (fault === 'rate-limit') {
        stats.rateLimited++;
        send(res, 429, JSON.stringify({ error: { message: 'Rate limit reached (injected).', type: 'rate_limit_error' } }), { 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.ceil(retryAfterMs / 1000)) });
      } else if (fault === 'server-error') {
        stats.serverErrors++;
        send(res, 500, JSON.stringify({ error: { message: 'Internal server error (injected).', type: 'server_error' } }));
      } else if (fault === 'unauthorized') {
        send(res, 401, JSON.stringify({ error: { message: 'Incorrect API key provided (fake server).', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      } else if (fault === 'malformed-json') {
        stats.malformed++;
        send(res, 200, '{"id": "chatcmpl-broken", "choices": [ {"index": 0, "mess');
      } else if (fault === 'no-choices') {
        stats.malformed++;
        send(res, 200, JSON.stringify({ id: 'chatcmpl-empty', object: 'chat.completion', choices: [] }));
      } else {
        const n = options.supportsN === false ? 1 : typeof body.n === 'number' ? body.n : 1;
        if (send(res, 200, JSON.stringify(completion(body, reply, n)))) {
          stats.okByPrompt.set(chat.prompt, (stats.okByPrompt.get(chat.prompt) ?? 0) + 1);
          stats.chatsByModel.set(chat.model, (stats.chatsByModel.get(chat.model) ?? 0) + 1);
          stats.choicesByModel.set(chat.model, (stats.choicesByModel.get(chat.model) ?? 0) + n);
        }
      }
    } finally {
      inFlight--;
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, JSON.stringify({ error: { message: `fake server crashed: ${String(err)}` } })));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    stats,
    okTotal: () => [...stats.okByPrompt.values()].reduce((a, b) => a + b, 0),
    loraLoaded: () => new Map(loaded),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
