// A chat view (the EM Lab sidebar's chat, or the editor-tab sandbox): one pane, or two answering one prompt box
// (base vs fine-tuned), streaming, stop, sampling controls, an optional system prompt, provenance under every
// answer, export. Browser code: talks to the host through the typed channel (hostRpc.ts).
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeProgressRing, vsCodeTextArea, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { ChatModelEntry, ChatOpenRequest, ChatStreamReplay, ChatSurface, MessageProvenance, PaneId } from '../../src/protocol/chatMethods';
import { initialState, vscodeApi } from '../shared/vscodeApi';
import { onNotification, request } from './hostRpc';
import { defaultEntry, restoreState, sameRef, samplingFromFields, toTranscript, type LoadStatus, type PersistedState, type SamplingFields, type UiMessage } from './state';
import { buildLayout, renderMessages, renderPaneHeader, type Layout } from './view';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeTextArea(), vsCodeTextField());

const surface: ChatSurface = initialState<{ surface?: ChatSurface }>()?.surface ?? 'panel';
const api = vscodeApi<PersistedState>();
// The sidebar is narrow: it starts with one pane (Compare adds the second, stacked below).
const state = restoreState(api.getState(), surface === 'sidebar' ? 'single' : 'two');
let models: ChatModelEntry[] = [];
let modelsError: string | undefined;
const status: Record<PaneId, LoadStatus> = { left: { state: 'idle', text: '' }, right: { state: 'idle', text: '' } };
/** Live streams: which pane and message they fill, how many tokens arrived, whether the user stopped them. */
const streams = new Map<string, { pane: PaneId; message: UiMessage; tokens: number; stopped: boolean }>();
const PANES: PaneId[] = ['left', 'right'];

const save = () => api.setState(state);
const panes = (): PaneId[] => (state.mode === 'two' ? PANES : ['left']);
const problem = (err: unknown) => (err instanceof Error ? err.message : String(err));

const layout: Layout = buildLayout(document.getElementById('app')!, state, surface, {
  onSend: () => sendPrompt(),
  onStop: () => stopAll(),
  onClear: () => {
    for (const p of PANES) state.panes[p].messages = [];
    save();
    renderAll();
  },
  onExport: () =>
    void request('sandbox/export', { transcript: toTranscript(state) }).then(
      (r) => r.path && layout.setNotice(`Exported to ${r.path}`),
      (err) => layout.setNotice(`Export failed: ${problem(err)}`),
    ),
  onModeChange: (two) => {
    state.mode = two ? 'two' : 'single';
    save();
    renderAll();
    if (two) ensureLoaded('right');
  },
  onSystemChange: (text) => {
    state.system = text;
    save();
  },
  onSamplingChange: (field: keyof SamplingFields, value: string) => {
    state.sampling[field] = value;
    save();
  },
  onPick: (pane, entryId) => {
    const entry = models.find((m) => m.id === entryId);
    if (!entry || entry.id === state.panes[pane].entryId) return;
    Object.assign(state.panes[pane], { entryId: entry.id, ref: entry.ref, title: entry.label, label: undefined });
    save();
    load(pane);
  },
  onRefresh: () => refreshModels(),
});

function renderAll(): void {
  layout.setMode(state.mode === 'two');
  for (const p of PANES) {
    renderPaneHeader(layout.panes[p], models, state.panes[p], status[p]);
    renderMessages(layout.panes[p], state.panes[p].messages);
  }
  layout.setModelsError(modelsError);
  layout.setBusy(streams.size > 0);
}

function load(pane: PaneId): void {
  const ref = state.panes[pane].ref;
  if (!ref) return;
  status[pane] = { state: 'loading', text: 'Loading…' };
  renderPaneHeader(layout.panes[pane], models, state.panes[pane], status[pane]);
  request('sandbox/load', { pane, ref }).then(
    (result) => {
      if (!sameRef(ref, state.panes[pane].ref)) return; // the user picked another model meanwhile
      state.panes[pane].label = result.label;
      status[pane] = { state: 'ready', text: `Ready on ${result.device.toUpperCase()}${result.cached ? '' : ` (loaded in ${(result.loadMs / 1000).toFixed(1)} s)`}` };
      save();
      renderPaneHeader(layout.panes[pane], models, state.panes[pane], status[pane]);
    },
    (err) => {
      if (!sameRef(ref, state.panes[pane].ref)) return;
      status[pane] = { state: 'failed', text: problem(err) };
      renderPaneHeader(layout.panes[pane], models, state.panes[pane], status[pane]);
    },
  );
}

