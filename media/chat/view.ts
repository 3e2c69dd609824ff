// DOM of the chat sandbox: toolbar (panes, sampling, system prompt, export), two panes, the prompt box.
// Stable selectors for tests: #pane-left / #pane-right .message.assistant, #prompt, #send, #stop.
import type { ChatModelEntry, PaneId } from '../../src/protocol/chatMethods';
import { el } from '../shared/vscodeApi';
import { provenanceLine, type LoadStatus, type PaneState, type PersistedState, type SamplingFields, type UiMessage } from './state';

export interface LayoutHandlers {
  onSend(): void;
  onStop(): void;
  onClear(): void;
  onExport(format: 'markdown' | 'json'): void;
  onModeChange(two: boolean): void;
  onSystemChange(text: string): void;
  onSamplingChange(field: keyof SamplingFields, value: string): void;
  onPick(pane: PaneId, entryId: string): void;
  onRefresh(): void;
}

export interface PaneElements {
  root: HTMLElement;
  picker: HTMLElement & { value: string };
  status: HTMLElement;
  messages: HTMLElement;
}

export interface Layout {
  root: HTMLElement;
  prompt: HTMLTextAreaElement;
  panes: Record<PaneId, PaneElements>;
  setBusy(busy: boolean): void;
  setNotice(text: string | undefined): void;
  setModelsError(text: string | undefined): void;
  appendDelta(pane: PaneId, streamId: string, content: string): void;
}

const SAMPLING_FIELDS: { key: keyof SamplingFields; id: string; label: string; title: string }[] = [
  { key: 'temperature', id: 'temperature', label: 'Temperature', title: '0 = greedy. Default 1.0 (the homework default).' },
  { key: 'topP', id: 'top-p', label: 'top_p', title: 'Nucleus sampling mass in (0, 1]. Default 1.0 (off).' },
  { key: 'topK', id: 'top-k', label: 'top_k', title: 'Keep the k most likely tokens. 0 = off (default).' },
  { key: 'maxNewTokens', id: 'max-new-tokens', label: 'Max new tokens', title: 'Default 200 (the homework default).' },
  { key: 'seed', id: 'seed', label: 'Seed', title: 'Same seed, same text. Empty: a new random seed per message (shown under each answer).' },
];

function button(id: string, text: string, appearance: 'primary' | 'secondary', onClick: () => void): HTMLElement {
  const b = el('vscode-button' as 'button', { id, appearance });
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

function buildPane(id: PaneId, h: LayoutHandlers): PaneElements {
  const picker = el('vscode-dropdown' as 'select', { class: 'model-picker', 'aria-label': `${id} pane model` }) as unknown as HTMLElement & { value: string };
  picker.addEventListener('change', () => h.onPick(id, picker.value));
  const status = el('div', { class: 'pane-status muted' });
  const messages = el('div', { class: 'messages', role: 'log', 'aria-live': 'polite' });
  const root = el('section', { id: `pane-${id}`, class: 'pane' }, el('div', { class: 'pane-header' }, picker, status), messages);
  return { root, picker, status, messages };
}

export function buildLayout(app: HTMLElement, state: PersistedState, h: LayoutHandlers): Layout {
  const two = el('vscode-checkbox' as 'input', { id: 'compare' });
  (two as unknown as { checked: boolean }).checked = state.mode === 'two';
  two.textContent = 'Compare two models';
  two.addEventListener('change', () => h.onModeChange((two as unknown as { checked: boolean }).checked));

  const fields = SAMPLING_FIELDS.map((f) => {
    const input = el('vscode-text-field' as 'input', { id: f.id, size: '6', title: f.title, placeholder: f.key === 'seed' ? 'random' : '' }) as unknown as HTMLElement & { value: string };
    input.textContent = f.label;
    input.value = state.sampling[f.key];
    input.addEventListener('input', () => h.onSamplingChange(f.key, input.value));
    return input;
  });

  const system = el('textarea', { id: 'system', rows: '2', placeholder: 'Optional system prompt, sent first in every conversation' });
  system.value = state.system;
  system.addEventListener('input', () => h.onSystemChange(system.value));
  const systemBox = el('details', { class: 'system-box' }, el('summary', {}, 'System prompt'), system);
  if (state.system) systemBox.open = true;

  const toolbar = el(
    'div',
    { class: 'toolbar' },
    two,
    ...fields,
    button('refresh-models', 'Refresh models', 'secondary', h.onRefresh),
    button('export-md', 'Export Markdown', 'secondary', () => h.onExport('markdown')),
    button('export-json', 'Export JSON', 'secondary', () => h.onExport('json')),
    button('clear', 'Clear', 'secondary', h.onClear),
  );
  const notice = el('div', { class: 'notice', role: 'status' });
  const modelsError = el('div', { class: 'error models-error' });
  const panes = { left: buildPane('left', h), right: buildPane('right', h) };

  const prompt = el('textarea', { id: 'prompt', rows: '3', placeholder: 'Ask both panes… (Enter sends, Shift+Enter for a new line)' });
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      h.onSend();
    }
  });
  const sendButton = button('send', 'Send', 'primary', h.onSend);
  const stopButton = button('stop', 'Stop', 'secondary', h.onStop);
  stopButton.setAttribute('disabled', '');

  const root = el('div', { class: 'chat' }, toolbar, systemBox, modelsError, el('div', { class: 'panes' }, panes.left.root, panes.right.root), el('div', { class: 'composer' }, prompt, el('div', { class: 'composer-buttons' }, sendButton, stopButton)), notice);
  app.append(root);

  return {
    root,
    prompt,
    panes,
    setBusy(busy) {
      if (busy) {
        sendButton.setAttribute('disabled', '');
        stopButton.removeAttribute('disabled');
      } else {
        sendButton.removeAttribute('disabled');
        stopButton.setAttribute('disabled', '');
      }
    },
    setNotice(text) {
      notice.textContent = text ?? '';
    },
    setModelsError(text) {
      modelsError.textContent = text ? `Could not list models: ${text}` : '';
    },
    appendDelta(pane, streamId, content) {
      const node = panes[pane].messages.querySelector<HTMLElement>(`.message[data-stream="${CSS.escape(streamId)}"] .content`);
      if (!node) return;
      node.textContent = content;
      const box = panes[pane].messages;
      if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) box.scrollTop = box.scrollHeight;
    },
  };
}

