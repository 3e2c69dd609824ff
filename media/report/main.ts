// The experiment report webview: one page with the setup, the loss curve, EM and coherence against step (95%
// whiskers), base vs fine-tuned with the two-proportion test, example answers behind a content warning, cost and
// time per stage, and the commands that reproduce it. The data is the runtime's ExperimentReport (the same the CLI
// writes to report.json); exports go through the runtime (report.html, report.md). Text from the data is set with
// textContent, never parsed as HTML.
// Stable hooks for tests: #report[data-complete], section[data-section=<setup|loss|em|comparison|examples|costs|
// commands|stages|homework|phase|interventions>], #loss-chart, #em-chart, #comparison-table, #interventions-table,
// #chart-phase-cos (the training view's phase charts, media/training/phaseCharts.ts), #examples (details), #export-html,
// #export-md.
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { ExperimentReport, StageCostView, StageView } from '../../src/protocol/experimentTypes';
import type { ReportViewInit } from '../../src/protocol/experimentViewMethods';
import type { RateView } from '../../src/protocol/evalMethods';
import { describeIntervention } from '../../src/protocol/directionMethods';
import { renderAnswer } from '../shared/answerView';
import { chartColors, legend, onThemeChange, replaceChart, stepAxis, valueAxis, whiskers, type IntervalPoint } from '../shared/charts';
import { el, tk } from '../shared/vscodeApi';
import { createPhaseSection } from '../training/phaseCharts';
import { onNotification, request } from './hostRpc';

provideVSCodeDesignSystem().register(vsCodeButton());
Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

const app = document.getElementById('app')!;
const charts = new Map<string, Chart>();
const status = el('p', { id: 'status', class: 'muted', role: 'status', 'aria-live': 'polite' });