function ensureLoaded(pane: PaneId): void {
  if (state.panes[pane].ref && status[pane].state === 'idle') load(pane);
}

function sendPrompt(): void {
  const text = layout.prompt.value.trim();
  if (!text || streams.size > 0) return;
  const sampling = samplingFromFields(state.sampling);
  if (sampling.problem) {
    layout.setNotice(sampling.problem);
    return;
  }
  const targets = panes().filter((p) => state.panes[p].ref);
  if (targets.length === 0) {
    layout.setNotice('Pick a model first.');
    return;
  }
  layout.setNotice(undefined);
  layout.prompt.value = '';
  for (const p of targets) {
    const pane = state.panes[p];
    pane.messages.push({ role: 'user', content: text });
    const history = pane.messages.filter((m) => !m.error && !m.pending).map((m) => ({ role: m.role, content: m.content }));
    const streamId = `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    const message: UiMessage = { role: 'assistant', content: '', streamId, pending: true, request: { sampling: sampling.resolved, ...(state.system ? { system: state.system } : {}) } };
    pane.messages.push(message);
    streams.set(streamId, { pane: p, message, tokens: 0, stopped: false });
    request('sandbox/generate', { pane: p, streamId, ref: pane.ref!, messages: history, ...(state.system ? { system: state.system } : {}), sampling: sampling.settings }).catch((err) => finish(streamId, undefined, undefined, problem(err)));
  }
  save();
  renderAll();
}

function stopAll(): void {
  for (const [id, s] of streams) {
    s.stopped = true;
    void request('sandbox/stop', { streamId: id }).catch(() => undefined);
  }
}

function finish(streamId: string, provenance: MessageProvenance | undefined, text: string | undefined, error?: string): void {
  const s = streams.get(streamId);
  const message = s?.message ?? findMessage(streamId);
  if (!message) return;
  message.pending = false;
  delete message.request;
  if (text !== undefined) message.content = text;
  if (provenance) message.provenance = provenance;
  if (error) message.error = error;
  streams.delete(streamId);
  save();
  renderAll();
}

function findMessage(streamId: string): UiMessage | undefined {
  for (const p of PANES) {
    const m = state.panes[p].messages.find((x) => x.streamId === streamId);
    if (m) return m;
  }
  return undefined;
}

/** A stopped answer: the host gives no result (cancel rejects the request), so the view labels it itself. */
function stoppedProvenance(streamId: string): MessageProvenance | undefined {
  const s = streams.get(streamId);
  const label = s && state.panes[s.pane].label;
  const req = s?.message.request;
  if (!s || !label || !req) return undefined;
  return { label, sampling: req.sampling, ...(req.system ? { system: req.system } : {}), finishReason: 'cancelled', newTokens: s.tokens, decodeTokensPerSecond: 0, finishedAt: new Date().toISOString() };
}

function refreshModels(): void {
  void request('sandbox/listModels', {}).then((r) => applyModels(r.models, r.error), (err) => applyModels(models, problem(err)));
}

function applyModels(list: ChatModelEntry[], error: string | undefined): void {
  models = list;
  modelsError = error;
  for (const p of PANES) {
    const pane = state.panes[p];
    if (!pane.ref) {
      const entry = defaultEntry(models, p);
      if (entry) Object.assign(pane, { ref: entry.ref, entryId: entry.id, title: entry.label });
    } else if (!pane.entryId) {
      const entry = models.find((m) => sameRef(m.ref, pane.ref));
      if (entry) Object.assign(pane, { entryId: entry.id, title: entry.label });
    }
  }
  save();
  renderAll();
  for (const p of panes()) ensureLoaded(p);
}

/** A command's request: models for the panes (Open in Chat: base left, checkpoint right), a prompt to ask. */
function applyOpen(open: ChatOpenRequest): void {
  // The host may deliver one request twice (pushed, and again with the next init): apply each id once.
  if (open.id !== undefined) {
    if (open.id <= (state.lastOpenId ?? 0)) return;
    state.lastOpenId = open.id;
  }
  const put = (p: PaneId, ref: NonNullable<ChatOpenRequest['left']>) => {
    const entry = models.find((m) => sameRef(m.ref, ref));
    const title = entry?.label ?? (ref.adapter ? `${ref.model} + ${ref.adapter.split(/[\\/]/).slice(-3).join('/')}` : ref.model);
    state.panes[p] = { ...state.panes[p], ref, title, label: undefined, entryId: entry?.id };
    status[p] = { state: 'idle', text: '' };
    load(p);
  };
  if (open.left) put('left', open.left);
  if (open.right) {
    put('right', open.right);
    state.mode = 'two';
  }
  save();
  renderAll();
  // A checkpoint newer than the list (an experiment that trained since this page loaded): list again, so the
  // picker shows it as listed (applyModels labels panes that have no entry yet).
  if ([open.left, open.right].some((ref) => ref && !models.some((m) => sameRef(m.ref, ref)))) refreshModels();
  if (open.prompt !== undefined) {
    layout.prompt.value = open.prompt;
    if (open.send) sendPrompt();
    else layout.prompt.focus();
  }
}

/** Streams that ran while this page did not exist; a pending answer the host does not know any more was lost. */
function applyReplay(replays: ChatStreamReplay[]): void {
  const known = new Set(replays.map((r) => r.streamId));
  for (const p of PANES) {
    for (const m of state.panes[p].messages) {
      if (m.pending && m.streamId && !known.has(m.streamId)) {
        m.pending = false;
        m.error = 'Interrupted: the view was closed while this answer was being written.';
      }
    }
  }
  for (const r of replays) {
    const m = findMessage(r.streamId);
    if (!m) continue;
    m.content = r.text;
    const pane = PANES.find((p) => state.panes[p].messages.includes(m))!;
    streams.set(r.streamId, { pane, message: m, tokens: 0, stopped: false });
    if (r.result) {
      const x = r.result;
      finish(r.streamId, { label: x.label, sampling: x.sampling, finishReason: x.finishReason, newTokens: x.newTokens, decodeTokensPerSecond: x.decodeTokensPerSecond, finishedAt: new Date().toISOString() }, x.text);
    } else if (r.failed) finish(r.streamId, undefined, undefined, r.failed);
  }
  save();
  renderAll();
}

onNotification('sandbox/open', applyOpen);
onNotification('sandbox/loadProgress', (p) => {
  if (!sameRef(p.ref, state.panes[p.pane].ref)) return; // a load for a model the pane no longer shows
  status[p.pane] = { state: 'loading', text: p.message, ...(p.fraction !== undefined ? { fraction: p.fraction } : {}) };
  renderPaneHeader(layout.panes[p.pane], models, state.panes[p.pane], status[p.pane]);
});
onNotification('sandbox/token', (p) => {
  const s = streams.get(p.streamId);
  if (!s) return;
  s.message.content += p.delta;
  s.tokens++;
  layout.appendDelta(s.pane, p.streamId, s.message.content);
});
onNotification('sandbox/done', ({ streamId, result: r }) => {
  const system = streams.get(streamId)?.message.request?.system;
  finish(streamId, { label: r.label, sampling: r.sampling, ...(system ? { system } : {}), finishReason: r.finishReason, newTokens: r.newTokens, decodeTokensPerSecond: r.decodeTokensPerSecond, finishedAt: new Date().toISOString() }, r.text);
});
onNotification('sandbox/failed', ({ streamId, message }) => {
  if (streams.get(streamId)?.stopped) finish(streamId, stoppedProvenance(streamId), undefined);
  else finish(streamId, undefined, undefined, message);
});

renderAll();
request('sandbox/init', {}).then(
  (init) => {
    applyReplay(init.streams);
    applyModels(init.models, init.modelsError);
    if (init.open) applyOpen(init.open);
  },
  (err) => applyModels([], problem(err)),
);
