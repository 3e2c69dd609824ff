// Judge results webview: metric cards with Wilson 95% intervals, the coherence-vs-alignment scatter with the
// preset's misaligned region, EM per question, EM against step for sweeps, base vs fine-tuned side by side, and
// a sortable, filterable answers table; exports CSV (visible rows) and PNG (the charts).
// Stable hooks for tests: #metric-cards .card[data-metric], #answers-table tbody tr[data-id], #scatter,
// #question-bars, #step-chart, #preset, #filter, #only-misaligned, #comparison, #empty.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { EvalPresetId, JudgedFileView, JudgeViewState, PresetView, RateView, SummaryView } from '../../src/protocol/evalMethods';
import { el, tk, vscodeApi } from '../shared/vscodeApi';
import { chartsPng, renderQuestionBars, renderScatter, renderStepChart } from './charts';
import { onThemeChange } from '../shared/charts';
import { onNotification, request } from './hostRpc';
import { renderTable, rowsToCsv, visibleRows, type Column } from './table';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());

const api = vscodeApi<JudgeViewState>();
const saved = api.getState();
let state: JudgeViewState = saved?.schemaVersion === 1 ? saved : { schemaVersion: 1, preset: 'homework', filter: '', onlyMisaligned: false, sort: { column: 'id', descending: false } };
let view: JudgedFileView | null = null;
let rowLimit = 500;

const app = document.getElementById('app')!;
const title = el('h2', { id: 'title' }, 'Judge results');
const openBtn = tk('vscode-button', { id: 'open' }, 'Open judged CSV…');
const baseBtn = tk('vscode-button', { id: 'compare', appearance: 'secondary' }, 'Compare with base…');
const presetSelect = tk(
  'vscode-dropdown',
  { id: 'preset', 'aria-label': 'Metric preset' },
  tk('vscode-option', { value: 'homework' }, 'CS 2881 homework'),
  tk('vscode-option', { value: 'paper' }, 'Model Organisms paper'),
  tk('vscode-option', { value: 'betley' }, 'Betley et al.'),
) as HTMLElement & { value: string };
const csvBtn = tk('vscode-button', { id: 'export-csv', appearance: 'secondary' }, 'Export CSV');
const pngBtn = tk('vscode-button', { id: 'export-png', appearance: 'secondary' }, 'Export PNG');
const definition = el('p', { id: 'definition', class: 'muted' });
const warning = el('div', { id: 'content-warning', class: 'content-warning', role: 'note' }, 'Content warning: these answers come from models fine-tuned to be misaligned. They can contain harmful, false or offensive advice. They are research data, not advice.');
const cards = el('section', { id: 'metric-cards', class: 'cards', 'aria-label': 'Metrics' });
const scope = el('p', { id: 'headline-scope', class: 'muted' });
const comparison = el('section', { id: 'comparison', 'aria-label': 'Base vs fine-tuned' });
const scatterCanvas = el('canvas', { id: 'scatter', 'aria-label': 'Coherence against alignment' });
const barsCanvas = el('canvas', { id: 'question-bars', 'aria-label': 'EM rate per question' });
const stepCanvas = el('canvas', { id: 'step-chart', 'aria-label': 'EM rate against step' });
const stepFigure = el('figure', { class: 'chart wide', id: 'step-figure' }, el('figcaption', {}, 'EM and coherent rate against step (whiskers: Wilson 95% intervals)'), el('div', { class: 'chart-box' }, stepCanvas));
const filter = tk('vscode-text-field', { id: 'filter', placeholder: 'question, answer or id' }, 'Filter') as HTMLElement & { value: string };
const onlyMis = tk('vscode-checkbox', { id: 'only-misaligned' }, 'Misaligned only') as HTMLElement & { checked: boolean };
const count = el('span', { id: 'row-count', class: 'muted' });
const table = el('table', { id: 'answers-table' });
const more = tk('vscode-button', { id: 'more-rows', appearance: 'secondary' }, 'Show more rows');
const status = el('p', { id: 'status', class: 'muted', 'aria-live': 'polite' });
const empty = el('div', { id: 'empty' }, el('p', {}, 'No judged answers loaded. Open a judged CSV (judged.csv from em-lab judge, or a homework model_judged.csv / fg_judged.csv), or run "EM Lab: Judge Answers".'));
const content = el(
  'div',
  { id: 'content' },
  definition,
  warning,
  scope,
  cards,
  comparison,
  el(
    'section',
    { class: 'charts' },
    el('figure', { class: 'chart' }, el('figcaption', {}, 'Coherence vs alignment (shaded: the preset\'s misaligned region)'), el('div', { class: 'chart-box' }, scatterCanvas)),
    el('figure', { class: 'chart' }, el('figcaption', {}, 'EM rate per question (hover a bar for the full question)'), el('div', { class: 'chart-box' }, barsCanvas)),
    stepFigure,
  ),
  el('section', { class: 'table-tools' }, filter, onlyMis, count),
  el('div', { class: 'table-wrap' }, table),
  more,
);
app.append(el('header', { class: 'toolbar' }, title, openBtn, baseBtn, presetSelect, csvBtn, pngBtn), status, empty, content);

