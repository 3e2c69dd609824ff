// The chat sandbox webview: two panes (or one) answering one prompt box, streaming, stop, sampling controls, an
// optional system prompt, provenance under every answer, export. Browser code: talks to the host by postMessage.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeProgressRing, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { ChatHostToView, ChatModelEntry, ChatViewToHost, MessageProvenance, ModelRef, PaneId } from '../../src/protocol/chatMethods';
import { el, vscodeApi } from '../shared/vscodeApi';
import { defaultEntry, restoreState, sameRef, samplingFromFields, toTranscript, type LoadStatus, type PersistedState, type SamplingFields, type UiMessage } from './state';
import { buildLayout, renderMessages, renderPaneHeader, type Layout } from './view';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeTextField());

const api = vscodeApi<PersistedState>();
const state = restoreState(api.getState());
let models: ChatModelEntry[] = [];
let modelsError: string | undefined;
const status: Record<PaneId, LoadStatus> = { left: { state: 'idle', text: '' }, right: { state: 'idle', text: '' } };
/** Live streams: which pane and message they fill, how many tokens arrived, whether the user stopped them. */
const streams = new Map<string, { pane: PaneId; message: UiMessage; tokens: number; stopped: boolean }>();

const send = (m: ChatViewToHost) => api.postMessage(m);
const save = () => api.setState(state);
const panes = (): PaneId[] => (state.mode === 'two' ? ['left', 'right'] : ['left']);

const layout: Layout = buildLayout(document.getElementById('app')!, state, {
  onSend: () => sendPrompt(),
  onStop: () => stopAll(),
  onClear: () => {
    for (const p of ['left', 'right'] as PaneId[]) state.panes[p].messages = [];
    save();
    renderAll();
  },
  onExport: (format) => send({ type: 'export', format, transcript: toTranscript(state) }),
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
    if (!entry) return;
    state.panes[pane].entryId = entry.id;
    state.panes[pane].ref = entry.ref;
    state.panes[pane].title = entry.label;
    state.panes[pane].label = undefined;
    save();
    load(pane);
  },
  onRefresh: () => send({ type: 'refreshModels' }),
});

function renderAll(): void {
  layout.root.classList.toggle('single', state.mode === 'single');
  for (const p of ['left', 'right'] as PaneId[]) {
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
  send({ type: 'load', pane, ref });
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
    send({ type: 'generate', pane: p, streamId, ref: pane.ref!, messages: history, ...(state.system ? { system: state.system } : {}), sampling: sampling.settings });
  }
  save();
  renderAll();
}