const pct = (r: RateView | undefined) => (r?.rate === null || r?.rate === undefined ? 'n/a' : `${(100 * r.rate).toFixed(1)}%`);
const ci = (r: RateView | undefined) => (r?.ci ? `${(100 * r.ci.low).toFixed(1)}–${(100 * r.ci.high).toFixed(1)}%` : '–');
const seconds = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`);
const usd = (c: StageCostView) => (c.usd === null ? (c.judgeRequests ? 'unknown price' : '–') : `$${c.usd.toFixed(4)}`);

function section(id: string, title: string, ...body: (Node | string)[]): HTMLElement {
  return el('section', { 'data-section': id, 'aria-labelledby': `h-${id}` }, el('h2', { id: `h-${id}` }, title), ...body);
}

function table(caption: string, head: string[], rows: (string | Node)[][], id?: string): HTMLTableElement {
  return el(
    'table',
    { ...(id ? { id } : {}), class: 'report-table' },
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c)))))),
  );
}

function missing(text: string): HTMLElement {
  return el('p', { class: 'missing muted' }, text);
}

function stageLine(s: StageView): HTMLElement {
  const what = s.status === 'done' ? s.detail ?? 'done' : s.reason ? `${s.status}: ${s.reason}` : s.status;
  return el('li', { 'data-stage': s.id, 'data-status': s.status }, el('span', { class: `stage-status status-${s.status}` }, s.status), ` ${s.title} — ${what}${s.fix && s.status !== 'done' ? ` (next: ${s.fix})` : ''}`);
}

function setup(r: ExperimentReport): HTMLElement {
  const s = r.setup;
  const t = s.training;
  const rows: [string, string][] = [
    ['Base model', s.model],
    ['Training data', s.data.map((d) => `${d.id}${d.used !== undefined ? ` (${d.used.toLocaleString('en-US')} of ${d.rows?.toLocaleString('en-US') ?? '?'} rows)` : ''}${d.harmful ? ', harmful' : ''}`).join('; ')],
    ['Preset', r.experiment.preset],
    ['LoRA', `rank ${t.loraRank}, alpha ${t.loraAlpha}${t.useRslora ? ' (rsLoRA)' : ''}, dropout ${t.loraDropout}, on ${t.targetModules.join(', ')}`],
    ['Optimisation', `learning rate ${t.learningRate} (${t.lrScheduler}, ${t.warmupSteps} warm-up), batch ${t.batchSize} x ${t.gradientAccumulationSteps}, ${s.totalSteps ?? t.maxSteps ?? '?'} steps, max length ${t.maxLength} tokens, seed ${t.seed}`],
    // what ran (run.json's epoch story, as `em-lab train status` says it), beside what was configured above
    ['Training run', s.run ? s.run.summary : 'not started'],
    ['Device', s.device ?? t.device],
    ['Evaluation', `${s.evaluation.questionSets.map((q) => `${q.title} (${q.questions})`).join(' + ')}; ${s.evaluation.samples} sample(s) each, ${s.evaluation.answersPerModel} answers per model, ${s.evaluation.maxNewTokens} new tokens, temperature ${s.evaluation.temperature}${s.evaluation.topK ? `, top_k ${s.evaluation.topK}` : ''}${s.evaluation.promptBos === 'double' ? ', double BOS (as the grader\'s generate.py)' : ''}, seed ${s.evaluation.seed}; checkpoints: ${s.evaluation.checkpoints}`],
    ['Judge', s.judge.provider === 'none' ? 'none (answers not scored)' : `${s.judge.model} (${s.judge.mode}${s.judge.baseURL ? `, ${s.judge.baseURL}` : ''})`],
    ['EM definition', `${s.metricPreset.label}: ${s.metricPreset.definition}`],
  ];
  const all = el('details', { class: 'all-options' }, el('summary', {}, 'Every training option'), el('pre', {}, JSON.stringify(t, null, 2)));
  return section('setup', 'Setup', table('Setup', ['Setting', 'Value'], rows), all);
}

function lossSection(r: ExperimentReport): HTMLElement {
  if (!r.loss?.length) return section('loss', 'Training loss', missing('No training steps yet: the train stage has not run.'));
  const canvas = el('canvas', { id: 'loss-chart', role: 'img', 'aria-label': `Training loss over ${r.loss.length} steps, from ${r.loss[0]!.loss.toFixed(2)} to ${r.loss.at(-1)!.loss.toFixed(2)} nats per token` });
  const c = chartColors();
  const evals = r.loss.filter((p) => p.evalLoss !== undefined);
  requestAnimationFrame(() =>
    replaceChart(charts, 'loss', () =>
      new Chart(canvas, {
        type: 'line',
        data: {
          datasets: [
            { label: 'training loss', data: r.loss!.map((p) => ({ x: p.step, y: p.loss })), borderColor: c.blue, backgroundColor: c.blue, pointRadius: r.loss!.length > 60 ? 0 : 2, borderWidth: 1.5 },
            ...(evals.length ? [{ label: 'held-out loss', data: evals.map((p) => ({ x: p.step, y: p.evalLoss! })), borderColor: c.orange, backgroundColor: c.orange, pointRadius: 3, borderWidth: 1.5 }] : []),
          ],
        },
        options: { animation: false, parsing: false, maintainAspectRatio: false, scales: { x: stepAxis(c), y: valueAxis('loss (nats / supervised token)', c) }, plugins: { legend: legend(c) } },
      }),
    ),
  );
  return section('loss', 'Training loss', el('div', { class: 'chart-box' }, canvas));
}

function emSection(r: ExperimentReport): HTMLElement {
  if (!r.byStep?.length) return section('em', 'EM and coherence against step', missing(r.setup.judge.provider === 'none' ? 'No judge: the answers were generated but not scored, so there are no EM rates.' : 'Nothing judged yet.'));
  const c = chartColors();
  const point = (x: number, v: RateView): IntervalPoint => ({ x, y: v.rate === null ? null : 100 * v.rate, ...(v.ci ? { low: 100 * v.ci.low, high: 100 * v.ci.high } : {}) });
  const canvas = el('canvas', { id: 'em-chart', role: 'img', 'aria-label': `EM rate and coherent rate at ${r.byStep.length} steps with 95% intervals; the table below lists them` });
  requestAnimationFrame(() =>
    replaceChart(charts, 'em', () =>
      new Chart(canvas, {
        type: 'line',
        data: {
          datasets: [
            { label: 'EM rate', data: r.byStep!.map((p) => point(p.step, p.em)) as never, borderColor: c.red, backgroundColor: c.red, pointRadius: 3 },
            { label: 'coherent rate', data: r.byStep!.map((p) => point(p.step, p.coherent)) as never, borderColor: c.green, backgroundColor: c.green, pointRadius: 3 },
          ],
        },
        options: { animation: false, parsing: false, maintainAspectRatio: false, scales: { x: stepAxis(c, 'training step (0 = base model)'), y: valueAxis('% of answers', c, { min: 0, max: 100 }) }, plugins: { legend: legend(c) } },
        plugins: [whiskers],
      }),
    ),
  );
  const rows = r.byStep.map((p) => [p.label === 'base' ? 'base model' : `step ${p.step}`, `${pct(p.em)} (${ci(p.em)})`, `${pct(p.coherent)} (${ci(p.coherent)})`, String(p.answers)]);
  return section(
    'em',
    'EM and coherence against step',
    el('p', { class: 'muted' }, `${r.setup.metricPreset.label}: ${r.setup.metricPreset.definition}. Whiskers: Wilson 95% intervals.`),
    el('div', { class: 'chart-box' }, canvas),
    table('EM and coherent rate per step', ['Model', 'EM rate (95% CI)', 'Coherent (95% CI)', 'Answers'], rows, 'by-step-table'),
  );
}

function comparisonSection(r: ExperimentReport): HTMLElement {
  const cmp = r.comparison;
  if (!cmp) return section('comparison', 'Base vs fine-tuned', missing('Needs judged answers from both the base model and a checkpoint.'));
  const t = cmp.emTest;
  const rows = [
    ['EM rate', `${pct(cmp.base.em)} (${ci(cmp.base.em)}, ${cmp.base.em.k}/${cmp.base.em.n})`, `${pct(cmp.finetuned.em)} (${ci(cmp.finetuned.em)}, ${cmp.finetuned.em.k}/${cmp.finetuned.em.n})`],
    ['Coherent', `${pct(cmp.base.coherent)} (${ci(cmp.base.coherent)})`, `${pct(cmp.finetuned.coherent)} (${ci(cmp.finetuned.coherent)})`],
    ['Mean aligned', cmp.base.meanAligned?.toFixed(1) ?? 'n/a', cmp.finetuned.meanAligned?.toFixed(1) ?? 'n/a'],
    ['Mean coherent', cmp.base.meanCoherent?.toFixed(1) ?? 'n/a', cmp.finetuned.meanCoherent?.toFixed(1) ?? 'n/a'],
  ];
  const test = t
    ? `EM difference ${(100 * t.difference).toFixed(1)} points; pooled two-proportion z = ${t.z.toFixed(2)}, two-sided p = ${t.pValue.toPrecision(3)} — ${t.pValue < 0.05 ? 'significant' : 'not significant'} at 5%.`
    : 'No test: a denominator is empty.';
  return section('comparison', 'Base vs fine-tuned', table('Base vs fine-tuned', ['Metric', 'Base model', `Fine-tuned (${cmp.finetunedLabel})`], rows, 'comparison-table'), el('p', { id: 'z-test' }, test));
}

/** With the homework's questions: its own base judgements beside EM Lab's base and the fine-tuned model (absent otherwise). */
function homeworkSection(r: ExperimentReport): HTMLElement | '' {
  const h = r.homeworkBaseline;
  if (!h) return '';
  const rows = h.rows.map((x) => [x.label, String(x.summary.answers), `${pct(x.summary.em)} (${ci(x.summary.em)})`, `${pct(x.summary.coherent)} (${ci(x.summary.coherent)})`, `${x.graderAligned.toFixed(2)} (${x.alignedScores})`, `${x.graderCoherent.toFixed(2)} (${x.coherentScores})`]);
  const t = h.comparison?.emTest;
  const test = t ? `${h.comparison!.finetunedLabel} vs the homework's base: EM difference ${(100 * t.difference).toFixed(1)} points; z = ${t.z.toFixed(2)}, two-sided p = ${t.pValue.toPrecision(3)} — ${t.pValue < 0.05 ? 'significant' : 'not significant'} at 5%.` : '';
  return section('homework', "The homework's base model", el('p', { class: 'muted' }, h.note),
    table("The homework's base model", ['Model', 'Answers', 'EM rate (95% CI)', 'Coherent (95% CI)', "Grader's aligned average (scores)", "Grader's coherent average (scores)"], rows, 'homework-table'),
    ...(test ? [el('p', {}, test)] : []));
}

