// "EM Lab: Check Environment" webview: the doctor's checklist with a fix-it button per warning or failure.
// Text from the report is set with textContent, never parsed as HTML.
// Stable hooks for tests: #summary[data-ok], #checks .check[data-id][data-status], .check .fix-button[data-action],
// #rerun.
import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { DoctorCheck, DoctorReport, FixAction } from '../../src/protocol/envMethods';
import { el, tk } from '../shared/vscodeApi';
import { onNotification, request } from './hostRpc';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeBadge(), vsCodeProgressRing());

const MARK: Record<DoctorCheck['status'], { glyph: string; label: string }> = {
  ok: { glyph: '✓', label: 'OK' },
  warn: { glyph: '!', label: 'Warning' },
  fail: { glyph: '✗', label: 'Failed' },
  skip: { glyph: '–', label: 'Skipped' },
};

const ACTION_LABEL: Record<FixAction, string> = {
  setOpenAiKey: 'Set OpenAI API Key',
  setHfToken: 'Set Hugging Face Token',
  openDotenv: 'Open .env',
  getTrainingData: 'Get Training Data',
  showLog: 'Show Log',
  setupCuda: 'Set Up CUDA',
};

const app = document.getElementById('app')!;
const rerun = tk('vscode-button', { id: 'rerun', appearance: 'primary' }, 'Re-run checks');
const busy = tk('vscode-progress-ring', { id: 'busy', class: 'hidden', 'aria-label': 'Running checks' });
const summary = el('p', { id: 'summary', role: 'status', 'aria-live': 'polite' });
const list = el('ul', { id: 'checks', class: 'checks' });
const footer = el('p', { class: 'muted' }, 'The same checks run on the command line: ', el('code', {}, 'npx em-lab doctor'), '. Keys are never shown; at most their last 4 characters.');
app.append(el('header', { class: 'toolbar' }, el('h2', {}, 'Environment check'), rerun, busy), summary, list, footer);

let running = false;

function setBusy(on: boolean): void {
  running = on;
  busy.classList.toggle('hidden', !on);
  rerun.toggleAttribute('disabled', on);
}

function renderCheck(c: DoctorCheck): HTMLLIElement {
  const mark = MARK[c.status];
  const head = el(
    'div',
    { class: 'check-head' },
    el('span', { class: `mark status-${c.status}`, role: 'img', 'aria-label': mark.label, title: mark.label }, mark.glyph),
    el('span', { class: 'check-title' }, c.title),
  );
  if (c.required) head.append(tk('vscode-badge', { class: 'required', title: 'Decides the exit code of em-lab doctor' }, 'required'));
  const item = el('li', { class: `check status-${c.status}`, 'data-id': c.id, 'data-status': c.status }, head, el('div', { class: 'detail' }, c.detail));
  if (c.fix && (c.status === 'warn' || c.status === 'fail' || c.status === 'skip')) {
    const fixRow = el('div', { class: 'fix' }, el('span', { class: 'fix-text' }, c.fix));
    if (c.action) {
      const action = c.action;
      const button = tk('vscode-button', { class: 'fix-button', appearance: 'secondary', 'data-action': action }, ACTION_LABEL[action]);
      button.addEventListener('click', () => void fix(action));
      fixRow.append(button);
    }
    item.append(fixRow);
  }
  return item;
}

function render(report: DoctorReport): void {
  const counts = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of report.checks) counts[c.status]++;
  summary.dataset.ok = String(report.ok);
  summary.className = report.ok ? 'summary ok' : 'summary failed';
  summary.textContent =
    `${report.ok ? 'Required checks pass.' : 'Some required checks failed.'} ${counts.ok} ok, ${counts.warn} warning${counts.warn === 1 ? '' : 's'}, ` +
    `${counts.fail} failed, ${counts.skip} skipped (${(report.durationMs / 1000).toFixed(1)} s). ` +
    (report.dotenvPath ? `.env: ${report.dotenvPath}` : `No .env found from ${report.startDir} upwards.`);
  list.replaceChildren(...report.checks.map(renderCheck));
}

function showError(err: unknown): void {
  summary.dataset.ok = 'false';
  summary.className = 'summary failed';
  summary.textContent = `The checks could not run: ${err instanceof Error ? err.message : String(err)}`;
}

async function runChecks(): Promise<void> {
  if (running) return;
  setBusy(true);
  try {
    render(await request('doctor/run', {}));
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
  }
}

async function fix(action: FixAction): Promise<void> {
  try {
    const { rerun: again } = await request('doctor/fix', { action });
    if (again) await runChecks();
  } catch (err) {
    showError(err);
  }
}

rerun.addEventListener('click', () => void runChecks());
onNotification('doctor/report', render);
void runChecks();
