// Line / point charts for the report: a linear x axis (training step) with whole-number ticks, a y axis with nice
// ticks, axis titles with units, a legend above the plot that wraps rather than overflows, series drawn as lines
// and/or markers, and 95% intervals as whiskers with caps. Rendered by raster.ts and written as PNG.
import { encodePng } from './png';
import { Raster, type Rgb } from './raster';

export interface ChartPoint {
  x: number;
  y: number;
  /** The interval around y (same units), drawn as a whisker. */
  low?: number;
  high?: number;
}

export interface ChartSeries {
  name: string;
  color: Rgb;
  points: ChartPoint[];
  line: boolean;
  markers: boolean;
}

export interface LineChartSpec {
  title: string;
  /** With the unit, e.g. "training step". */
  xTitle: string;
  /** With the unit, e.g. "EM rate (%)". */
  yTitle: string;
  series: ChartSeries[];
  /** Force the y range (e.g. 0..100 for percentages); otherwise it fits the data and intervals. */
  yMin?: number;
  yMax?: number;
  /** x values are whole numbers (steps): ticks are whole numbers too. */
  integerX?: boolean;
  width?: number;
  height?: number;
}

export const PALETTE: Record<'blue' | 'red' | 'green' | 'orange' | 'grey', Rgb> = {
  blue: [31, 119, 180],
  red: [214, 39, 40],
  green: [44, 160, 44],
  orange: [255, 127, 14],
  grey: [120, 120, 120],
};
const INK: Rgb = [34, 34, 34];
const GRID: Rgb = [226, 226, 226];
const WHITE: Rgb = [255, 255, 255];

/** Ticks at 1, 2 or 5 x 10^k covering [min, max] with about `target` intervals; whole numbers only when asked. */
export function niceTicks(min: number, max: number, target = 6, integer = false): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

/** A tick label: whole numbers plainly, others with just enough decimals for the step. */
export function tickLabel(v: number, step: number): string {
  if (Number.isInteger(v) && Number.isInteger(step)) return String(v);
  const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(step)) + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0)));
  return v.toFixed(decimals);
}

/** Splits legend entries into rows that fit `width`. */
function legendRows(series: ChartSeries[], width: number): ChartSeries[][] {
  const rows: ChartSeries[][] = [[]];
  let used = 0;
  for (const s of series) {
    const w = 24 + Raster.measure(s.name).width + 20;
    if (used + w > width && rows.at(-1)!.length) {
      rows.push([]);
      used = 0;
    }
    rows.at(-1)!.push(s);
    used += w;
  }
  return rows;
}

export interface ChartLayout {
  plot: { left: number; top: number; width: number; height: number };
  x(v: number): number;
  y(v: number): number;
  xTicks: number[];
  yTicks: number[];
}

/** Where everything goes (exported so tests can check that the step axis is linear and its ticks whole). */
export function layoutChart(spec: LineChartSpec): ChartLayout {
  const width = spec.width ?? 900;
  const height = spec.height ?? 480;
  const pts = spec.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p.x);
  let [xMin, xMax] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  const ys = pts.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y]);
  let yMin = spec.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let yMax = spec.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (yMin === yMax) [yMin, yMax] = [yMin - 1, yMax + 1];
  const yTicksRaw = niceTicks(yMin, yMax, 6);
  const yStep = yTicksRaw.length > 1 ? yTicksRaw[1]! - yTicksRaw[0]! : 1;
  // widen the range to whole tick steps unless it was forced
  if (spec.yMin === undefined) yMin = Math.floor(yMin / yStep + 1e-9) * yStep;
  if (spec.yMax === undefined) yMax = Math.ceil(yMax / yStep - 1e-9) * yStep;
  const yTicks = niceTicks(yMin, yMax, 6);
  const xTicks = niceTicks(xMin, xMax, 8, spec.integerX ?? false);
  const yLabelWidth = Math.max(...yTicks.map((t) => Raster.measure(tickLabel(t, yStep)).width));
  const legendHeight = legendRows(spec.series, width - 40).length * 20;
  const left = 20 + 15 + 8 + yLabelWidth + 8; // margin, y title, gap, tick labels, gap
  const top = 12 + 18 + 6 + legendHeight + 8; // margin, title, gap, legend, gap
  const bottom = 8 + 15 + 8 + 15 + 12; // gap, tick labels, gap, x title, margin
  const plot = { left, top, width: width - left - 24, height: height - top - bottom };
  const pad = (xMax - xMin) * 0.03;
  const [x0, x1] = [xMin - pad, xMax + pad];
  return {
    plot,
    x: (v) => plot.left + ((v - x0) / (x1 - x0)) * plot.width,
    y: (v) => plot.top + plot.height - ((v - yMin) / (yMax - yMin)) * plot.height,
    xTicks,
    yTicks,
  };
}

