// Checks appendGradients against float64 central finite differences: builds a tiny float64 graph, runs forward +
// backward in onnxruntime, then perturbs each parameter element by ±h and re-runs the forward.
import type { GraphBuilder, Value } from '../../src/runtime/onnx/graphBuilder';
import { GraphBuilder as Builder } from '../../src/runtime/onnx/graphBuilder';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor, type OrtTensor } from '../../src/runtime/onnx/ort';
import { appendGradients } from '../../src/runtime/train/autodiff';

import { mulberry32 as rng } from '../../src/runtime/random';
export { rng };

export interface ParamSpec {
  name: string;
  dims: number[];
  /** Values; default uniform in [lo, hi). */
  data?: number[];
  lo?: number;
  hi?: number;
}

export interface GradCheckResult {
  relL2: number;
  perParam: Record<string, number>;
  loss: number;
}

/**
 * `build` receives the graph and the float64 parameter inputs and returns a scalar loss. Extra non-parameter
 * feeds (indices, masks) may be given in `feeds`.
 */
export async function gradCheck(
  params: ParamSpec[],
  build: (g: GraphBuilder, p: Value[]) => Value,
  options: { seed?: number; h?: number; feeds?: Record<string, OrtTensor>; onlyGrad?: string[]; /** check at most this many evenly spaced elements per parameter */ maxPerParam?: number } = {},
): Promise<GradCheckResult> {
  const r = rng(options.seed ?? 1);
  const g = new Builder('gradcheck', [{ domain: '', version: 21 }]);
  const values = params.map((p) => g.input(p.name, 'float64', p.dims));
  const loss = build(g, values);
  g.output(loss, 'loss');
  const wrt = options.onlyGrad ? values.filter((v) => options.onlyGrad!.includes(v.name)) : values;
  const { grads } = appendGradients(g, loss, wrt);
  for (const [name, gv] of grads) g.output(gv, `grad_${name}`);
  // float64: ORT's fusions have float32-only kernels, so graph optimizations stay off
  const { session } = await createSession(toModelBytes(g), { threads: 1, optimization: 'disabled' });
  const data = params.map((p) => Float64Array.from(p.data ?? Array.from({ length: p.dims.reduce((a, b) => a * b, 1) }, () => (p.lo ?? -1) + ((p.hi ?? 1) - (p.lo ?? -1)) * r())));
  const feeds = () => {
    const f: Record<string, OrtTensor> = { ...(options.feeds ?? {}) };
    params.forEach((p, k) => (f[p.name] = tensor('float64', data[k]!, p.dims)));
    return f;
  };
  const out = await session.run(feeds());
  const lossAt = async () => Number((await session.run(feeds(), ['loss'])).loss!.data[0]);
  const h = options.h ?? 1e-6;
  let num = 0, den = 0;
  const perParam: Record<string, number> = {};
  for (const v of wrt) {
    const k = values.indexOf(v);
    const d = data[k]!;
    const ad = out[`grad_${v.name}`]!.data as Float64Array;
    let pn = 0, pd = 0;
    const stride = options.maxPerParam ? Math.max(1, Math.floor(d.length / options.maxPerParam)) : 1;
    for (let i = 0; i < d.length; i += stride) {
      const x0 = d[i]!;
      d[i] = x0 + h;
      const lp = await lossAt();
      d[i] = x0 - h;
      const lm = await lossAt();
      d[i] = x0;
      const fd = (lp - lm) / (2 * h);
      pn += (ad[i]! - fd) ** 2;
      pd += fd * fd;
    }
    perParam[v.name] = Math.sqrt(pn / Math.max(pd, 1e-300));
    num += pn;
    den += pd;
  }
  return { relL2: Math.sqrt(num / Math.max(den, 1e-300)), perParam, loss: Number(out.loss!.data[0]) };
}

/** A fixed random projection so the loss sees every output element: sum(y * R). */
export function projectLoss(g: GraphBuilder, y: Value, dims: number[], seed = 7): Value {
  const r = rng(seed);
  const R = g.initializer(g.fresh('R'), 'float64', dims, Float64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1));
  return g.op('ReduceSum', [g.op('Mul', [y, R])], { keepdims: 0 });
}
