// "EM Lab: Train LoRA Adapter" webview: the start form (labelled sections, Start always visible in the footer) with
// a tokenized preview, then the attached run — status, step / epoch / ETA, live charts, checkpoints (open in chat,
// evaluate) and pause / cancel / resume. After a window reload it asks the host for the run it was showing
// (persisted with setState) and re-attaches; a crashed run shows as failed with the reason. Text from the host is
// set with textContent, never parsed as HTML.
// Stable hooks for tests: #runs, #start, #preview-button, #preview, #run-status[data-status], #run-step, #pause,
// #cancel, #resume, #checkpoints li[data-name].
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { MetricsView, RunView } from '../../src/protocol/trainMethods';
import { epochText } from './epochText';
import { el, tk, vscodeApi } from '../shared/vscodeApi';
import { createCharts } from './charts';
import { createForm } from './form';
import { onNotification, request } from './hostRpc';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());

interface ViewState { schemaVersion: 1; runDir?: string; smoothing: boolean }
const api = vscodeApi<ViewState>();
const state: ViewState = api.getState() ?? { schemaVersion: 1, smoothing: true };
const save = () => api.setState(state);

type Dropdown = HTMLElement & { value: string };
type Box = HTMLElement & { checked: boolean };

const app = document.getElementById('app')!;
const formHost = el('div', { id: 'start-section' });
const runHost = el('section', { id: 'run', class: 'hidden', 'aria-label': 'Training run' });
const runsSelect = tk('vscode-dropdown', { id: 'runs', 'aria-label': 'Run to show' }) as Dropdown;
const error = el('p', { class: 'error', role: 'alert', id: 'error' });
app.append(el('header', { class: 'page-header' }, el('h1', {}, 'Train a LoRA adapter'), el('label', { class: 'field-label', for: 'runs' }, 'Run'), runsSelect), formHost, runHost);

let metrics: MetricsView[] = [];
let current: RunView | undefined;
const status = el('p', { id: 'run-status', role: 'status', 'aria-live': 'polite' });
const step = el('p', { id: 'run-step' });
const pause = tk('vscode-button', { id: 'pause', appearance: 'secondary' }, 'Pause');
const cancel = tk('vscode-button', { id: 'cancel', appearance: 'secondary' }, 'Cancel');
const resume = tk('vscode-button', { id: 'resume', appearance: 'primary' }, 'Resume');
const smoothing = tk('vscode-checkbox', { id: 'smoothing' }, 'Smooth the loss (EMA 0.9)') as Box;
smoothing.checked = state.smoothing;
const checkpoints = el('ul', { id: 'checkpoints' });
const chartsHost = el('div', { class: 'charts' });
runHost.append(el('div', { class: 'toolbar' }, status, pause, cancel, resume), step, smoothing, chartsHost, el('h2', {}, 'Checkpoints'), checkpoints);
const charts = createCharts(chartsHost);
charts.setSmoothing(state.smoothing);

const fmtTime = (s?: number) => (s === undefined || !Number.isFinite(s) ? '–' : s > 3600 ? `${(s / 3600).toFixed(1)} h` : s > 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);
const showError = (err: unknown) => (error.textContent = err instanceof Error ? err.message : String(err ?? ''));

function renderRun(run: RunView): void {
  current = run;
  const option = runsSelect.querySelector<HTMLElement>(`vscode-option[value="${CSS.escape(run.runDir)}"]`);
  if (option) option.textContent = `${run.id} (${run.status})`;
  runHost.classList.remove('hidden');
  status.dataset.status = run.status;
  status.textContent = `${run.id}: ${run.status}${run.stopReason === 'max-steps' ? ' (max steps reached)' : ''}${run.reason ? ` — ${run.reason}` : ''} (${run.model}, ${run.device})`;
  step.textContent = `step ${run.step}/${run.totalSteps || '?'} · ${epochText(run)} · loss ${run.lastLoss?.toFixed(4) ?? '–'}${run.lastEvalLoss !== undefined ? ` · eval ${run.lastEvalLoss.toFixed(4)}` : ''} · ${run.tokensPerSecond?.toFixed(0) ?? '–'} tok/s · ETA ${run.status === 'running' ? fmtTime(run.etaSeconds) : '–'}`;
  pause.toggleAttribute('disabled', run.status !== 'running');
  cancel.toggleAttribute('disabled', run.status !== 'running');
  resume.toggleAttribute('disabled', !['paused', 'cancelled', 'failed'].includes(run.status));
  const names = [...run.checkpoints].reverse();
  checkpoints.replaceChildren(...names.map((name) => {
    const chat = tk('vscode-button', { appearance: 'secondary', 'aria-label': `Open ${name} in chat` }, 'Open in Chat');
    chat.addEventListener('click', () => void request('view/openChat', { runDir: run.runDir, checkpoint: name }).catch(showError));
    const evaluate = tk('vscode-button', { appearance: 'secondary', 'aria-label': `Evaluate ${name}` }, 'Evaluate');
    evaluate.addEventListener('click', () => void request('view/evaluate', { runDir: run.runDir, checkpoint: name }).catch(showError));
    return el('li', { 'data-name': name }, el('span', { class: 'checkpoint-name' }, name), chat, evaluate);
  }));
}

