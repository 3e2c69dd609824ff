// Shape checks for what the chat views send (untrusted): which model references they may ask the runtime to load,
// conversation sizes, sampling numbers, exports. Pure functions (no vscode), tested in test/unit.
import type { ChatMessage, ChatViewGenerateParams, ChatViewMethods, ModelRef, PaneId, SamplingSettings, Transcript } from '../../protocol/chatMethods';
import { absolutePathProblem, isAbsolutePath } from '../../protocol/pathRules';
import { ViewRequestError } from '../../host/viewChannel';
import { MAX_TEXT, obj, oneOf, optNum, optStr, str } from '../../host/viewParams';

const MAX_MESSAGES = 500;

const pane = (v: unknown): PaneId => oneOf(v, 'pane', ['left', 'right'] as const);

/** tiny-llama, an absolute folder, or a Hub id (owner/name); adapters are absolute folders. */
export function validateModelRef(v: unknown): ModelRef {
  const o = obj(v, 'ref');
  const model = str(o.model, 'ref.model', 1000);
  const hubId = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(model) && !model.split('/').includes('..');
  if (model !== 'tiny-llama' && !isAbsolutePath(model) && !hubId) throw new ViewRequestError(`ref.model "${model}" is not tiny-llama, an absolute folder or a Hub id`);
  const modelProblem = isAbsolutePath(model) ? absolutePathProblem(model, 'ref.model') : undefined;
  if (modelProblem) throw new ViewRequestError(modelProblem);
  const adapter = optStr(o.adapter, 'ref.adapter');
  const adapterProblem = adapter === undefined ? undefined : absolutePathProblem(adapter, 'ref.adapter');
  if (adapterProblem) throw new ViewRequestError(`${adapterProblem} (an absolute folder path)`);
  return adapter !== undefined ? { model, adapter } : { model };
}

function messages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MESSAGES) throw new ViewRequestError(`messages must be a list of 1..${MAX_MESSAGES}`);
  return v.map((m, i) => {
    const o = obj(m, `messages[${i}]`);
    return { role: oneOf(o.role, `messages[${i}].role`, ['system', 'user', 'assistant'] as const), content: str(o.content, `messages[${i}].content`) };
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
  if (o.schemaVersion !== 1 || !Array.isArray(o.panes) || o.panes.length > 2) throw new ViewRequestError('transcript must have schemaVersion 1 and at most 2 panes');
  // The transcript is only written to a file the user picks; its content is checked for size, not meaning.
  if (JSON.stringify(o).length > MAX_TEXT * 20) throw new ViewRequestError('transcript is too large to export');
  return o as unknown as Transcript;
}

export function parseLoad(raw: unknown): ChatViewMethods['sandbox/load'][0] {
  const o = obj(raw);
  return { pane: pane(o.pane), ref: validateModelRef(o.ref) };
}

export function parseGenerate(raw: unknown): ChatViewGenerateParams {
  const o = obj(raw);
  const system = optStr(o.system, 'system');
  return {
    pane: pane(o.pane),
    streamId: str(o.streamId, 'streamId', 100),
    ref: validateModelRef(o.ref),
    messages: messages(o.messages),
    ...(system !== undefined ? { system } : {}),
    sampling: sampling(o.sampling),
  };
}

export function parseStop(raw: unknown): ChatViewMethods['sandbox/stop'][0] {
  return { streamId: str(obj(raw).streamId, 'streamId', 100) };
}

export function parseExport(raw: unknown): ChatViewMethods['sandbox/export'][0] {
  const o = obj(raw);
  const t = transcript(o.transcript);
  return o.format === undefined ? { transcript: t } : { format: oneOf(o.format, 'format', ['markdown', 'json'] as const), transcript: t };
}