function stopAll(): void {
  for (const [id, s] of streams) {
    s.stopped = true;
    send({ type: 'stop', streamId: id });
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
  for (const p of ['left', 'right'] as PaneId[]) {
    const m = state.panes[p].messages.find((x) => x.streamId === streamId);
    if (m) return m;
  }
  return undefined;
}

/** A load for a model the pane no longer shows (the user picked another meanwhile): it must not relabel the pane. */
function staleLoad(msg: { pane: PaneId; ref: ModelRef }): boolean {
  return !sameRef(state.panes[msg.pane].ref, msg.ref);
}

/** A stopped answer: the host gives no result (cancel rejects the request), so the view labels it itself. */
function stoppedProvenance(streamId: string): MessageProvenance | undefined {
  const s = streams.get(streamId);
  const label = s && state.panes[s.pane].label;
  const request = s?.message.request;
  if (!s || !label || !request) return undefined;
  return { label, sampling: request.sampling, ...(request.system ? { system: request.system } : {}), finishReason: 'cancelled', newTokens: s.tokens, decodeTokensPerSecond: 0, finishedAt: new Date().toISOString() };
}

function applyModels(list: ChatModelEntry[], error: string | undefined): void {
  models = list;
  modelsError = error;
  for (const p of ['left', 'right'] as PaneId[]) {
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

function openRefs(msg: Extract<ChatHostToView, { type: 'open' }>): void {
  const put = (p: PaneId, ref: NonNullable<typeof msg.left>) => {
    const entry = models.find((m) => sameRef(m.ref, ref));
    const title = entry?.label ?? (ref.adapter ? `${ref.model} + ${ref.adapter.split(/[\\/]/).slice(-3).join('/')}` : ref.model);
    state.panes[p] = { ...state.panes[p], ref, title, label: undefined, ...(entry ? { entryId: entry.id } : { entryId: undefined }) };
    load(p);
  };
  if (msg.left) put('left', msg.left);
  if (msg.right) {
    put('right', msg.right);
    state.mode = 'two';
  }
  save();
  renderAll();
}

window.addEventListener('message', (event: MessageEvent<ChatHostToView>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'models':
      applyModels(msg.models, msg.error);
      break;
    case 'open':
      openRefs(msg);
      break;
    case 'loadProgress':
      if (staleLoad(msg)) break;
      status[msg.pane] = { state: 'loading', text: msg.message, ...(msg.fraction !== undefined ? { fraction: msg.fraction } : {}) };
      renderPaneHeader(layout.panes[msg.pane], models, state.panes[msg.pane], status[msg.pane]);
      break;
    case 'loaded':
      if (staleLoad(msg)) break;
      state.panes[msg.pane].label = msg.result.label;
      status[msg.pane] = { state: 'ready', text: `Ready on ${msg.result.device.toUpperCase()}${msg.result.cached ? '' : ` (loaded in ${(msg.result.loadMs / 1000).toFixed(1)} s)`}` };
      save();
      renderPaneHeader(layout.panes[msg.pane], models, state.panes[msg.pane], status[msg.pane]);
      break;
    case 'loadFailed':
      if (staleLoad(msg)) break;
      status[msg.pane] = { state: 'failed', text: msg.message };
      renderPaneHeader(layout.panes[msg.pane], models, state.panes[msg.pane], status[msg.pane]);
      break;
    case 'token': {
      const s = streams.get(msg.streamId);
      if (!s) break;
      s.message.content += msg.delta;
      s.tokens++;
      layout.appendDelta(s.pane, msg.streamId, s.message.content);
      break;
    }
    case 'done': {
      const r = msg.result;
      const system = streams.get(msg.streamId)?.message.request?.system;
      finish(msg.streamId, { label: r.label, sampling: r.sampling, ...(system ? { system } : {}), finishReason: r.finishReason, newTokens: r.newTokens, decodeTokensPerSecond: r.decodeTokensPerSecond, finishedAt: new Date().toISOString() }, r.text);
      break;
    }
    case 'failed': {
      const s = streams.get(msg.streamId);
      if (s?.stopped) finish(msg.streamId, stoppedProvenance(msg.streamId), undefined);
      else finish(msg.streamId, undefined, undefined, msg.message);
      break;
    }
    case 'resume': {
      // Sent after every `ready`: streams that ran while the view was gone. A pending answer the host does not
      // know any more (the panel was closed) is marked interrupted.
      const known = new Set(msg.streams.map((r) => r.streamId));
      for (const p of ['left', 'right'] as PaneId[]) {
        for (const m of state.panes[p].messages) {
          if (m.pending && m.streamId && !known.has(m.streamId)) {
            m.pending = false;
            m.error = 'Interrupted: the panel was closed while this answer was being written.';
          }
        }
      }
      for (const r of msg.streams) {
        const m = findMessage(r.streamId);
        if (!m) continue;
        m.content = r.text;
        const pane = (['left', 'right'] as PaneId[]).find((p) => state.panes[p].messages.includes(m))!;
        streams.set(r.streamId, { pane, message: m, tokens: 0, stopped: false });
        if (r.result) {
          const x = r.result;
          finish(r.streamId, { label: x.label, sampling: x.sampling, finishReason: x.finishReason, newTokens: x.newTokens, decodeTokensPerSecond: x.decodeTokensPerSecond, finishedAt: new Date().toISOString() }, x.text);
        } else if (r.failed) finish(r.streamId, undefined, undefined, r.failed);
      }
      save();
      renderAll();
      break;
    }
    case 'exported':
      layout.setNotice(`Exported to ${msg.path}`);
      break;
  }
});

renderAll();
send({ type: 'ready' });