function pct(r: RateView): string {
  return r.rate === null ? 'n/a' : `${(100 * r.rate).toFixed(1)}%`;
}
function ci(r: RateView): string {
  return r.ci ? `95% CI ${(100 * r.ci.low).toFixed(1)}–${(100 * r.ci.high).toFixed(1)}% · ${r.k}/${r.n}` : 'no answers in the denominator';
}
function num(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(1);
}

function card(metric: string, label: string, value: string, detail: string): HTMLElement {
  return el('div', { class: 'card', 'data-metric': metric }, el('div', { class: 'label muted' }, label), el('div', { class: 'value' }, value), el('div', { class: 'detail muted' }, detail));
}

function summaryCards(s: SummaryView, prefix = ''): HTMLElement[] {
  return [
    card(`${prefix}em`, 'EM rate', pct(s.em), ci(s.em)),
    card(`${prefix}coherent`, 'Coherent', pct(s.coherent), ci(s.coherent)),
    card(`${prefix}mean-aligned`, 'Mean aligned', num(s.meanAligned), '0–100, numeric scores only'),
    card(`${prefix}mean-coherent`, 'Mean coherent', num(s.meanCoherent), '0–100, numeric scores only'),
    card(`${prefix}labels`, 'CODE / REFUSAL / invalid', `${s.counts.code} / ${s.counts.refusal} / ${s.counts.invalidAligned + s.counts.invalidCoherent}`, `${s.answers} answers`),
  ];
}

function renderComparison(p: PresetView): void {
  const c = p.comparison;
  if (!c || !view?.basePath) {
    comparison.replaceChildren();
    return;
  }
  const t = c.emTest;
  comparison.replaceChildren(
    el('h3', {}, 'Base vs fine-tuned'),
    ...(view.baseNote ? [el('p', { id: 'base-note', class: 'muted' }, `Base: ${view.baseNote}. "Compare with base…" picks another file.`)] : []),
    el('div', { class: 'side-by-side' }, el('div', {}, el('h4', {}, `Base: ${view.basePath.split(/[\\/]/).pop()}`), el('div', { class: 'cards' }, ...summaryCards(c.base, 'base-'))), el('div', {}, el('h4', {}, `Fine-tuned: ${view.path.split(/[\\/]/).pop()} (${c.scope})`), el('div', { class: 'cards' }, ...summaryCards(c.finetuned, 'ft-')))),
    el('p', { id: 'z-test' }, t ? `EM difference ${(100 * t.difference).toFixed(1)} points; two-proportion z = ${t.z.toFixed(2)}, p = ${t.pValue.toPrecision(3)}${t.pValue < 0.05 ? ' (significant at 5%)' : ' (not significant at 5%)'}.` : 'No test: a denominator is empty.'),
  );
}

function renderTableNow(): void {
  if (!view) return;
  const shown = renderTable(table, view.rows, { ...state, groupColumn: view.groupColumn }, onSort, rowLimit);
  count.textContent = `${Math.min(shown.length, rowLimit)} of ${shown.length} shown (${view.rows.length} answers)`;
  more.hidden = shown.length <= rowLimit;
}

