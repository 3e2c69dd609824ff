// Live training charts (Chart.js): loss (raw, or an exponential moving average when smoothing is on) with the
// held-out loss, learning rate, gradient norm, tokens/s. Each has axis titles with units and the linear,
// whole-number step axis (../shared/charts.ts); data is appended as metric lines arrive; a theme change redraws.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { MetricsView } from '../../src/protocol/trainMethods';
import { chartColors, legend, onThemeChange, stepAxis, valueAxis, type ChartColors } from '../shared/charts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface TrainCharts {
  set(metrics: MetricsView[]): void;
  setSmoothing(on: boolean): void;
}

interface Spec {
  id: string;
  /** What the figure shows (its caption and accessible name). */
  title: string;
  /** The value axis, with its unit. */
  axis: string;
  series: { label: string; color: keyof ChartColors; points?: boolean }[];
}

const SPECS: Spec[] = [
  { id: 'chart-loss', title: 'Loss per supervised token', axis: 'loss (nats / token)', series: [{ label: 'training loss', color: 'blue' }, { label: 'held-out loss', color: 'orange', points: true }] },
  { id: 'chart-lr', title: 'Learning rate', axis: 'learning rate', series: [{ label: 'learning rate', color: 'green' }] },
  { id: 'chart-grad', title: 'Gradient norm', axis: 'L2 norm, before clipping', series: [{ label: 'gradient norm', color: 'purple' }] },
  { id: 'chart-speed', title: 'Throughput', axis: 'tokens / s', series: [{ label: 'tokens/s', color: 'red' }] },
];

function draw(canvas: HTMLCanvasElement, spec: Spec, c: ChartColors): Chart<'line', { x: number; y: number }[]> {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: spec.series.map((s) => ({ label: s.label, data: [], borderColor: c[s.color], backgroundColor: c[s.color], pointRadius: s.points ? 3 : 0, borderWidth: 1.5, showLine: true })) },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: stepAxis(c), y: valueAxis(spec.axis, c) },
      // One series: the axis title says what it is; a legend would repeat it. A series with no points yet (no
      // held-out split) is left out of the legend.
      plugins: { legend: { ...legend(c), display: spec.series.length > 1, labels: { ...legend(c).labels, filter: (item, data) => (data.datasets[item.datasetIndex ?? 0]?.data.length ?? 0) > 0 } } },
    },
  });
}

export function createCharts(host: HTMLElement): TrainCharts {
  const canvases = SPECS.map((spec) => {
    const canvas = document.createElement('canvas');
    canvas.id = spec.id;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${spec.title} against training step`);
    const figure = document.createElement('figure');
    figure.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = spec.title;
    const box = document.createElement('div');
    box.className = 'chart-box';
    box.append(canvas);
    figure.append(caption, box);
    host.append(figure);
    return canvas;
  });
  let charts = SPECS.map((spec, i) => draw(canvases[i]!, spec, chartColors()));
  let smoothing = true;
  let last: MetricsView[] = [];
  const ema = (xs: number[]) => {
    let s: number | undefined;
    return xs.map((x) => (s = s === undefined ? x : 0.9 * s + 0.1 * x));
  };
  const render = () => {
    const [loss, lr, norm, speed] = charts as [Chart<'line', { x: number; y: number }[]>, Chart<'line', { x: number; y: number }[]>, Chart<'line', { x: number; y: number }[]>, Chart<'line', { x: number; y: number }[]>];
    const ys = last.map((m) => m.loss);
    const shown = smoothing ? ema(ys) : ys;
    loss.data.datasets[0]!.label = smoothing ? 'training loss (EMA 0.9)' : 'training loss';
    loss.data.datasets[0]!.data = last.map((m, i) => ({ x: m.step, y: shown[i]! }));
    loss.data.datasets[1]!.data = last.filter((m) => m.eval_loss !== undefined).map((m) => ({ x: m.step, y: m.eval_loss! }));
    lr.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.lr }));
    norm.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.grad_norm }));
    speed.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.tokens_per_s }));
    for (const c of charts) c.update();
  };
  onThemeChange(() => {
    for (const c of charts) c.destroy();
    charts = SPECS.map((spec, i) => draw(canvases[i]!, spec, chartColors()));
    render();
  });
  return {
    set(metrics) {
      last = metrics;
      render();
    },
    setSmoothing(on) {
      smoothing = on;
      render();
    },
  };
}
