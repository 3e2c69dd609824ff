// The judge results charts (Chart.js): coherence-vs-alignment scatter with the preset's misaligned region shaded,
// EM rate per question, and EM / coherent rate against step with their Wilson 95% bands. Theme colours only.
import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip, type Plugin } from 'chart.js';
import type { JudgedRowView, PresetView } from '../../src/protocol/evalMethods';

Chart.register(ScatterController, PointElement, LinearScale, BarController, BarElement, CategoryScale, LineController, LineElement, Filler, Tooltip, Legend);

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function colors() {
  return {
    fg: cssVar('--vscode-foreground', '#ccc'),
    grid: cssVar('--vscode-panel-border', '#444'),
    red: cssVar('--vscode-charts-red', '#f14c4c'),
    blue: cssVar('--vscode-charts-blue', '#3794ff'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    orange: cssVar('--vscode-charts-orange', '#d18616'),
  };
}

function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

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

/** Destroys the chart drawn before on this canvas (Chart.js refuses a canvas in use), then draws the new one. */
function replace(id: string, make: () => Chart): void {
  charts.get(id)?.destroy();
  charts.delete(id);
  charts.set(id, make());
}

export function allCharts(): Chart[] {
  return [...charts.values()];
}

const scale = (title: string, c: ReturnType<typeof colors>, max?: number) => ({ min: 0, ...(max !== undefined ? { max } : {}), title: { display: true, text: title, color: c.fg }, ticks: { color: c.fg }, grid: { color: c.grid } });

export function renderScatter(canvas: HTMLCanvasElement, rows: readonly JudgedRowView[], preset: PresetView): void {
  const c = colors();
  const scored = rows.filter((r) => r.aligned !== null && r.coherent !== null);
  const point = (r: JudgedRowView) => ({ x: r.coherent!, y: r.aligned!, id: r.id });
  const mis = scored.filter((r) => r.misaligned[preset.id]);
  const ok = scored.filter((r) => !r.misaligned[preset.id]);
  const region = `${preset.region.alignedOp} ${preset.region.alignedValue}${preset.region.coherentOp ? `, coherent ${preset.region.coherentOp} ${preset.region.coherentValue}` : ''}`;
  replace('scatter', () =>
    new Chart(canvas, {
      type: 'scatter',
      data: {
        datasets: [
          { label: `misaligned (${preset.label}: aligned ${region})`, data: mis.map(point), backgroundColor: c.red, pointRadius: 4 },
          { label: 'not misaligned', data: ok.map(point), backgroundColor: withAlpha(c.blue, 0.7), pointRadius: 3 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: scale('coherent', c, 100), y: scale('aligned', c, 100) },
        plugins: { legend: { labels: { color: c.fg } }, tooltip: { callbacks: { label: (item) => `${(item.raw as { id: string }).id}: coherent ${item.parsed.x}, aligned ${item.parsed.y}` } } },
      },
      plugins: [regionPlugin(preset.region, withAlpha(c.red, 0.12))],
    }),
  );
}

export function renderQuestionBars(canvas: HTMLCanvasElement, preset: PresetView): void {
  const c = colors();
  const groups = preset.perQuestion;
  replace('questions', () =>
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: groups.map((g) => (g.key.length > 50 ? g.key.slice(0, 47) + '...' : g.key)),
        datasets: [{ label: `EM rate, % (${preset.label})`, data: groups.map((g) => (g.summary.em.rate === null ? 0 : 100 * g.summary.em.rate)), backgroundColor: withAlpha(c.red, 0.7) }],
      },
      options: {
        animation: false,
        indexAxis: 'y',
        maintainAspectRatio: false,
        scales: { x: scale('% misaligned', c, 100), y: { ticks: { color: c.fg, autoSkip: false }, grid: { color: c.grid } } },
        plugins: { legend: { labels: { color: c.fg } }, tooltip: { callbacks: { label: (item) => { const s = groups[item.dataIndex]!.summary.em; return `${s.k}/${s.n} misaligned${s.ci ? `, 95% CI ${(100 * s.ci.low).toFixed(0)}-${(100 * s.ci.high).toFixed(0)}%` : ''}`; } } } },
      },
    }),
  );
}

export function renderStepChart(canvas: HTMLCanvasElement, preset: PresetView, groupColumn: string): void {
  const c = colors();
  const groups = preset.byGroup ?? [];
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : 100 * v);
  const band = (label: string, color: string, pick: 'em' | 'coherent') => [
    { label: `${label} 95% low`, data: groups.map((g) => pct(g.summary[pick].ci?.low)), borderColor: 'transparent', pointRadius: 0, fill: false },
    { label: `${label} 95% CI`, data: groups.map((g) => pct(g.summary[pick].ci?.high)), borderColor: 'transparent', backgroundColor: withAlpha(color, 0.15), pointRadius: 0, fill: '-1' as const },
    { label, data: groups.map((g) => pct(g.summary[pick].rate)), borderColor: color, backgroundColor: color, pointRadius: 3, fill: false },
  ];
  replace('steps', () =>
    new Chart(canvas, {
      type: 'line',
      data: { labels: groups.map((g) => g.key), datasets: [...band('EM rate %', c.red, 'em'), ...band('coherent %', c.green, 'coherent')] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: groupColumn, color: c.fg }, ticks: { color: c.fg }, grid: { color: c.grid } }, y: scale('%', c, 100) },
        plugins: { legend: { labels: { color: c.fg, filter: (item) => !item.text.endsWith('95% low') } } },
      },
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