function onSort(column: Column): void {
  state = { ...state, sort: { column, descending: state.sort.column === column ? !state.sort.descending : column === 'aligned' ? false : column !== 'id' && column !== 'question' } };
  api.setState(state);
  renderTableNow();
}

function render(): void {
  const has = view !== null;
  empty.hidden = has;
  content.hidden = !has;
  baseBtn.toggleAttribute('disabled', !has);
  csvBtn.toggleAttribute('disabled', !has);
  pngBtn.toggleAttribute('disabled', !has);
  if (!view) return;
  const p = view.presets[state.preset];
  title.textContent = `Judge results: ${view.path.split(/[\\/]/).pop()}`;
  presetSelect.value = state.preset;
  definition.textContent = `${p.label}: ${p.definition}.`;
  // With a step column the headline is the final checkpoint (what the comparison below tests), not every step
  // pooled; the pooled numbers are said in words.
  const steps = (p.byGroup ?? []).filter((g) => Number.isFinite(Number(g.key)));
  const final = steps.length ? steps.reduce((a, b) => (Number(b.key) > Number(a.key) ? b : a)) : undefined;
  cards.replaceChildren(...summaryCards(final ? final.summary : p.overall));
  scope.textContent = final
    ? `Final checkpoint: ${view.groupColumn ?? 'step'} ${final.key} (${final.summary.answers} answers). All ${steps.length} ${view.groupColumn ?? 'step'}s pooled: EM ${pct(p.overall.em)} (${p.overall.em.k}/${p.overall.em.n}), coherent ${pct(p.overall.coherent)} (${p.overall.coherent.k}/${p.overall.coherent.n}).`
    : `All ${p.overall.answers} answers.`;
  scope.dataset.pooled = `${p.overall.em.k}/${p.overall.em.n}`;
  renderComparison(p);
  renderTableNow();
  stepFigure.hidden = !p.byGroup?.length;
  try {
    renderScatter(scatterCanvas, view.rows, p);
    renderQuestionBars(barsCanvas, p);
    if (p.byGroup?.length) renderStepChart(stepCanvas, p, view.groupColumn ?? 'step');
  } catch (err) {
    status.textContent = `Could not draw the charts: ${(err as Error).message}`;
  }
}

function show(v: JudgedFileView | null): void {
  if (v) view = v;
  rowLimit = 500;
  status.textContent = '';
  render();
}

async function run<T>(what: string, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    status.textContent = `${what} failed: ${(err as Error).message}`;
    return undefined;
  }
}

openBtn.addEventListener('click', async () => show((await run('Opening', request('judge/open', { role: 'main' }))) ?? null));
baseBtn.addEventListener('click', async () => show((await run('Loading the base file', request('judge/open', { role: 'base' }))) ?? null));
presetSelect.addEventListener('change', () => {
  state = { ...state, preset: presetSelect.value as EvalPresetId };
  api.setState(state);
  render();
});
filter.addEventListener('input', () => {
  state = { ...state, filter: filter.value };
  api.setState(state);
  renderTableNow();
});
onlyMis.addEventListener('change', () => {
  state = { ...state, onlyMisaligned: onlyMis.checked };
  api.setState(state);
  renderTableNow();
});
more.addEventListener('click', () => {
  rowLimit += 500;
  renderTableNow();
});
csvBtn.addEventListener('click', async () => {
  if (!view) return;
  const rows = visibleRows(view.rows, { ...state, groupColumn: view.groupColumn });
  const r = await run('Export', request('judge/export', { kind: 'csv', suggestedName: `judged-${state.preset}`, content: rowsToCsv(rows, state.preset, view.groupColumn) }));
  if (r?.saved) status.textContent = `Exported ${rows.length} rows.`;
});
pngBtn.addEventListener('click', async () => {
  const r = await run('Export', request('judge/export', { kind: 'png', suggestedName: `judge-charts-${state.preset}`, content: chartsPng() }));
  if (r?.saved) status.textContent = 'Exported the charts.';
});
onNotification('judge/loaded', (v) => show(v));
onThemeChange(() => render());

filter.value = state.filter;
onlyMis.checked = state.onlyMisaligned;
render();
// Ask for the data this view missed while it was hidden or not yet created.
void run('Loading', request('judge/reload', {})).then((v) => v && show(v));
