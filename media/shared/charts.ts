// Chart.js conventions every EM Lab view follows: theme colours read from VS Code's variables (light, dark and high
// contrast), axis titles with units, a linear training-step axis with whole-number ticks (checkpoints at steps 93
// and 1125 sit where they belong, not evenly spaced as categories), short legends at the bottom with small swatches
// (long definitions go in the figure caption), and 95% intervals drawn as whiskers. Browser code only.
import { Chart, type ChartDataset, type Plugin, type ScaleOptions } from 'chart.js';

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export interface ChartColors {
  fg: string;
  grid: string;
  red: string;
  blue: string;
  green: string;
  orange: string;
  purple: string;
  yellow: string;
}

/** Read at draw time: a theme change re-creates the webview, so charts always start from the current theme. */
export function chartColors(): ChartColors {
  return {
    fg: cssVar('--vscode-foreground', '#ccc'),
    grid: cssVar('--vscode-panel-border', '#444'),
    red: cssVar('--vscode-charts-red', '#f14c4c'),
    blue: cssVar('--vscode-charts-blue', '#3794ff'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    orange: cssVar('--vscode-charts-orange', '#d18616'),
    purple: cssVar('--vscode-charts-purple', '#b180d7'),
    yellow: cssVar('--vscode-charts-yellow', '#cca700'),
  };
}

export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

type LinearScale = ScaleOptions<'linear'>;

/** A value axis with its title (say the unit: "loss (nats per token)", "% of answers"). */
export function valueAxis(title: string, c: ChartColors, range: { min?: number; max?: number } = {}): LinearScale {
  return { type: 'linear', ...range, title: { display: true, text: title, color: c.fg }, ticks: { color: c.fg }, grid: { color: c.grid } };
}

/** The training-step axis: linear (distances are steps), whole-number ticks only. */
export function stepAxis(c: ChartColors, title = 'training step (optimizer steps)'): LinearScale {
  return {
    type: 'linear',
    title: { display: true, text: title, color: c.fg },
    // precision 0 rounds the tick spacing to whole steps; the callback hides any fractional tick Chart.js still adds.
    ticks: { color: c.fg, precision: 0, callback: (v) => (Number.isInteger(Number(v)) ? String(v) : null) },
    grid: { color: c.grid },
  };
}

/** A legend that fits: small swatches, at the bottom, wrapping over lines rather than overflowing. */
export function legend(c: ChartColors, hide?: (text: string) => boolean) {
  return { position: 'bottom' as const, labels: { color: c.fg, boxWidth: 12, boxHeight: 12, padding: 8, ...(hide ? { filter: (item: { text: string }) => !hide(item.text) } : {}) } };
}

/** Points with a 95% interval: `low`/`high` drawn as whiskers by the plugin below. */
export interface IntervalPoint {
  x: number;
  y: number | null;
  low?: number;
  high?: number;
}

/** Draws each point's [low, high] as a vertical whisker with caps, in its dataset's colour. */
export const whiskers: Plugin = {
  id: 'emLabWhiskers',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    chart.data.datasets.forEach((ds, i) => {
      if (!chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      const y = chart.scales[meta.yAxisID ?? 'y'];
      if (!y) return;
      ctx.save();
      ctx.strokeStyle = String((ds as ChartDataset<'line'>).borderColor ?? '#888');
      ctx.lineWidth = 1.5;
      // Series side by side at the same step: their whiskers are nudged apart (3 px) so neither hides the other.
      const nudge = (i - (chart.data.datasets.length - 1) / 2) * 3;
      (ds.data as unknown[]).forEach((raw, j) => {
        const p = raw as IntervalPoint;
        const el = meta.data[j];
        if (!el || p.low === undefined || p.high === undefined) return;
        const [top, bottom, x] = [y.getPixelForValue(p.high), y.getPixelForValue(p.low), el.x + nudge];
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.moveTo(x - 4, top);
        ctx.lineTo(x + 4, top);
        ctx.moveTo(x - 4, bottom);
        ctx.lineTo(x + 4, bottom);
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};

/** Destroys the chart drawn before on a canvas (Chart.js refuses a canvas in use), then draws the new one. */
export function replaceChart(registry: Map<string, Chart>, id: string, make: () => Chart): Chart {
  registry.get(id)?.destroy();
  const chart = make();
  registry.set(id, chart);
  return chart;
}

/**
 * Calls `redraw` when VS Code switches the colour theme (it swaps the body's vscode-light / vscode-dark /
 * vscode-high-contrast class and the CSS variables live, without re-creating the page): canvas charts copied the
 * old colours when drawn, so they are drawn again.
 */
export function onThemeChange(redraw: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    redraw();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
