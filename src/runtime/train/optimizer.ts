// The AdamW update as ONNX nodes, appended after the gradients so one session.run() does forward, backward and
// the optimizer step (the LoRA state crosses the JS boundary once per step). Semantics follow torch.optim.AdamW
// and torch.nn.utils.clip_grad_norm_ exactly, so a plain-JS float64 reference can reproduce every number:
//   norm = sqrt(sum g²) over all parameters;  g *= min(1, max_norm / (norm + 1e-6))   (when max_norm > 0)
//   p *= 1 - lr·wd;  m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
//   p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
import type { GraphBuilder, Value } from '../onnx/graphBuilder';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clipping threshold; 0 disables clipping. */
  maxGradNorm: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

export interface AdamWState {
  param: Value;
  grad: Value;
  m: Value;
  v: Value;
}

export interface AdamWResult {
  params: Value[];
  ms: Value[];
  vs: Value[];
  /** Global L2 norm of the gradients before clipping (what HF logs as grad_norm). */
  gradNorm: Value;
}

/** `lr` and `step` (1-based, after this update) are scalar graph values of the parameters' dtype. */
export function appendAdamW(g: GraphBuilder, states: AdamWState[], lr: Value, step: Value, cfg: AdamWConfig): AdamWResult {
  const dtype = states[0]!.param.dtype as 'float32' | 'float64';
  const c = (x: number) => g.constFloat(x, dtype);
  const op = g.op.bind(g);
  let sq: Value | undefined;
  for (const s of states) {
    const part = op('ReduceSumSquare', [s.grad], { keepdims: 0 });
    sq = sq ? op('Add', [sq, part]) : part;
  }
  const gradNorm = op('Sqrt', [sq!]);
  const coef = cfg.maxGradNorm > 0 ? op('Min', [c(1), op('Div', [c(cfg.maxGradNorm), op('Add', [gradNorm, c(1e-6)])])]) : undefined;
  const bc1 = op('Sub', [c(1), op('Pow', [c(cfg.beta1), step])]);
  const sqrtBc2 = op('Sqrt', [op('Sub', [c(1), op('Pow', [c(cfg.beta2), step])])]);
  const stepSize = op('Div', [lr, bc1]);
  const decay = op('Sub', [c(1), op('Mul', [lr, c(cfg.weightDecay)])]);
  const out: AdamWResult = { params: [], ms: [], vs: [], gradNorm };
  for (const s of states) {
    const grad = coef ? op('Mul', [s.grad, coef]) : s.grad;
    const m = op('Add', [op('Mul', [s.m, c(cfg.beta1)]), op('Mul', [grad, c(1 - cfg.beta1)])]);
    const v = op('Add', [op('Mul', [s.v, c(cfg.beta2)]), op('Mul', [op('Mul', [grad, grad]), c(1 - cfg.beta2)])]);
    const denom = op('Add', [op('Div', [op('Sqrt', [v]), sqrtBc2]), c(cfg.eps)]);
    const decayed = cfg.weightDecay ? op('Mul', [s.param, decay]) : s.param;
    const p = op('Sub', [decayed, op('Mul', [stepSize, op('Div', [m, denom])])]);
    out.params.push(p);
    out.ms.push(m);
    out.vs.push(v);
  }
  return out;
}
