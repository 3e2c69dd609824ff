// DOM of a chat view (sidebar or editor tab): a one-line toolbar, a collapsible settings section (sampling,
// system prompt), one or two titled panes, the prompt box with Send / Stop always at the bottom.
// Stable selectors for tests: #pane-left / #pane-right .message.assistant .content, .pane-status, #prompt, #send,
// #stop, #compare, #settings (details) with #temperature, #top-p, #top-k, #max-new-tokens, #seed, #system.
import type { ChatModelEntry, ChatSurface, PaneId } from '../../src/protocol/chatMethods';
import { el, tk } from '../shared/vscodeApi';
import { renderAnswer } from '../shared/answerView';
import { provenanceLine, type LoadStatus, type PaneState, type PersistedState, type SamplingFields, type UiMessage } from './state';

export interface LayoutHandlers {
  onSend(): void;
  onStop(): void;
  onClear(): void;
  onExport(): void;
  onModeChange(two: boolean): void;
  onSystemChange(text: string): void;
  onSamplingChange(field: keyof SamplingFields, value: string): void;
  onPick(pane: PaneId, entryId: string): void;
  onRefresh(): void;
}

export interface PaneElements {
  root: HTMLElement;
  title: HTMLElement;
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
  setMode(two: boolean): void;
  appendDelta(pane: PaneId, streamId: string, content: string): void;
}

const SAMPLING_FIELDS: { key: keyof SamplingFields; id: string; label: string; help: string }[] = [
  { key: 'temperature', id: 'temperature', label: 'Temperature', help: '0 = greedy. Default 1.0 (the homework default).' },
  { key: 'topP', id: 'top-p', label: 'top_p', help: 'Nucleus sampling mass in (0, 1]. Default 1.0 (off).' },
  { key: 'topK', id: 'top-k', label: 'top_k', help: 'Keep the k most likely tokens. 0 = off (default).' },
  { key: 'maxNewTokens', id: 'max-new-tokens', label: 'Max new tokens', help: 'Default 200 (the homework default).' },
  { key: 'seed', id: 'seed', label: 'Seed', help: 'Same seed, same text. Empty: a new random seed per message (shown under each answer).' },
];

const PANE_TITLE: Record<PaneId, string> = { left: 'Model A', right: 'Model B' };

function button(id: string, text: string, appearance: 'primary' | 'secondary', onClick: () => void, title?: string): HTMLElement {
  const b = tk('vscode-button', { id, appearance, ...(title ? { title, 'aria-label': title } : {}) }, text);
  b.addEventListener('click', onClick);
  return b;
}

function buildPane(id: PaneId, h: LayoutHandlers): PaneElements {
  const titleId = `pane-${id}-title`;
  const title = el('h3', { id: titleId, class: 'pane-title' }, PANE_TITLE[id]);
  const picker = tk('vscode-dropdown', { class: 'model-picker', 'aria-labelledby': titleId, title: `Which model answers in ${PANE_TITLE[id]}` }) as HTMLElement & { value: string };
  picker.addEventListener('change', () => h.onPick(id, picker.value));
  const status = el('div', { class: 'pane-status muted', role: 'status' });
  const messages = el('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': titleId, tabindex: '0' });
  const root = el('section', { id: `pane-${id}`, class: 'pane', 'aria-labelledby': titleId }, el('div', { class: 'pane-header' }, title, picker, status), messages);
  return { root, title, picker, status, messages };
}

