// The phase transition of a LoRA run (Turner et al. 2025): with a rank-1 adapter the B vector rotates sharply at the
// step where misaligned answers appear. For every module of a run's checkpoints we track its A and B vectors — for
// rank 1 the factors themselves, for higher ranks the top right/left singular vectors of scale·B·A — their norms,
// the cosine between consecutive checkpoints (local rotation) and with the final checkpoint, and the rotation rate.
// Everything in float64 from the checkpoints' safetensors; rank > 1 uses power iteration on the factors (never
// forming the [out, in] product).
import type { LoraModuleTrajectory, LoraVectorPoint, PhaseTransitionView } from '../../protocol/phaseTypes';
import { UserError } from '../errors';
import { listCheckpoints } from '../eval/sweep';
import { convertTensor } from '../model/hostTensor';
import { modulePath, peftKey, type LoraTarget } from '../model/llamaConfig';
import { readPeftAdapter } from '../model/peft';

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const len = (a: Float64Array) => Math.sqrt(dot(a, a));
const cos = (a: Float64Array, b: Float64Array) => {
  const n = len(a) * len(b);
  return n > 0 ? dot(a, b) / n : 0;
};

interface ModuleVectors {
  a: Float64Array;
  b: Float64Array;
  normA: number;
  normB: number;
  sigma: number;
}

/**
 * Top singular triplet of M = scale·B·A (B [out, r], A [r, in], row-major) by power iteration on MᵀM through the
 * factors: v ← Aᵀ(Bᵀ(B(A v))). Returns the unit right vector v (input space), the unit left vector u = Mv/σ
 * (output space) and σ. 300 iterations or until v moves by < 1e-13.
 */
export function topSingular(A: Float64Array, B: Float64Array, r: number, inDim: number, out: number, scale: number): { u: Float64Array; v: Float64Array; sigma: number } {
  const Av = (v: Float64Array) => {
    const y = new Float64Array(r);
    for (let k = 0; k < r; k++) for (let i = 0; i < inDim; i++) y[k] += A[k * inDim + i]! * v[i]!;
    return y;
  };
  const By = (y: Float64Array) => {
    const z = new Float64Array(out);
    for (let o = 0; o < out; o++) for (let k = 0; k < r; k++) z[o] += B[o * r + k]! * y[k]!;
    return z;
  };
  const Btz = (z: Float64Array) => {
    const y = new Float64Array(r);
    for (let o = 0; o < out; o++) for (let k = 0; k < r; k++) y[k] += B[o * r + k]! * z[o]!;
    return y;
  };
  const Aty = (y: Float64Array) => {
    const v = new Float64Array(inDim);
    for (let k = 0; k < r; k++) for (let i = 0; i < inDim; i++) v[i] += A[k * inDim + i]! * y[k]!;
    return v;
  };
  // start from the sum of A's rows (deterministic, and inside the row space unless the rows cancel)
  let v = Aty(new Float64Array(r).fill(1));
  if (len(v) === 0) v = new Float64Array(inDim).fill(1);
  v = v.map((x) => x / len(v));
  for (let it = 0; it < 300; it++) {
    const w = Aty(Btz(By(Av(v))));
    const n = len(w);
    if (n === 0) break;
    const next = w.map((x) => x / n);
    const moved = Math.sqrt(next.reduce((s, x, i) => s + (x - v[i]!) ** 2, 0));
    v = next;
    if (moved < 1e-13) break;
  }
  const mv = By(Av(v)).map((x) => x * scale);
  const sigma = len(mv);
  return { u: sigma > 0 ? mv.map((x) => x / sigma) : mv, v, sigma };
}

function moduleVectors(A: Float64Array, B: Float64Array, r: number, inDim: number, out: number, scale: number): ModuleVectors {
  const normA = len(A), normB = len(B);
  if (r === 1) return { a: A, b: B, normA, normB, sigma: Math.abs(scale) * normA * normB };
  const { u, v, sigma } = topSingular(A, B, r, inDim, out, scale);
  return { a: v, b: u, normA, normB, sigma };
}

