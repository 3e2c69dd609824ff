// Validation of what the chat webview posts (untrusted input): shapes, sizes, and which model references it may
// ask the runtime to load. Pure functions (no vscode), tested in test/unit.
import { absolutePathProblem, isAbsolutePath } from '../../protocol/pathRules';
import type { ChatMessage, ChatViewToHost, ModelRef, PaneId, SamplingSettings, Transcript } from '../../protocol/chatMethods';

const MAX_TEXT = 200_000; // characters per message: far above any prompt, small enough to refuse junk
const MAX_MESSAGES = 500;

export class ViewMessageError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ViewMessageError(`${what} must be an object`);
  return v as Obj;
}
function str(v: unknown, what: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length > max) throw new ViewMessageError(`${what} must be a string of at most ${max} characters`);
  return v;
}
function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === '' ? undefined : str(v, what);
}
function pane(v: unknown): PaneId {
  if (v !== 'left' && v !== 'right') throw new ViewMessageError('pane must be "left" or "right"');
  return v;
}
function optNum(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ViewMessageError(`${what} must be a finite number`);
  return v;
}

/** tiny-llama, an absolute folder, or a Hub id (owner/name); adapters are absolute folders. */
export function validateModelRef(v: unknown): ModelRef {
  const o = obj(v, 'ref');
  const model = str(o.model, 'ref.model', 1000);
  const hubId = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(model) && !model.split('/').includes('..');
  if (model !== 'tiny-llama' && !isAbsolutePath(model) && !hubId) throw new ViewMessageError(`ref.model "${model}" is not tiny-llama, an absolute folder or a Hub id`);
  const modelProblem = isAbsolutePath(model) ? absolutePathProblem(model, 'ref.model') : undefined;
  if (modelProblem) throw new ViewMessageError(modelProblem);
  const adapter = optStr(o.adapter, 'ref.adapter');
  const adapterProblem = adapter === undefined ? undefined : absolutePathProblem(adapter, 'ref.adapter');
  if (adapterProblem) throw new ViewMessageError(`${adapterProblem} (an absolute folder path)`);
  return adapter !== undefined ? { model, adapter } : { model };
}

function messages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MESSAGES) throw new ViewMessageError(`messages must be a list of 1..${MAX_MESSAGES}`);
  return v.map((m, i) => {
    const o = obj(m, `messages[${i}]`);
    if (o.role !== 'system' && o.role !== 'user' && o.role !== 'assistant') throw new ViewMessageError(`messages[${i}].role is invalid`);
    return { role: o.role, content: str(o.content, `messages[${i}].content`) };
  });
}

function sampling(v: unknown): SamplingSettings {
  const o = v === undefined ? {} : obj(v, 'sampling');
  const out: SamplingSettings = {};
  for (const k of ['temperature', 'topP', 'topK', 'maxNewTokens', 'seed'] as const) {
    const n = optNum(o[k], `sampling.${k}`);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function transcript(v: unknown): Transcript {
  const o = obj(v, 'transcript');
  if (o.schemaVersion !== 1 || !Array.isArray(o.panes) || o.panes.length > 2) throw new ViewMessageError('transcript must have schemaVersion 1 and at most 2 panes');
  // The transcript is only written to a file the user picks; its content is checked for size, not meaning.
  const size = JSON.stringify(o).length;
  if (size > MAX_TEXT * 20) throw new ViewMessageError('transcript is too large to export');
  return o as unknown as Transcript;
}

export function parseChatViewMessage(raw: unknown): ChatViewToHost {
  const o = obj(raw, 'message');
  switch (o.type) {
    case 'ready':
    case 'refreshModels':
      return { type: o.type };
    case 'load':
      return { type: 'load', pane: pane(o.pane), ref: validateModelRef(o.ref) };
    case 'generate': {
      const system = optStr(o.system, 'system');
      return {
        type: 'generate',
        pane: pane(o.pane),
        streamId: str(o.streamId, 'streamId', 100),
        ref: validateModelRef(o.ref),
        messages: messages(o.messages),
        ...(system !== undefined ? { system } : {}),
        sampling: sampling(o.sampling),
      };
    }
    case 'stop':
      return { type: 'stop', streamId: str(o.streamId, 'streamId', 100) };
    case 'export':
      if (o.format !== 'markdown' && o.format !== 'json') throw new ViewMessageError('format must be markdown or json');
      return { type: 'export', format: o.format, transcript: transcript(o.transcript) };
    default:
      throw new ViewMessageError(`unknown message type ${JSON.stringify(o.type)}`);
  }
}