export function renderPaneHeader(p: PaneElements, models: readonly ChatModelEntry[], pane: PaneState, status: LoadStatus): void {
  const options = [...models];
  if (pane.ref && !models.some((m) => m.id === pane.entryId)) options.push({ id: '__custom', kind: 'adapter', label: pane.title || pane.ref.model, ref: pane.ref });
  const wanted = options.map((m) => `${m.id}\u0000${m.label}`).join('\u0001');
  if (p.picker.dataset.options !== wanted) {
    p.picker.replaceChildren(...options.map((m) => {
      const o = el('vscode-option' as 'option', { value: m.id, title: m.detail ?? m.label });
      o.textContent = m.label;
      return o;
    }));
    p.picker.dataset.options = wanted;
  }
  const selected = pane.entryId ?? (pane.ref ? '__custom' : '');
  // The toolkit dropdown picks up new options on its next render; set the value after it.
  requestAnimationFrame(() => {
    if (p.picker.value !== selected) p.picker.value = selected;
  });
  p.status.replaceChildren();
  p.status.className = `pane-status ${status.state === 'failed' ? 'error' : 'muted'}`;
  if (status.state === 'loading') {
    p.status.append(el('vscode-progress-ring' as 'span', { class: 'ring' }));
    const pct = status.fraction !== undefined ? ` ${Math.round(status.fraction * 100)}%` : '';
    p.status.append(` ${status.text}${pct}`);
  } else {
    p.status.append(status.text);
  }
  if (pane.label?.warning) p.status.append(el('span', { class: 'label-warning' }, ` ⚠ ${pane.label.warning}`));
}

export function renderMessages(p: PaneElements, messages: readonly UiMessage[]): void {
  p.messages.replaceChildren(
    ...messages.map((m) => {
      const node = el('div', { class: `message ${m.role} role-${m.role}${m.pending ? ' pending' : ''}${m.error ? ' failed' : ''}` }, el('div', { class: 'content' }, m.content));
      if (m.streamId) node.dataset.stream = m.streamId;
      if (m.pending && !m.content) node.querySelector('.content')!.append(el('span', { class: 'muted' }, '…'));
      if (m.provenance) node.append(el('div', { class: 'meta muted', title: `model folder: ${m.provenance.label.modelDir}\nadapter folder: ${m.provenance.label.adapterDir ?? 'none'}` }, provenanceLine(m.provenance)));
      if (m.error) node.append(el('div', { class: 'meta error' }, m.error));
      return node;
    }),
  );
  p.messages.scrollTop = p.messages.scrollHeight;
}
