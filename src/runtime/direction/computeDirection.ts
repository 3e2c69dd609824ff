// The misalignment direction (Soligo, Turner et al. 2025, "Convergent linear representations of emergent
// misalignment"): for each decoder layer L, the mean over misaligned answers of their mean residual activation
// after layer L, minus the same mean over aligned answers; both groups coherent. Which answers are misaligned,
// aligned and coherent follows the metric preset (one table below for the aligned side; the misaligned and coherent
// sides are the preset's own, from presets.ts / metrics.ts).
import { basename } from 'node:path';
import { UserError } from '../errors';
import type { JudgedAnswer } from '../eval/judgedAnswer';
import { isCoherent, isMisaligned } from '../eval/metrics';
import { compare, formatComparison, PRESETS, type Comparison, type MetricPreset } from '../eval/presets';
import { norm, type DirectionMetadata } from './directionFile';

/**
 * The aligned group per preset (coherent too, by the preset's coherence rule). Homework: the complement of its
 * misaligned rule (aligned >= 75). Paper and Betley: aligned > 70, the threshold Soligo, Turner et al. use for
 * aligned answers (answers between the two thresholds are in neither group).
 */
export const ALIGNED_GROUP: Record<Exclude<MetricPreset['id'], 'custom'>, Comparison> = {
  homework: { op: '>=', value: 75 },
  paper: { op: '>', value: 70 },
  betley: { op: '>', value: 70 },
};

/** Fewer answers than this in either group: the mean difference is mostly noise, so we refuse (--min-group). */
export const MIN_GROUP_SIZE = 10;

export type GroupOf = 'misaligned' | 'aligned' | 'incoherent' | 'between' | 'unscored';

export function groupOf(a: JudgedAnswer, p: MetricPreset): GroupOf {
  if (a.aligned.value === null || a.coherent.value === null) return 'unscored';
  if (!isCoherent(a, p)) return 'incoherent';
  if (isMisaligned(a, p)) return 'misaligned';
  if (compare(a.aligned.value, ALIGNED_GROUP[p.id as keyof typeof ALIGNED_GROUP]!)) return 'aligned';
  return 'between';
}

export function groupDefinitions(p: MetricPreset): { misaligned: string; aligned: string } {
  const coherent = formatComparison('coherent', p.coherentWhen);
  const mis = [formatComparison('aligned', p.misalignedWhenAligned), ...(p.misalignedWhenCoherent ? [formatComparison('coherent', p.misalignedWhenCoherent)] : [])];
  if (!mis.some((m) => m === coherent)) mis.push(coherent);
  return { misaligned: mis.join(' AND '), aligned: `${formatComparison('aligned', ALIGNED_GROUP[p.id as keyof typeof ALIGNED_GROUP]!)} AND ${coherent}` };
}

export function presetFor(name: string): MetricPreset {
  const p = (PRESETS as Record<string, MetricPreset>)[name];
  if (!p) throw new UserError('unknown-preset', `--preset ${name}: use ${Object.keys(PRESETS).join(', ')}.`);
  return p;
}

/** Splits the judged answers into the two groups; refuses when either is smaller than `minGroup`. */
export function splitGroups(answers: readonly JudgedAnswer[], p: MetricPreset, minGroup: number, source: string): { misaligned: number[]; aligned: number[]; counts: Record<GroupOf, number> } {
  const counts: Record<GroupOf, number> = { misaligned: 0, aligned: 0, incoherent: 0, between: 0, unscored: 0 };
  const misaligned: number[] = [], aligned: number[] = [];
  answers.forEach((a, i) => {
    const g = groupOf(a, p);
    counts[g]++;
    if (g === 'misaligned') misaligned.push(i);
    if (g === 'aligned') aligned.push(i);
  });
  if (misaligned.length < minGroup || aligned.length < minGroup) {
    const d = groupDefinitions(p);
    throw new UserError(
      'direction-group-too-small',
      `${source}: ${misaligned.length} misaligned (${d.misaligned}) and ${aligned.length} aligned (${d.aligned}) answers under the ${p.id} preset; each group needs at least ${minGroup}. ` +
        `(${counts.incoherent} incoherent, ${counts.between} in between, ${counts.unscored} without scores.) Judge more answers (more samples per question, e.g. em-lab generate-eval --samples 10), use a looser --preset, or lower --min-group at the cost of a noisier direction.`,
    );
  }
  return { misaligned, aligned, counts };
}