export function renderLineChart(spec: LineChartSpec): Buffer {
  const width = spec.width ?? 900;
  const height = spec.height ?? 480;
  const r = new Raster(width, height, WHITE);
  const L = layoutChart(spec);
  const { plot } = L;
  r.text(width / 2, 12 + 13, spec.title, { color: INK, bold: true, align: 'center' });
  // legend rows under the title
  legendRows(spec.series, width - 40).forEach((row, i) => {
    const total = row.reduce((s, x) => s + 24 + Raster.measure(x.name).width + 20, -20);
    let x = width / 2 - total / 2;
    const y = 12 + 18 + 6 + i * 20 + 13;
    for (const s of row) {
      if (s.line) r.line(x, y - 4, x + 18, y - 4, 2.5, s.color);
      if (s.markers) r.disc(x + 9, y - 4, 3.5, s.color);
      r.text(x + 24, y, s.name, { color: INK });
      x += 24 + Raster.measure(s.name).width + 20;
    }
  });
  const yStep = L.yTicks.length > 1 ? L.yTicks[1]! - L.yTicks[0]! : 1;
  for (const t of L.yTicks) {
    const y = L.y(t);
    r.line(plot.left, y, plot.left + plot.width, y, 1, GRID);
    r.text(plot.left - 8, y + 5, tickLabel(t, yStep), { color: INK, align: 'right' });
  }
  const xStep = L.xTicks.length > 1 ? L.xTicks[1]! - L.xTicks[0]! : 1;
  for (const t of L.xTicks) {
    const x = L.x(t);
    r.line(x, plot.top + plot.height, x, plot.top + plot.height + 5, 1, INK);
    r.text(x, plot.top + plot.height + 8 + 12, tickLabel(t, xStep), { color: INK, align: 'center' });
  }
  r.line(plot.left, plot.top, plot.left, plot.top + plot.height, 1.2, INK);
  r.line(plot.left, plot.top + plot.height, plot.left + plot.width, plot.top + plot.height, 1.2, INK);
  r.text(plot.left + plot.width / 2, height - 12 - 3, spec.xTitle, { color: INK, align: 'center' });
  r.text(20 + 7, plot.top + plot.height / 2, spec.yTitle, { color: INK, vertical: true });
  for (const s of spec.series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    for (const p of pts) {
      if (p.low === undefined || p.high === undefined) continue;
      const x = L.x(p.x);
      r.line(x, L.y(p.low), x, L.y(p.high), 1.5, s.color);
      r.line(x - 4, L.y(p.low), x + 4, L.y(p.low), 1.5, s.color);
      r.line(x - 4, L.y(p.high), x + 4, L.y(p.high), 1.5, s.color);
    }
    if (s.line) for (let i = 1; i < pts.length; i++) r.line(L.x(pts[i - 1]!.x), L.y(pts[i - 1]!.y), L.x(pts[i]!.x), L.y(pts[i]!.y), 2, s.color);
    if (s.markers) for (const p of pts) r.disc(L.x(p.x), L.y(p.y), 3.5, s.color);
  }
  return encodePng(width, height, r.toRgb());
}