const degrees = (c: number) => (Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI;

/** The trajectory of every LoRA module over the run's checkpoints (refuses runs with fewer than two). */
export async function loraTrajectory(runDir: string): Promise<PhaseTransitionView> {
  const checkpoints = await listCheckpoints(runDir);
  if (checkpoints.length < 2) throw new UserError('phase-few-checkpoints', `${runDir} has ${checkpoints.length} checkpoint: the LoRA vectors' movement needs at least two. Train with more checkpoints (--save_steps N).`);
  const perCheckpoint = checkpoints.map((cp) => {
    const adapter = readPeftAdapter(cp.path!);
    const vectors = new Map<string, ModuleVectors & { layer: number; target: LoraTarget }>();
    for (const { layer, target } of adapter.modules) {
      const a = adapter.tensors.get(peftKey(layer, target, 'A'))!, b = adapter.tensors.get(peftKey(layer, target, 'B'))!;
      const A = Float64Array.from(convertTensor(a, 'float32').data as Float32Array), B = Float64Array.from(convertTensor(b, 'float32').data as Float32Array);
      vectors.set(modulePath(layer, target).replace(/^model\./, ''), { layer, target, ...moduleVectors(A, B, adapter.rank, a.shape[1]!, b.shape[0]!, adapter.scale) });
    }
    return { step: cp.step, rank: adapter.rank, vectors };
  });
  const rank = perCheckpoint.at(-1)!.rank;
  if (perCheckpoint.some((c) => c.rank !== rank)) throw new UserError('phase-mixed-ranks', `${runDir}: the checkpoints have different ranks (${[...new Set(perCheckpoint.map((c) => c.rank))].join(', ')}); they are not one run.`);
  const signed = rank === 1; // singular vectors have no sign of their own: compare them up to sign
  const c = (x: Float64Array, y: Float64Array) => (signed ? cos(x, y) : Math.abs(cos(x, y)));
  const final = perCheckpoint.at(-1)!.vectors;
  const modules: LoraModuleTrajectory[] = [...final.entries()].map(([name, fin]) => {
    const points: LoraVectorPoint[] = [];
    perCheckpoint.forEach((cp, i) => {
      const m = cp.vectors.get(name);
      if (!m) return;
      const prev = i > 0 ? perCheckpoint[i - 1]!.vectors.get(name) : undefined;
      const cosPrevB = prev ? c(m.b, prev.b) : null;
      points.push({
        step: cp.step,
        normA: m.normA,
        normB: m.normB,
        sigma: m.sigma,
        cosPrevA: prev ? c(m.a, prev.a) : null,
        cosPrevB,
        cosFinalA: c(m.a, fin.a),
        cosFinalB: c(m.b, fin.b),
        rotationB: cosPrevB === null ? null : degrees(cosPrevB) / (cp.step - perCheckpoint[i - 1]!.step),
      });
    });
    return { module: name, layer: fin.layer, target: fin.target, rank, points };
  });
  const summary = perCheckpoint.map((cp) => {
    const pts = modules.map((m) => m.points.find((p) => p.step === cp.step)).filter((p): p is LoraVectorPoint => p !== undefined);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    return {
      step: cp.step,
      meanCosPrevB: mean(pts.flatMap((p) => (p.cosPrevB === null ? [] : [p.cosPrevB]))),
      meanCosFinalB: mean(pts.map((p) => p.cosFinalB)) ?? 0,
      meanRotationB: mean(pts.flatMap((p) => (p.rotationB === null ? [] : [p.rotationB]))),
      sigmaRms: Math.sqrt(mean(pts.map((p) => p.sigma * p.sigma)) ?? 0),
    };
  });
  let sharpestStep: number | null = null, best = -1;
  for (const s of summary) if (s.meanRotationB !== null && s.meanRotationB > best) [best, sharpestStep] = [s.meanRotationB, s.step];
  return {
    schemaVersion: 1,
    runDir,
    steps: perCheckpoint.map((cp) => cp.step),
    rank,
    method: rank === 1
      ? 'rank 1: A (input space) and B (output space) are the adapter\'s vectors themselves; cosines are signed'
      : `rank ${rank}: the top right (A side) and left (B side) singular vectors of scale·B·A, by power iteration; cosines are absolute (singular vectors have no sign)`,
    modules,
    summary,
    sharpestStep,
  };
}