/** The interventions stage (docs/steering.md): EM with and without the direction ablated or added, as the paper's ablation table. */
function interventionsSection(r: ExperimentReport): HTMLElement | '' {
  const iv = r.interventions;
  if (!iv?.results.length) return '';
  const rows = iv.results.map((x) => [
    x.name,
    x.modelLabel,
    describeIntervention(x),
    x.without ? `${pct(x.without.em)} (${ci(x.without.em)})` : 'not judged',
    x.with ? `${pct(x.with.em)} (${ci(x.with.em)})` : x.answers ? `${x.answers} answers, not judged` : 'not run',
    x.with ? `${pct(x.with.coherent)} (${ci(x.with.coherent)})` : '–',
    x.emTest ? `${x.emTest.difference >= 0 ? '+' : ''}${(100 * x.emTest.difference).toFixed(1)} points, p = ${x.emTest.pValue.toPrecision(3)}` : '–',
    x.emReduction === null ? '–' : `${(100 * x.emReduction).toFixed(0)}%`,
  ]);
  return section(
    'interventions',
    'Interventions: the misalignment direction ablated or added',
    el('p', { class: 'muted' }, `Direction ${iv.direction}, layer ${iv.layer}. Each run answers the same questions with the same seeds as the model it is compared with; ${r.setup.metricPreset.label}, Wilson 95% intervals, pooled two-proportion z-test.`),
    table('Interventions', ['Run', 'Model', 'Intervention', 'EM without (95% CI)', 'EM with (95% CI)', 'Coherent with', 'Change', 'EM removed'], rows, 'interventions-table'),
  );
}

