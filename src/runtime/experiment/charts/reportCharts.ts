// The report's three charts, from the report data: training loss, EM rate and coherent rate against step (95%
// Wilson intervals as whiskers). Each is null when there is nothing to draw yet.
import type { ExperimentReport } from '../../../protocol/experimentTypes';
import { PALETTE, renderLineChart, type ChartPoint } from './lineChart';

export type ChartName = 'loss' | 'em' | 'coherence';

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
  return {
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
