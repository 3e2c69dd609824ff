// The phase transition (docs/steering.md, Turner et al. 2025) for the run the training view shows: how its LoRA
// B vectors rotate between checkpoints (cosine with the previous and with the final checkpoint), how large each
// module's update is (sigma), and EM against step when a sweep judged the checkpoints; the step of the sharpest
// rotation is marked on all three (a dashed vertical line). Data: train/phase (src/runtime/train/loraTrajectory.ts).
// Browser code. Stable hooks: #phase (section), #phase-note, #chart-phase-cos, #chart-phase-sigma, #chart-phase-em.
import { Chart, type Plugin } from 'chart.js';
import type { PhaseTransitionView } from '../../src/protocol/phaseTypes';
import type { SweepEmView } from '../../src/protocol/trainMethods';
import { chartColors, legend, onThemeChange, replaceChart, stepAxis, valueAxis, whiskers, type ChartColors, type IntervalPoint } from '../shared/charts';
import { el } from '../shared/vscodeApi';

export interface PhaseData {
  phase: PhaseTransitionView | null;
  reason?: string;
  em: SweepEmView | null;
}

/** Modules drawn one line each up to this many; beyond, their mean (as in the report). */
const MAX_MODULE_LINES = 6;
const MODULE_COLORS: (keyof ChartColors)[] = ['blue', 'orange', 'green', 'purple', 'yellow', 'red'];
const short = (m: string) => m.replace(/^layers\./, 'L').replace(/\.(self_attn|mlp)\./, '.');

/** A dashed vertical line at options.plugins.emLabStepMark.step (the sharpest rotation). */
const stepMark: Plugin = {
  id: 'emLabStepMark',
  afterDatasetsDraw(chart, _args, options: { step?: number | null; color?: string }) {
    const x = chart.scales.x;
    if (options.step === undefined || options.step === null || !x) return;
    const px = x.getPixelForValue(options.step);
    const { top, bottom } = chart.chartArea;
    const { ctx } = chart;
    ctx.save();
    ctx.strokeStyle = options.color ?? '#888';
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, bottom);
    ctx.stroke();
    ctx.restore();
  },
};

function figure(host: HTMLElement, id: string, title: string): HTMLCanvasElement {
  const canvas = el('canvas', { id, role: 'img', 'aria-label': title });
  host.append(el('figure', { class: 'chart' }, el('figcaption', {}, title), el('div', { class: 'chart-box' }, canvas)));
  return canvas;
}

export function createPhaseSection(host: HTMLElement): { set(data: PhaseData | undefined): void } {
  const note = el('p', { id: 'phase-note', class: 'muted' });
  const grid = el('div', { class: 'charts' });
  host.append(el('section', { id: 'phase', 'aria-labelledby': 'phase-title' }, el('h2', { id: 'phase-title' }, 'Phase transition: the LoRA vectors across checkpoints'), note, grid));
  const canvases = {
    cos: figure(grid, 'chart-phase-cos', 'B vectors: cosine with the previous and the final checkpoint'),
    sigma: figure(grid, 'chart-phase-sigma', 'Update size: largest singular value of scale·B·A'),
    em: figure(grid, 'chart-phase-em', 'EM rate against step (sweep, 95% intervals)'),
  };
  const charts = new Map<string, Chart>();
  let last: PhaseData | undefined;

  const draw = () => {
    const d = last;
    const phase = d?.phase ?? null;
    const c = chartColors();
    const mark = { step: phase?.sharpestStep ?? null, color: c.red };
    const steps = phase?.steps ?? [];
    note.textContent = !d
      ? ''
      : phase
        ? `${phase.steps.length} checkpoints, ${phase.modules.length} LoRA module${phase.modules.length === 1 ? '' : 's'}; ${phase.method.replace(/\.$/, '')}. ${phase.sharpestStep !== null ? `Sharpest rotation of the B vectors at step ${phase.sharpestStep} (dashed line).` : ''}${d.em ? '' : ' EM against step appears once a sweep has judged the checkpoints (em-lab sweep RUN).'}`
        : `No phase view yet: ${d.reason ?? 'the run needs two checkpoints'}.`;
    grid.classList.toggle('hidden', !phase);
    if (!phase) return;
    const perModule = phase.modules.length <= MAX_MODULE_LINES;
    const xRange = { min: Math.min(...steps, ...(d?.em?.points.map((p) => p.step) ?? [])), max: Math.max(...steps) };
    const line = (label: string, color: string, data: { x: number; y: number }[], dashed = false) => ({ label, data, borderColor: color, backgroundColor: color, pointRadius: 2.5, borderWidth: 1.5, showLine: true, ...(dashed ? { borderDash: [5, 4] } : {}) });
    const options = (yTitle: string, range: { min?: number; max?: number } = {}) => ({
      animation: false as const,
      parsing: false as const,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { ...stepAxis(c), ...xRange }, y: valueAxis(yTitle, c, range) },
      plugins: { legend: legend(c), emLabStepMark: mark },
    });
    const cosSeries = perModule
      ? phase.modules.map((m, i) => line(`${short(m.module)}: with the previous`, c[MODULE_COLORS[i % MODULE_COLORS.length]!], m.points.filter((p) => p.cosPrevB !== null).map((p) => ({ x: p.step, y: p.cosPrevB! }))))
      : [line(`mean of ${phase.modules.length} modules: with the previous`, c.blue, phase.summary.filter((s) => s.meanCosPrevB !== null).map((s) => ({ x: s.step, y: s.meanCosPrevB! })))];
    cosSeries.push(line(phase.modules.length === 1 ? 'with the final' : 'mean: with the final', c.fg, phase.summary.map((s) => ({ x: s.step, y: s.meanCosFinalB })), true));
    // An empty series, so the legend names the dashed marker line (drawn by the stepMark plugin).
    const marker = phase.sharpestStep !== null ? [{ ...line(`sharpest rotation (step ${phase.sharpestStep})`, c.red, [], true), pointRadius: 0 }] : [];
    cosSeries.push(...marker);
    replaceChart(charts, 'cos', () => new Chart(canvases.cos, { type: 'line', data: { datasets: cosSeries }, options: options(phase.rank === 1 ? 'cosine' : '|cosine| (top singular vectors)', { max: 1 }), plugins: [stepMark] }));
    const sigmaSeries = perModule
      ? phase.modules.map((m, i) => line(short(m.module), c[MODULE_COLORS[i % MODULE_COLORS.length]!], m.points.map((p) => ({ x: p.step, y: p.sigma }))))
      : [line(`root mean square of ${phase.modules.length} modules`, c.blue, phase.summary.map((s) => ({ x: s.step, y: s.sigmaRms })))];
    sigmaSeries.push(...marker);
    replaceChart(charts, 'sigma', () => new Chart(canvases.sigma, { type: 'line', data: { datasets: sigmaSeries }, options: options('sigma', { min: 0 }), plugins: [stepMark] }));
    const em = d?.em;
    canvases.em.closest('figure')!.classList.toggle('hidden', !em);
    if (em) {
      const points: IntervalPoint[] = em.points.map((p) => ({ x: p.step, y: 100 * p.rate, low: 100 * p.low, high: 100 * p.high }));
      replaceChart(charts, 'em', () => new Chart(canvases.em, { type: 'line', data: { datasets: [line(`EM rate (${em.preset} preset)`, c.orange, points as { x: number; y: number }[]), ...marker] }, options: options('EM rate (% of answers)', { min: 0 }), plugins: [stepMark, whiskers] }));
    }
  };
  onThemeChange(draw);
  return {
    set(data) {
      last = data;
      draw();
    },
  };
}