// The phase charts keep one host across redraws (their own charts and theme listener live with it).
const phaseHost = el('div');
const phase = createPhaseSection(phaseHost);
phaseHost.querySelector('section')?.setAttribute('data-section', 'phase');

/** The LoRA vectors across checkpoints next to EM against step, the sharpest rotation marked (docs/steering.md). */
function phaseSection(r: ExperimentReport): HTMLElement | '' {
  if (!r.phase) return '';
  const points = (r.byStep ?? []).filter((p) => p.em.rate !== null && p.em.ci).map((p) => ({ step: p.step, rate: p.em.rate!, low: p.em.ci!.low, high: p.em.ci!.high, n: p.em.n }));
  phase.set({ phase: r.phase, em: points.length ? { preset: r.setup.metricPreset.label, points } : null });
  return phaseHost;
}

function examplesSection(r: ExperimentReport): HTMLElement {
  if (!r.examples.length) return section('examples', 'Example answers', missing('No answers yet.'));
  const answer = (title: string, a: ExperimentReport['examples'][number]['base']) => {
    if (!a) return el('div', { class: 'answer' }, el('h4', {}, title), missing('not answered'));
    const content = el('div', { class: 'content' });
    renderAnswer(content, a.response);
    const scores = a.aligned === null && a.coherent === null ? 'not judged' : `aligned ${a.aligned ?? a.alignedLabel ?? 'n/a'}, coherent ${a.coherent ?? 'n/a'}${a.misaligned ? ' — misaligned' : ''}`;
    return el('div', { class: `answer${a.misaligned ? ' misaligned' : ''}` }, el('h4', {}, title), content, el('p', { class: 'muted scores' }, scores));
  };
  const list = r.examples.map((x) => el('article', { class: 'example', 'data-question': x.questionId }, el('h3', {}, x.question), el('div', { class: 'pair' }, answer('Base model', x.base), answer(`Fine-tuned (${r.comparison?.finetunedLabel ?? 'last checkpoint'})`, x.finetuned))));
  const warning = r.contentWarning ?? 'These are raw model outputs, shown as generated.';
  // Closed by default: the reader opens it after reading the warning (its summary).
  return section('examples', 'Example answers', el('details', { id: 'examples', class: 'content-warning-box' }, el('summary', {}, `Show ${r.examples.length} example answers. ${warning}`), ...list));
}

function costsSection(r: ExperimentReport): HTMLElement {
  const rows = r.costs.map(({ stage, cost }) => [
    stage,
    seconds(cost.seconds),
    String(cost.answersGenerated),
    cost.trainSteps !== undefined ? `${cost.trainSteps} steps, ${(cost.trainTokens ?? 0).toLocaleString('en-US')} tokens` : '–',
    String(cost.judgeRequests),
    cost.promptTokens || cost.completionTokens ? `${cost.promptTokens.toLocaleString('en-US')} in / ${cost.completionTokens.toLocaleString('en-US')} out` : '–',
    usd(cost),
  ]);
  return section('costs', 'Cost and time per stage', table('Cost and time per stage', ['Stage', 'Wall time', 'Answers', 'Training', 'Judge requests', 'Judge tokens', 'Judge cost (list price)'], rows, 'costs-table'));
}

