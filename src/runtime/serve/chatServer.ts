// `em-lab serve`: EM Lab's own engine behind an OpenAI-compatible Chat Completions endpoint on this machine, so
// tools that already speak that protocol (Inspect AI, promptfoo, the paper's evaluation code, the `openai` client,
// and EM Lab's own openai-compatible generator) evaluate a base model and any number of LoRA adapters unchanged.
// Routes: GET /v1/models, POST /v1/chat/completions (streamed as server-sent events or not), and vLLM's
// POST /v1/load_lora_adapter / unload_lora_adapter. Generation goes through the engine's public entry point
// (generateChats), one request at a time in arrival order; the n choices of a request are one batch, choice i
// sampled with seed + i, which is exactly what `em-lab generate --seed S+i` gives.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import type { ModelRef, ModelWeights } from '../../protocol/chatMethods';
import { errorMessage, UserError } from '../errors';
import { generateChats } from '../model/generateChat';
import type { ModelSessions } from '../model/generateSession';
import { randomSeed } from '../model/sampling';
import { ApiError, parseChatRequest, type ParsedChatRequest } from './chatRequest';

export interface ChatServerOptions {
  sessions: ModelSessions;
  /** The base model: `name` is what clients ask for, `model` what the engine loads ('tiny-llama', a folder, a Hub id). */
  base: { name: string; model: string; weights?: ModelWeights };
  /** Served adapter name -> absolute PEFT folder. */
  adapters?: ReadonlyMap<string, string>;
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** max_tokens when a request gives none. */
  defaultMaxTokens?: number;
  /** Allow /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's run-time adapters). Default true. */
  allowAdapterLoading?: boolean;
  log?: (line: string) => void;
}