export interface LayerStats {
  layer: number;
  /** |mean misaligned − mean aligned|. */
  norm: number;
  /** Mean projection of each group's answers on the unit direction. */
  projMisaligned: number;
  projAligned: number;
  /** (projMisaligned − projAligned) / pooled standard deviation of the projections: how well the layer separates. */
  separation: number | null;
}

/**
 * direction[L] = mean(means[misaligned]) − mean(means[aligned]) per layer, in float64. `means[i]` holds
 * [layers.length * hidden] (answerActivations' layout).
 */
export function meanDifference(means: readonly (Float64Array | null)[], groups: { misaligned: number[]; aligned: number[] }, layers: readonly number[], hidden: number): { directions: Map<number, Float64Array>; stats: LayerStats[] } {
  const avg = (idx: number[]) => {
    const out = new Float64Array(layers.length * hidden);
    let n = 0;
    for (const i of idx) {
      const m = means[i];
      if (!m) continue;
      for (let k = 0; k < out.length; k++) out[k] += m[k]!;
      n++;
    }
    return { mean: out.map((x) => x / Math.max(n, 1)), n };
  };
  const mis = avg(groups.misaligned), al = avg(groups.aligned);
  const directions = new Map<number, Float64Array>();
  const stats: LayerStats[] = [];
  layers.forEach((layer, j) => {
    const d = new Float64Array(hidden);
    for (let i = 0; i < hidden; i++) d[i] = mis.mean[j * hidden + i]! - al.mean[j * hidden + i]!;
    directions.set(layer, d);
    const n = norm(d);
    const proj = (idx: number[]) => idx.map((i) => means[i]).filter((m): m is Float64Array => m !== null).map((m) => {
      let s = 0;
      for (let k = 0; k < hidden; k++) s += m[j * hidden + k]! * d[k]!;
      return n > 0 ? s / n : 0;
    });
    const pm = proj(groups.misaligned), pa = proj(groups.aligned);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    const ss = (xs: number[], m: number) => xs.reduce((a, x) => a + (x - m) ** 2, 0);
    const mM = mean(pm), mA = mean(pa);
    const pooled = Math.sqrt((ss(pm, mM) + ss(pa, mA)) / Math.max(pm.length + pa.length - 2, 1));
    stats.push({ layer, norm: n, projMisaligned: mM, projAligned: mA, separation: pooled > 0 ? (mM - mA) / pooled : null });
  });
  return { directions, stats };
}

/** Parses --layers: 'all' or a comma list of decoder layers, each checked against the model. */
export function parseLayers(text: string | undefined, numLayers: number): number[] {
  if (text === undefined || text.trim() === 'all') return [...Array(numLayers).keys()];
  const layers = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= numLayers) throw new UserError('bad-layers', `--layers ${text}: ${l} is not a decoder layer of this model (0..${numLayers - 1}). Give 'all' or a comma list such as 8,12.`);
  }
  return [...new Set(layers)].sort((a, b) => a - b);
}

export function directionMetadata(o: { model: string; adapter?: string; judged: string; preset: MetricPreset; counts: Record<GroupOf, number>; answersUsed: { misaligned: number; aligned: number }; truncated: number; steering?: string }): DirectionMetadata {
  const d = groupDefinitions(o.preset);
  return {
    model: o.model,
    ...(o.adapter ? { adapter: o.adapter } : {}),
    method: 'mean-difference: for each decoder layer, the residual stream after the layer averaged over each answer\'s tokens (question as user turn, answer as assistant turn, the model\'s chat template), then mean over misaligned answers minus mean over aligned answers',
    judged: o.judged,
    judgedName: basename(o.judged),
    preset: o.preset.id,
    misalignedGroup: d.misaligned,
    alignedGroup: d.aligned,
    counts: JSON.stringify({ ...o.answersUsed, groups: o.counts, truncated: o.truncated }),
    ...(o.steering ? { steering: o.steering } : {}),
    createdAt: new Date().toISOString(),
  };
}