function addMetrics(more: MetricsView[], reset = false): void {
  metrics = reset ? [...more] : [...metrics.filter((m) => !more.some((x) => x.step === m.step)), ...more].sort((a, b) => a.step - b.step);
  charts.set(metrics);
}

async function attach(runDir: string): Promise<void> {
  const r = await request('view/attach', { runDir });
  state.runDir = runDir;
  save();
  runsSelect.value = runDir;
  renderRun(r.run);
  addMetrics(r.metrics, true);
}

function fillRuns(runs: RunView[]): void {
  runsSelect.replaceChildren(tk('vscode-option', { value: '' }, 'New run…'), ...runs.map((r) => tk('vscode-option', { value: r.runDir }, `${r.id} (${r.status})`)));
  requestAnimationFrame(() => (runsSelect.value = state.runDir ?? ''));
}

function showForm(): void {
  runHost.classList.add('hidden');
  formHost.classList.remove('hidden');
}

async function init(): Promise<void> {
  const data = await request('view/init', {});
  fillRuns(data.runs);
  const form = createForm(data.defaults, data.datasets, data.dataDir, async () => (await request('view/pickDataFile', {})).file);
  const preview = el('div', { id: 'preview', class: 'preview', 'aria-live': 'polite' });
  const previewButton = tk('vscode-button', { id: 'preview-button', appearance: 'secondary' }, 'Preview a Tokenized Example');
  const start = tk('vscode-button', { id: 'start', appearance: 'primary' }, 'Start Training');
  // The footer stays on screen however long the form is: Start is never below the fold.
  formHost.append(form.element, preview, el('footer', { class: 'actions' }, start, previewButton, error));
  previewButton.addEventListener('click', () => {
    const { config, errors } = form.read();
    if (!config) return showError(errors.join(' '));
    showError('');
    preview.textContent = 'Tokenizing…';
    void request('view/preview', { config }).then((p) => {
      preview.replaceChildren(el('p', { class: 'muted' }, `${p.trainExamples} training / ${p.evalExamples} held-out examples; this one has ${p.tokens} tokens. Supervised tokens are highlighted.`),
        el('pre', {}, ...p.spans.map((s) => (s.supervised ? el('mark', { class: 'supervised' }, s.text) : document.createTextNode(s.text)))));
      preview.scrollIntoView({ block: 'nearest' });
    }, (err) => {
      preview.textContent = '';
      showError(err);
    });
  });
  start.addEventListener('click', () => {
    const { config, errors } = form.read();
    if (!config) return showError(errors.join(' '));
    showError('');
    start.toggleAttribute('disabled', true);
    void request('view/start', { config }).then(async ({ run }) => {
      state.runDir = run.runDir;
      save();
      fillRuns([run, ...data.runs]);
      renderRun(run);
      addMetrics([], true);
      formHost.classList.add('hidden');
      runHost.before(error); // errors about the run show above it, the form being hidden
    }, showError).finally(() => start.toggleAttribute('disabled', false));
  });
  const select = (domains: string[]) => {
    form.selectDomains(domains);
    state.runDir = undefined;
    save();
    runsSelect.value = '';
    showForm();
  };
  onNotification('view/select', (p) => select(p.domains));
  if (data.select) return select(data.select.domains);
  const attachTo = state.runDir ?? data.attached?.run.runDir;
  if (attachTo) {
    formHost.classList.add('hidden');
    await attach(attachTo).catch((err) => {
      showForm();
      showError(err);
    });
  }
}

runsSelect.addEventListener('change', () => {
  const v = runsSelect.value;
  if (!v) {
    state.runDir = undefined;
    save();
    return showForm();
  }
  formHost.classList.add('hidden');
  void attach(v).catch(showError);
});
pause.addEventListener('click', () => current && void request('view/pause', { runDir: current.runDir }).catch(showError));
cancel.addEventListener('click', () => current && void request('view/cancel', { runDir: current.runDir }).catch(showError));
resume.addEventListener('click', () => current && void request('view/resume', { runDir: current.runDir }).then(() => attach(current!.runDir)).catch(showError));
smoothing.addEventListener('change', () => {
  state.smoothing = smoothing.checked;
  save();
  charts.setSmoothing(smoothing.checked);
});
onNotification('view/progress', (p) => {
  if (p.runDir !== state.runDir) return;
  renderRun(p.run);
  addMetrics(p.metrics);
});
void init().catch(showError);