export interface ChatServer {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseURL: string;
  /** Served names now (base first). */
  models(): string[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

function finishReasonOf(r: string): 'stop' | 'length' {
  return r === 'length' ? 'length' : 'stop'; // eos -> stop; a cancelled answer only happens when the client left
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `Request body over ${MAX_BODY_BYTES} bytes.`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'The request body is not valid JSON.');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startChatServer(o: ChatServerOptions): Promise<ChatServer> {
  const adapters = new Map(o.adapters ?? []);
  const log = o.log ?? (() => undefined);
  const created = Math.floor(Date.now() / 1000);
  const models = () => [o.base.name, ...adapters.keys()];
  const refOf = (name: string): ModelRef => {
    const adapter = adapters.get(name);
    return { model: o.base.model, ...(o.base.weights ? { weights: o.base.weights } : {}), ...(adapter ? { adapter } : {}) };
  };
  // One generation at a time: the engine holds one copy of the weights and a request's n choices are one batch.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!o.apiKey) return true;
    const given = Buffer.from(String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
    const want = Buffer.from(o.apiKey);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const complete = async (p: ParsedChatRequest, res: ServerResponse): Promise<void> => {
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const seed = p.sampling.seed ?? randomSeed();
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(); // the client went away: stop generating
    });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: now, model: p.model, system_fingerprint: 'em-lab', choices, ...extra })}\n\n`);
    const conversations = Array.from({ length: p.n }, () => p.messages);
    const gen = await serialized(async () => {
      if (controller.signal.aborted) return undefined;
      if (p.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-em-lab-seed': String(seed) });
        for (let i = 0; i < p.n; i++) chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
      }
      return generateChats(o.sessions, refOf(p.model), conversations, {
        sampling: { ...p.sampling, seed },
        batchSize: p.n,
        signal: controller.signal,
        ...(p.stream ? { onToken: (item, e) => void (e.delta && chunk([{ index: item, delta: { content: e.delta }, logprobs: null, finish_reason: null }])) } : {}),
      });
    });
    if (!gen || controller.signal.aborted) return;
    const promptTokens = gen.answers[0]?.promptTokens ?? 0;
    const completionTokens = gen.answers.reduce((s, a) => s + a.tokenIds.length, 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    log(`${p.model}: ${p.n} answer(s), seed ${seed}, ${completionTokens} tokens${p.stream ? ', streamed' : ''}`);
    if (p.stream) {
      for (const a of gen.answers) chunk([{ index: a.item, delta: {}, logprobs: null, finish_reason: finishReasonOf(a.finishReason) }]);
      if (p.includeUsage) chunk([], { usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created: now,
      model: p.model,
      system_fingerprint: 'em-lab',
      // Not in OpenAI's schema: the seed choice 0 sampled with (choice i used seed + i), for reproducing an answer.
      seed,
      choices: gen.answers.map((a) => ({ index: a.item, message: { role: 'assistant', content: a.text, refusal: null }, logprobs: null, finish_reason: finishReasonOf(a.finishReason) })),
      usage,
    });
  };

  const loadAdapter = (body: unknown): string => {
    const b = (body ?? {}) as { lora_name?: unknown; lora_path?: unknown };
    if (typeof b.lora_name !== 'string' || !b.lora_name || typeof b.lora_path !== 'string' || !b.lora_path) throw new ApiError(400, 'Expected {"lora_name": NAME, "lora_path": FOLDER}.');
    if (b.lora_name === o.base.name || adapters.has(b.lora_name)) throw new ApiError(400, `The lora adapter '${b.lora_name}' has already been loaded.`, 'lora_name');
    const dir = resolve(b.lora_path);
    if (!isAbsolute(b.lora_path) || !existsSync(join(dir, 'adapter_model.safetensors'))) throw new ApiError(400, `lora_path ${b.lora_path} is not an absolute PEFT adapter folder on this machine (no adapter_model.safetensors).`, 'lora_path');
    adapters.set(b.lora_name, dir);
    log(`loaded adapter ${b.lora_name} from ${dir}`);
    return `Success: LoRA adapter '${b.lora_name}' added successfully.`;
  };

  const unloadAdapter = (body: unknown): string => {
    const name = (body as { lora_name?: unknown } | null)?.lora_name;
    if (typeof name !== 'string' || !adapters.delete(name)) throw new ApiError(400, `The lora adapter '${String(name)}' cannot be found.`, 'lora_name');
    log(`unloaded adapter ${name}`);
    return `Success: LoRA adapter '${name}' removed successfully.`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').replace(/\?.*$/, '');
    if (path === '/health' || path === '/v1/health') return void sendJson(res, 200, { status: 'ok' });
    if (!authorized(req)) throw new ApiError(401, 'Missing or wrong API key: send Authorization: Bearer <the key em-lab serve was started with (EM_LAB_SERVE_API_KEY)>.', null, 'AuthenticationError', 'invalid_api_key');
    if (req.method === 'GET' && path === '/v1/models') {
      return void sendJson(res, 200, {
        object: 'list',
        data: models().map((id) => ({ id, object: 'model', created, owned_by: 'em-lab', root: adapters.get(id) ?? o.base.model, parent: adapters.has(id) ? o.base.name : null })),
      });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return complete(parseChatRequest(await readBody(req), models(), o.defaultMaxTokens ?? 200), res);
    if (req.method === 'POST' && (path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter')) {
      if (o.allowAdapterLoading === false) throw new ApiError(404, 'Loading adapters at run time is off (em-lab serve --no-adapter-loading).');
      const body = await readBody(req);
      const text = path === '/v1/load_lora_adapter' ? loadAdapter(body) : unloadAdapter(body);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
      return;
    }
    throw new ApiError(404, `No route ${req.method} ${path}. em-lab serve has GET /v1/models, POST /v1/chat/completions, POST /v1/load_lora_adapter and /v1/unload_lora_adapter.`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof ApiError ? err : err instanceof UserError ? new ApiError(400, err.message, null, 'invalid_request_error', err.code) : new ApiError(500, `em-lab serve: ${errorMessage(err)}`, null, 'server_error');
      if (e.status >= 500) log(`error: ${e.message}`);
      if (res.headersSent) {
        // Mid-stream: say so in the stream (as OpenAI does) and end it.
        if (!res.destroyed) res.end(`data: ${JSON.stringify(e.body())}\n\n`);
      } else sendJson(res, e.status, e.body());
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new UserError('port-in-use', `Port ${o.port} on ${host} is in use: pick another with --port (0 = any free port).`) : err),
    );
    server.listen(o.port, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    baseURL: `http://${shownHost}:${port}/v1`,
    models,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
