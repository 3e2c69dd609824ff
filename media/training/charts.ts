// Live training charts (Chart.js): loss (raw, and an exponential moving average when smoothing is on) with the
// eval loss, learning rate, gradient norm, tokens/s. Theme colours only; data appended as metric lines arrive.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { MetricsView } from '../../src/protocol/trainMethods';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

const cssVar = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export interface TrainCharts {
  set(metrics: MetricsView[]): void;
  setSmoothing(on: boolean): void;
}

function lineChart(canvas: HTMLCanvasElement, labels: string[], colors: string[]): Chart<'line', { x: number; y: number }[]> {
  const fg = cssVar('--vscode-foreground', '#ccc'), grid = cssVar('--vscode-panel-border', '#444');
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: labels.map((label, i) => ({ label, data: [], borderColor: colors[i], backgroundColor: colors[i], pointRadius: label.startsWith('eval') ? 3 : 0, borderWidth: 1.5, showLine: true })) },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'step', color: fg }, ticks: { color: fg }, grid: { color: grid } }, y: { ticks: { color: fg }, grid: { color: grid } } },
      plugins: { legend: { labels: { color: fg } } },
    },
  });
}

export function createCharts(host: HTMLElement): TrainCharts {
  const blue = cssVar('--vscode-charts-blue', '#3794ff'), orange = cssVar('--vscode-charts-orange', '#d18616');
  const green = cssVar('--vscode-charts-green', '#89d185'), purple = cssVar('--vscode-charts-purple', '#b180d7'), red = cssVar('--vscode-charts-red', '#f14c4c');
  const canvas = (id: string, title: string) => {
    const c = document.createElement('canvas');
    c.id = id;
    const box = document.createElement('div');
    box.className = 'chart';
    box.setAttribute('aria-label', title);
    box.append(c);
    host.append(box);
    return c;
  };
  const loss = lineChart(canvas('chart-loss', 'Loss'), ['loss', 'eval loss'], [blue, orange]);
  const lr = lineChart(canvas('chart-lr', 'Learning rate'), ['learning rate'], [green]);
  const norm = lineChart(canvas('chart-grad', 'Gradient norm'), ['grad norm'], [purple]);
  const speed = lineChart(canvas('chart-speed', 'Tokens per second'), ['tokens/s'], [red]);
  let smoothing = true;
  let last: MetricsView[] = [];
  const ema = (xs: number[]) => {
    let s: number | undefined;
    return xs.map((x) => (s = s === undefined ? x : 0.9 * s + 0.1 * x));
  };
  const render = () => {
    const ys = last.map((m) => m.loss);
    const shown = smoothing ? ema(ys) : ys;
    loss.data.datasets[0]!.label = smoothing ? 'loss (EMA 0.9)' : 'loss';
    loss.data.datasets[0]!.data = last.map((m, i) => ({ x: m.step, y: shown[i]! }));
    loss.data.datasets[1]!.data = last.filter((m) => m.eval_loss !== undefined).map((m) => ({ x: m.step, y: m.eval_loss! }));
    lr.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.lr }));
    norm.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.grad_norm }));
    speed.data.datasets[0]!.data = last.map((m) => ({ x: m.step, y: m.tokens_per_s }));
    for (const c of [loss, lr, norm, speed]) c.update();
  };
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
