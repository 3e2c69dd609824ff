// The report's charts, from the report data: training loss, EM rate and coherent rate against step (95% Wilson
// intervals as whiskers), and the LoRA vectors' rotation and size against step (the phase transition, with the
// sharpest rotation marked). Each is null when there is nothing to draw yet.
import type { ExperimentReport } from '../../../protocol/experimentTypes';
import { PALETTE, renderLineChart, type ChartPoint } from './lineChart';
import type { Rgb } from './raster';

export type ChartName = 'loss' | 'em' | 'coherence' | 'phase' | 'loraNorm';

/** Modules drawn one line each up to this many; beyond, their mean. */
const MAX_MODULE_LINES = 6;
const MODULE_COLORS: Rgb[] = [PALETTE.blue, PALETTE.orange, PALETTE.green, PALETTE.red, PALETTE.grey, [148, 103, 189]];

export function reportCharts(r: ExperimentReport): Record<ChartName, Buffer | null> {
  const loss = r.loss;
  const byStep = r.byStep;
  const preset = r.setup.metricPreset.label;
  const ratePoints = (key: 'em' | 'coherent'): ChartPoint[] =>
    (byStep ?? []).filter((p) => p[key].rate !== null).map((p) => ({ x: p.step, y: 100 * p[key].rate!, ...(p[key].ci ? { low: 100 * p[key].ci!.low, high: 100 * p[key].ci!.high } : {}) }));
  const rateChart = (key: 'em' | 'coherent', title: string, yTitle: string, color: typeof PALETTE.red) => {
    const points = ratePoints(key);
    if (!points.length) return null;
    const top = Math.max(...points.map((p) => p.high ?? p.y));
    return renderLineChart({ title, xTitle: 'training step (0 = base model)', yTitle, integerX: true, yMin: 0, ...(top > 80 ? { yMax: 100 } : {}), series: [{ name: `${key === 'em' ? 'EM rate' : 'coherent rate'} with 95% interval (${points.length} models)`, color, points, line: true, markers: true }] });
  };
  const phase = r.phase;
  const perModule = phase && phase.modules.length <= MAX_MODULE_LINES;
  const short = (m: string) => m.replace(/^layers\./, 'L').replace(/\.(self_attn|mlp)\./, '.');
  const phaseChart = phase
    ? renderLineChart({
        title: `LoRA B vectors: rotation between checkpoints (sharpest at step ${phase.sharpestStep ?? '-'})`,
        xTitle: 'training step',
        yTitle: phase.rank === 1 ? 'cosine' : '|cosine| (top singular vectors)',
        integerX: true,
        series: [
          ...(perModule
            ? phase.modules.map((m, i) => ({ name: `${short(m.module)}: with previous checkpoint`, color: MODULE_COLORS[i % MODULE_COLORS.length]!, points: m.points.filter((p) => p.cosPrevB !== null).map((p) => ({ x: p.step, y: p.cosPrevB! })), line: true, markers: true }))
            : [{ name: `mean over ${phase.modules.length} modules: with previous checkpoint`, color: PALETTE.blue, points: phase.summary.filter((s) => s.meanCosPrevB !== null).map((s) => ({ x: s.step, y: s.meanCosPrevB! })), line: true, markers: true }]),
          { name: 'mean: with the final checkpoint', color: PALETTE.grey, points: phase.summary.map((s) => ({ x: s.step, y: s.meanCosFinalB })), line: true, markers: false },
          ...(phase.sharpestStep !== null ? [{ name: `sharpest rotation (step ${phase.sharpestStep})`, color: PALETTE.red, points: [{ x: phase.sharpestStep, y: phase.summary.find((s) => s.step === phase.sharpestStep)?.meanCosPrevB ?? 0 }], line: false, markers: true }] : []),
        ],
      })
    : null;
  const normChart = phase
    ? renderLineChart({
        title: 'LoRA update size: largest singular value of scale·B·A',
        xTitle: 'training step',
        yTitle: 'sigma (output units per unit input)',
        integerX: true,
        yMin: 0,
        series: perModule
          ? phase.modules.map((m, i) => ({ name: short(m.module), color: MODULE_COLORS[i % MODULE_COLORS.length]!, points: m.points.map((p) => ({ x: p.step, y: p.sigma })), line: true, markers: true }))
          : [{ name: `root mean square over ${phase.modules.length} modules`, color: PALETTE.blue, points: phase.summary.map((s) => ({ x: s.step, y: s.sigmaRms })), line: true, markers: true }],
      })
    : null;
  return {
    phase: phaseChart,
    loraNorm: normChart,
    loss: loss
      ? renderLineChart({
          title: 'Training loss',
          xTitle: 'optimizer step',
          yTitle: 'loss (nats / supervised token)',
          integerX: true,
          series: [
            { name: 'training loss', color: PALETTE.blue, points: loss.map((p) => ({ x: p.step, y: p.loss })), line: true, markers: loss.length <= 40 },
            ...(loss.some((p) => p.evalLoss !== undefined) ? [{ name: 'held-out loss', color: PALETTE.orange, points: loss.filter((p) => p.evalLoss !== undefined).map((p) => ({ x: p.step, y: p.evalLoss! })), line: true, markers: true }] : []),
          ],
        })
      : null,
    em: rateChart('em', `EM rate against training step (${preset})`, 'EM rate (% of answers)', PALETTE.red),
    coherence: rateChart('coherent', `Coherent answers against training step (${preset})`, 'coherent (% of answers)', PALETTE.green),
  };
}