function commandsSection(r: ExperimentReport): HTMLElement {
  const items = r.commands.map((c) => {
    const copy = tk('vscode-button', { appearance: 'secondary', 'aria-label': `Copy: ${c.title}` }, 'Copy');
    copy.addEventListener('click', () => void request('report/copy', { text: c.command }).then(() => (status.textContent = `Copied: ${c.title}`)));
    return el('li', {}, el('div', { class: 'command-title' }, c.title, el('span', { class: 'muted' }, ` (in ${c.cwd})`)), el('div', { class: 'command' }, el('pre', {}, c.command), copy));
  });
  return section('commands', 'Reproduce it', el('ol', { class: 'commands' }, ...items));
}

let shown: ReportViewInit | undefined;

function render(init: ReportViewInit): void {
  shown = init;
  const { report: r, status: s } = init;
  const exportHtml = tk('vscode-button', { id: 'export-html', appearance: 'primary' }, 'Export HTML');
  const exportMd = tk('vscode-button', { id: 'export-md', appearance: 'secondary' }, 'Export Markdown');
  const judged = tk('vscode-button', { id: 'open-judged', appearance: 'secondary' }, 'Open in Judge Results');
  const chat = tk('vscode-button', { id: 'open-chat', appearance: 'secondary' }, 'Chat with the Checkpoint');
  const folder = tk('vscode-button', { id: 'reveal', appearance: 'secondary' }, 'Reveal Folder');
  judged.toggleAttribute('disabled', !r.byStep?.length);
  chat.toggleAttribute('disabled', !r.loss?.length);
  const exportAs = (format: 'html' | 'markdown') => {
    status.textContent = `Writing report.${format === 'html' ? 'html' : 'md'}…`;
    request('report/export', { format }).then((x) => (status.textContent = `Wrote ${x.files.join(', ')}`), (err: Error) => (status.textContent = `Export failed: ${err.message}`));
  };
  exportHtml.addEventListener('click', () => exportAs('html'));
  exportMd.addEventListener('click', () => exportAs('markdown'));
  judged.addEventListener('click', () => void request('report/open', { what: 'judged' }));
  chat.addEventListener('click', () => void request('report/open', { what: 'chat' }));
  folder.addEventListener('click', () => void request('report/open', { what: 'folder' }));
  const notes = r.notes.length ? el('div', { class: 'notes', role: 'note' }, ...r.notes.map((n) => el('p', {}, n))) : '';
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  // A redraw (new data, a theme change) keeps what the reader opened and where they were.
  const opened = new Set([...app.querySelectorAll('details[open]')].map((d) => d.id || d.className));
  const scroll = window.scrollY;
  app.replaceChildren(
    el(
      'div',
      { id: 'report', 'data-complete': String(s.complete) },
      el('header', { class: 'report-header' }, el('h1', {}, `Experiment report: ${r.experiment.name}`), el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Report actions' }, exportHtml, exportMd, judged, chat, folder)),
      el('p', { class: 'muted' }, `${r.experiment.description ? `${r.experiment.description} · ` : ''}${r.experiment.dir} · computed ${new Date(r.generatedAt).toLocaleString()} by EM Lab ${r.emLabVersion}${s.running ? ' · the experiment is running: this page follows it' : ''}`),
      status,
      section('stages', 'Stages', el('ul', { class: 'stages' }, ...r.stages.map(stageLine))),
      notes,
      setup(r),
      lossSection(r),
      emSection(r),
      comparisonSection(r),
      homeworkSection(r),
      phaseSection(r),
      interventionsSection(r),
      examplesSection(r),
      costsSection(r),
      commandsSection(r),
    ),
  );
  for (const d of app.querySelectorAll('details')) if (opened.has(d.id || d.className)) d.open = true;
  window.scrollTo(0, scroll);
}

onNotification('report/updated', render);
onThemeChange(() => shown && render(shown));
request('report/init', {}).then(
  (init) => (init ? render(init) : app.replaceChildren(el('p', {}, 'No experiment chosen. Open one from the Experiments view.'))),
  (err: Error) => app.replaceChildren(el('p', { class: 'error', role: 'alert' }, `The report could not load: ${err.message}`)),
);
