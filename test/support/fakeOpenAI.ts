// A local stand-in for an OpenAI-compatible Chat Completions server (node:http on 127.0.0.1), used by the unit
// tests, the judge bench and the e2e scenario so the REAL `openai` client is exercised end to end. It serves
// plain replies and logprob replies, limits concurrency (429 + Retry-After beyond it), adds latency, and injects
// faults on demand: 429, 500, hangs past the client's timeout, and malformed bodies. It counts everything.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeChatRequest {
  model: string;
  /** The last user message's text (the judge prompt, or the question for a generator). */
  prompt: string;
  /** The full request body, parsed. */
  body: Record<string, unknown>;
  wantsLogprobs: boolean;
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
}

export interface FakeOpenAI {
  baseURL: string;
  stats: FakeOpenAIStats;
  okTotal(): number;
  close(): Promise<void>;
}

/** A number for judge prompts (derived from the text, so stable), an echo for anything else. */
export function defaultReply(req: FakeChatRequest): FakeReply {
  let h = 0;
  for (const ch of req.prompt) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const score = h % 101;
  if (req.wantsLogprobs) return { topLogprobs: [{ token: String(score), logprob: 0 }] };
  if (/ANSWER/.test(req.prompt)) return { content: String(score) };
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

function completion(model: string, reply: FakeReply, promptChars: number): Record<string, unknown> {
  const content = 'content' in reply ? reply.content : (reply.topLogprobs[0]?.token ?? '');
  const logprobs =
    'topLogprobs' in reply
      ? { content: [{ token: content, logprob: reply.topLogprobs[0]?.logprob ?? 0, bytes: null, top_logprobs: reply.topLogprobs.map((t) => ({ ...t, bytes: null })) }], refusal: null }
      : null;
  const completionTokens = Math.max(1, Math.ceil(content.length / 4));
  return {
    id: `chatcmpl-fake-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs, finish_reason: 'stop' }],
    usage: { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: completionTokens, total_tokens: Math.ceil(promptChars / 4) + completionTokens },
  };
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const started = Date.now();
  const stats: FakeOpenAIStats = { requests: 0, okByPrompt: new Map(), rateLimited: 0, serverErrors: 0, hung: 0, malformed: 0, maxInFlight: 0, arrivalsByPrompt: new Map() };
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
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      send(res, 404, JSON.stringify({ error: { message: `fake server: no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
      return;
    }
    stats.requests++;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const chat: FakeChatRequest = { model: String(body.model ?? ''), prompt: lastUserText(body), body, wantsLogprobs: body.logprobs === true };
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
        const reply = (options.reply ?? defaultReply)(chat);
        if (send(res, 200, JSON.stringify(completion(chat.model, reply, chat.prompt.length)))) {
          stats.okByPrompt.set(chat.prompt, (stats.okByPrompt.get(chat.prompt) ?? 0) + 1);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