export function buildLayout(app: HTMLElement, state: PersistedState, surface: ChatSurface, h: LayoutHandlers): Layout {
  const two = tk('vscode-checkbox', { id: 'compare', title: 'Ask two models the same question side by side (base vs fine-tuned)' }, surface === 'sidebar' ? 'Compare' : 'Compare two models') as HTMLElement & { checked: boolean };
  two.checked = state.mode === 'two';
  two.addEventListener('change', () => h.onModeChange(two.checked));

  const fields = SAMPLING_FIELDS.map((f) => {
    const input = tk('vscode-text-field', { id: f.id, size: '6', title: f.help, placeholder: f.key === 'seed' ? 'random' : '' }, f.label) as HTMLElement & { value: string };
    input.value = state.sampling[f.key];
    input.addEventListener('input', () => h.onSamplingChange(f.key, input.value));
    return input;
  });
  const system = tk('vscode-text-area', { id: 'system', rows: '2', resize: 'vertical', placeholder: 'Optional: sent first in every conversation' }, 'System prompt') as HTMLElement & { value: string };
  system.value = state.system;
  system.addEventListener('input', () => h.onSystemChange(system.value));
  const settings = el(
    'details',
    { id: 'settings', class: 'settings' },
    el('summary', { id: 'settings-toggle' }, 'Sampling and system prompt'),
    el('div', { class: 'sampling-grid' }, ...fields),
    system,
    el('div', { class: 'settings-actions' }, button('refresh-models', 'Refresh model list', 'secondary', h.onRefresh)),
  );
  if (state.system) settings.open = true;

  const toolbar = el(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Chat' },
    two,
    el('span', { class: 'spacer' }),
    button('export', 'Export…', 'secondary', h.onExport, 'Export the conversation as Markdown or JSON'),
    button('clear', 'Clear', 'secondary', h.onClear, 'Clear both conversations'),
  );
  const notice = el('div', { class: 'notice', role: 'status' });
  const modelsError = el('div', { class: 'error models-error', role: 'alert' });
  const panes = { left: buildPane('left', h), right: buildPane('right', h) };

  const prompt = el('textarea', { id: 'prompt', rows: surface === 'sidebar' ? '2' : '3', 'aria-label': 'Prompt', placeholder: 'Ask… (Enter sends, Shift+Enter for a new line)' });
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      h.onSend();
    }
  });
  const sendButton = button('send', 'Send', 'primary', h.onSend);
  const stopButton = button('stop', 'Stop', 'secondary', h.onStop);
  stopButton.setAttribute('disabled', '');

  const root = el(
    'div',
    { class: `chat surface-${surface}` },
    toolbar,
    settings,
    modelsError,
    el('div', { class: 'panes' }, panes.left.root, panes.right.root),
    el('div', { class: 'composer' }, prompt, el('div', { class: 'composer-buttons' }, sendButton, stopButton)),
    notice,
  );
  app.append(root);

  return {
    root,
    prompt,
    panes,
    setBusy(busy) {
      sendButton.toggleAttribute('disabled', busy);
      stopButton.toggleAttribute('disabled', !busy);
    },
    setNotice(text) {
      notice.textContent = text ?? '';
    },
    setModelsError(text) {
      modelsError.textContent = text ? `Could not list models: ${text}` : '';
    },
    setMode(twoPanes) {
      root.classList.toggle('single', !twoPanes);
      two.checked = twoPanes;
      panes.left.title.textContent = twoPanes ? PANE_TITLE.left : 'Model';
    },
    appendDelta(pane, streamId, content) {
      const node = panes[pane].messages.querySelector<HTMLElement>(`.message[data-stream="${CSS.escape(streamId)}"] .content`);
      if (!node) return;
      renderAnswer(node, content);
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
    p.picker.replaceChildren(...options.map((m) => tk('vscode-option', { value: m.id, title: m.detail ?? m.label }, m.label)));
    p.picker.dataset.options = wanted;
  }
  const selected = pane.entryId ?? (pane.ref ? '__custom' : '');
  // The toolkit dropdown picks up new options on its next render; set the value after it.
  requestAnimationFrame(() => {
    if (p.picker.value !== selected) p.picker.value = selected;
  });
  p.picker.title = pane.title || p.picker.title;
  p.status.replaceChildren();
  p.status.className = `pane-status ${status.state === 'failed' ? 'error' : 'muted'}`;
  if (status.state === 'loading') {
    p.status.append(tk('vscode-progress-ring', { class: 'ring', 'aria-label': 'Loading' }));
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
      const content = el('div', { class: 'content' });
      if (m.role === 'assistant') renderAnswer(content, m.content);
      else content.textContent = m.content;
      const node = el('div', { class: `message ${m.role} role-${m.role}${m.pending ? ' pending' : ''}${m.error ? ' failed' : ''}` }, content);
      if (m.streamId) node.dataset.stream = m.streamId;
      if (m.pending && !m.content) content.append(el('span', { class: 'muted' }, '…'));
      if (m.provenance) node.append(el('div', { class: 'meta muted', title: `${provenanceLine(m.provenance)}\nmodel folder: ${m.provenance.label.modelDir}\nadapter folder: ${m.provenance.label.adapterDir ?? 'none'}` }, provenanceLine(m.provenance)));
      if (m.error) node.append(el('div', { class: 'meta error' }, m.error));
      return node;
    }),
  );
  p.messages.scrollTop = p.messages.scrollHeight;
}
