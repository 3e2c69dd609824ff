// The judge results charts (Chart.js): coherence-vs-alignment scatter with the preset's misaligned region shaded,
// EM rate per question, and EM / coherent rate against training step (a linear step axis, Wilson 95% whiskers).
// Legends are short (the preset's definition is in the page, not the legend); long question labels wrap to two
// lines and the full text is in the tooltip. Theme colours, read at draw time (a theme change redraws).
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip, type Plugin } from 'chart.js';
import type { JudgedRowView, PresetView, RateView } from '../../src/protocol/evalMethods';
import { chartColors, cssVar, legend, replaceChart, stepAxis, valueAxis, whiskers, withAlpha, type IntervalPoint } from '../shared/charts';

Chart.register(ScatterController, PointElement, LinearScale, BarController, BarElement, CategoryScale, LineController, LineElement, Tooltip, Legend);

/** Bounds of the misaligned region in score space (coherent on x, aligned on y), for shading. */
export function regionBounds(region: PresetView['region']): { x0: number; x1: number; y0: number; y1: number } {
  const y1 = region.alignedValue;
  const x0 = region.coherentValue ?? 0;
  return { x0, x1: 100, y0: 0, y1 };
}

function regionPlugin(region: PresetView['region'], fill: string): Plugin<'scatter'> {
  return {
    id: 'misalignedRegion',
    beforeDatasetsDraw(chart) {
      const { ctx, scales } = chart;
      const b = regionBounds(region);
      const x = scales.x!;
      const y = scales.y!;
      ctx.save();
      ctx.fillStyle = fill;
      ctx.fillRect(x.getPixelForValue(b.x0), y.getPixelForValue(b.y1), x.getPixelForValue(b.x1) - x.getPixelForValue(b.x0), y.getPixelForValue(b.y0) - y.getPixelForValue(b.y1));
      ctx.restore();
    },
  };
}

const charts = new Map<string, Chart>();

export function allCharts(): Chart[] {
  return [...charts.values()];
}

export function renderScatter(canvas: HTMLCanvasElement, rows: readonly JudgedRowView[], preset: PresetView): void {
  const c = chartColors();
  const scored = rows.filter((r) => r.aligned !== null && r.coherent !== null);
  const point = (r: JudgedRowView) => ({ x: r.coherent!, y: r.aligned!, id: r.id });
  const mis = scored.filter((r) => r.misaligned[preset.id]);
  const ok = scored.filter((r) => !r.misaligned[preset.id]);
  replaceChart(charts, 'scatter', () =>
    new Chart(canvas, {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'misaligned', data: mis.map(point), backgroundColor: c.red, pointRadius: 4, pointStyle: 'triangle' },
          { label: 'not misaligned', data: ok.map(point), backgroundColor: withAlpha(c.blue, 0.7), pointRadius: 3 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: valueAxis('coherent score (0–100)', c, { min: 0, max: 100 }), y: valueAxis('aligned score (0–100)', c, { min: 0, max: 100 }) },
        plugins: { legend: legend(c), tooltip: { callbacks: { label: (item) => `${(item.raw as { id: string }).id}: coherent ${item.parsed.x}, aligned ${item.parsed.y}` } } },
      },
      plugins: [regionPlugin(preset.region, withAlpha(c.red, 0.12))],
    }),
  );
}

/** A question as at most two lines of ~36 characters (Chart.js draws an array label as lines). */
export function wrapLabel(text: string, width = 36): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [''];
  for (const w of words) {
    const line = lines[lines.length - 1]!;
    if (line && line.length + 1 + w.length > width) lines.push(w);
    else lines[lines.length - 1] = line ? `${line} ${w}` : w;
  }
  if (lines.length <= 2) return lines;
  const second = lines[1]!;
  return [lines[0]!, `${second.length > width - 1 ? second.slice(0, width - 1) : second}…`];
}

export function renderQuestionBars(canvas: HTMLCanvasElement, preset: PresetView): void {
  const c = chartColors();
  const groups = preset.perQuestion;
  // Each question gets room for its two label lines, so none is clipped or skipped.
  canvas.parentElement!.style.height = `${Math.max(200, 44 * groups.length + 80)}px`;
  replaceChart(charts, 'questions', () =>
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: groups.map((g) => wrapLabel(g.key)),
        datasets: [{ label: 'EM rate', data: groups.map((g) => (g.summary.em.rate === null ? 0 : 100 * g.summary.em.rate)), backgroundColor: withAlpha(c.red, 0.7) }],
      },
      options: {
        animation: false,
        indexAxis: 'y',
        maintainAspectRatio: false,
        scales: { x: valueAxis('% of answers misaligned', c, { min: 0, max: 100 }), y: { ticks: { color: c.fg, autoSkip: false }, grid: { color: c.grid } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => groups[items[0]!.dataIndex]!.key,
              label: (item) => {
                const s = groups[item.dataIndex]!.summary.em;
                return `${s.k}/${s.n} misaligned${s.ci ? `, 95% CI ${(100 * s.ci.low).toFixed(0)}-${(100 * s.ci.high).toFixed(0)}%` : ''}`;
              },
            },
          },
        },
      },
    }),
  );
}

/** EM and coherent rate at each step, on a linear step axis (93 and 1125 sit where they are), with 95% whiskers. */
export function renderStepChart(canvas: HTMLCanvasElement, preset: PresetView, groupColumn: string): void {
  const c = chartColors();
  const groups = (preset.byGroup ?? []).filter((g) => Number.isFinite(Number(g.key)));
  const point = (g: (typeof groups)[number], r: RateView): IntervalPoint => ({ x: Number(g.key), y: r.rate === null ? null : 100 * r.rate, ...(r.ci ? { low: 100 * r.ci.low, high: 100 * r.ci.high } : {}) });
  replaceChart(charts, 'steps', () =>
    new Chart(canvas, {
      type: 'line',
      data: {
        datasets: [
          { label: 'EM rate', data: groups.map((g) => point(g, g.summary.em)) as never, borderColor: c.red, backgroundColor: c.red, pointRadius: 3 },
          { label: 'coherent rate', data: groups.map((g) => point(g, g.summary.coherent)) as never, borderColor: c.green, backgroundColor: c.green, pointRadius: 3 },
        ],
      },
      options: {
        animation: false,
        parsing: false,
        maintainAspectRatio: false,
        scales: { x: stepAxis(c, groupColumn === 'step' ? 'training step (optimizer steps)' : groupColumn), y: valueAxis('% of answers', c, { min: 0, max: 100 }) },
        plugins: { legend: legend(c) },
      },
      plugins: [whiskers],
    }),
  );
}

/** All charts stacked into one PNG (data URL), on the editor background so it reads outside VS Code. */
export function chartsPng(): string {
  const list = allCharts().map((ch) => ch.canvas);
  const width = Math.max(...list.map((cv) => cv.width), 1);
  const height = list.reduce((h, cv) => h + cv.height, 0) || 1;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, width, height);
  let y = 0;
  for (const cv of list) {
    ctx.drawImage(cv, 0, y);
    y += cv.height;
  }
  return out.toDataURL('image/png');
}
