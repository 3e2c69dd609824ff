// A Chat Completions request body, checked and turned into what EM Lab's engine takes. What the engine cannot do
// (tools, logprobs, stop strings, penalties, JSON mode) is refused with OpenAI's error shape naming the parameter,
// rather than silently ignored: an evaluation that asked for a stop string must not get answers without one.
import type { ChatMessage, SamplingSettings } from '../../protocol/chatMethods';

/** An error to send back as {error: {message, type, param, code}} with this HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status === 404 ? 'NotFoundError' : status === 401 ? 'AuthenticationError' : 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface ParsedChatRequest {
  model: string;
  messages: ChatMessage[];
  sampling: SamplingSettings;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

/** Most completions one request may ask for (they are generated as one batch). */
export const MAX_N = 64;

function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (p?.type === 'text' && typeof p.text === 'string') return p.text;
        throw new ApiError(400, `${where}.content[${i}]: only text parts are supported (got type ${JSON.stringify(p?.type)}).`, 'messages');
      })
      .join('');
  }
  throw new ApiError(400, `${where}.content must be a string or a list of text parts.`, 'messages');
}

function numberField(body: Record<string, unknown>, name: string, check: (v: number) => boolean, rule: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new ApiError(400, `${name} must be ${rule} (got ${JSON.stringify(v)}).`, name);
  return v;
}

/** Parameters that change what a model returns and that this engine does not implement: refused unless neutral. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  stop: (v) => v === null || (Array.isArray(v) && v.length === 0),
  logprobs: (v) => v === false || v === null,
  top_logprobs: (v) => v === null || v === 0,
  tools: (v) => v === null || (Array.isArray(v) && v.length === 0),
  tool_choice: (v) => v === null || v === 'none',
  functions: (v) => v === null,
  function_call: (v) => v === null || v === 'none',
  presence_penalty: (v) => v === null || v === 0,
  frequency_penalty: (v) => v === null || v === 0,
  logit_bias: (v) => v === null || (typeof v === 'object' && Object.keys(v as object).length === 0),
  response_format: (v) => v === null || (typeof v === 'object' && (v as { type?: unknown }).type === 'text'),
};

export function parseChatRequest(raw: unknown, servedModels: readonly string[], defaultMaxTokens: number): ParsedChatRequest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ApiError(400, 'The request body must be a JSON object.');
  const body = raw as Record<string, unknown>;
  const model = body.model;
  if (typeof model !== 'string' || !model) throw new ApiError(400, '"model" is required: one of ' + servedModels.join(', ') + '.', 'model');
  if (!servedModels.includes(model)) throw new ApiError(404, `The model \`${model}\` does not exist. This server has: ${servedModels.join(', ')} (GET /v1/models).`, 'model', 'NotFoundError', 'model_not_found');
  for (const [name, neutral] of Object.entries(UNSUPPORTED)) {
    if (body[name] !== undefined && !neutral(body[name])) throw new ApiError(400, `${name} is not supported by em-lab serve (EM Lab's engine samples plain text). Leave it out.`, name);
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new ApiError(400, '"messages" must be a non-empty list of {role, content}.', 'messages');
  const messages = body.messages.map((m, i): ChatMessage => {
    const where = `messages[${i}]`;
    const role = (m as { role?: unknown } | null)?.role;
    // "developer" is OpenAI's newer name for the system role.
    const r = role === 'developer' ? 'system' : role;
    if (r !== 'system' && r !== 'user' && r !== 'assistant') throw new ApiError(400, `${where}.role ${JSON.stringify(role)} is not supported: use system, user or assistant.`, 'messages');
    return { role: r, content: textOf((m as { content?: unknown }).content, where) };
  });
  if (messages.at(-1)!.role !== 'user') throw new ApiError(400, 'The last message must be from "user": the model answers it.', 'messages');
  const maxTokens = numberField(body, 'max_completion_tokens', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1') ?? numberField(body, 'max_tokens', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
  const n = numberField(body, 'n', (v) => Number.isInteger(v) && v >= 1 && v <= MAX_N, `an integer from 1 to ${MAX_N}`) ?? 1;
  const temperature = numberField(body, 'temperature', (v) => v >= 0 && v <= 2, 'a number from 0 to 2');
  const topP = numberField(body, 'top_p', (v) => v > 0 && v <= 1, 'in (0, 1]');
  const topK = numberField(body, 'top_k', (v) => Number.isInteger(v) && v >= -1, 'an integer >= 0 (-1 or 0 = off)');
  const seed = numberField(body, 'seed', (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, 'an integer in [0, 4294967295]');
  const stream = body.stream === true;
  const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
  return {
    model,
    messages,
    sampling: {
      maxNewTokens: maxTokens ?? defaultMaxTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topP !== undefined ? { topP } : {}),
      ...(topK !== undefined ? { topK: Math.max(0, topK) } : {}),
      ...(seed !== undefined ? { seed } : {}),
    },
    n,
    stream,
    includeUsage: stream && opts?.include_usage === true,
  };
}
