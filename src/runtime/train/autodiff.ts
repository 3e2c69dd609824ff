// Reverse-mode differentiation over the graph builder's IR. onnxruntime-node has no training API, so the LoRA
// trainer appends the backward pass to its forward graph as ordinary ONNX nodes and runs it with InferenceSession.
//
// appendGradients(g, loss, params) walks only the nodes that lie on a path from a parameter to the loss: a node is
// "active" when one of its inputs depends on a parameter, and "needed" when the loss depends on one of its
// outputs. Frozen weights get no gradient of their own; the chain rule still passes through them (dx = dy·Wᵀ, done
// with Gemm transB so the big frozen matrix is never transposed in the graph). Fan-out is summed with Add.
import type { GraphBuilder, NodeIR, Value, Shape } from '../onnx/graphBuilder';
import { GraphBuildError } from '../onnx/graphBuilder';
import { isFloat } from '../onnx/dtypes';
import { GradCtx } from './gradCtx';
import { GRAD_RULES } from './gradRules/registry';

export interface GradientResult {
  /** d loss / d param, one per requested parameter (same shape and dtype as the parameter). */
  grads: Map<string, Value>;
  /** Names of forward nodes the backward pass went through (for tests and diagnostics). */
  visited: string[];
}

function hasSubgraph(n: NodeIR): boolean {
  return Object.values(n.attrs).some((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && 'graph' in a);
}

/**
 * Appends the backward graph of scalar `loss` with respect to `params` (graph inputs or outer values captured by a
 * Loop body) to `g`. Returns the gradient values; the caller decides what to output or feed on (optimizer).
 */
export function appendGradients(g: GraphBuilder, loss: Value, params: Value[]): GradientResult {
  if (loss.shape && loss.shape.length !== 0 && !(loss.shape.length === 1 && loss.shape[0] === 1)) {
    throw new GraphBuildError(`appendGradients: loss "${loss.name}" must be a scalar, has shape [${loss.shape}]`);
  }
  const forwardNodes = [...g.nodes];
  const active = new Set(params.map((p) => p.name));
  for (const n of forwardNodes) {
    if (!n.inputs.some((i) => i !== '' && active.has(i))) continue;
    if (hasSubgraph(n)) throw new GraphBuildError(`appendGradients: ${n.name} (${n.op}) has a subgraph on the path from a parameter; differentiate inside the body instead`);
    for (const o of n.outputs) if (isFloat(g.value(o).dtype)) active.add(o);
  }
  if (!active.has(loss.name)) throw new GraphBuildError(`appendGradients: loss "${loss.name}" does not depend on any of ${params.map((p) => p.name).join(', ')}`);

  // Backward reachability: which active values does the loss depend on?
  const needed = new Set<string>([loss.name]);
  const toVisit: NodeIR[] = [];
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const n = forwardNodes[k]!;
    if (!n.outputs.some((o) => needed.has(o) && active.has(o))) continue;
    toVisit.push(n);
    for (const i of n.inputs) if (i !== '' && active.has(i)) needed.add(i);
  }

  const ctx = new GradCtx(g);
  const grads = new Map<string, Value>();
  const accumulate = (name: string, dx: Value) => {
    const prev = grads.get(name);
    const sum = prev ? ctx.op('Add', [prev, dx]) : dx;
    ctx.alias(sum, g.value(name));
    grads.set(name, sum);
  };
  const seed = ctx.scalar(1, loss.dtype);
  accumulate(loss.name, loss.shape && loss.shape.length === 1 ? ctx.op('Reshape', [seed, g.constInt64([1])]) : seed);

  for (const n of toVisit) {
    const dys = n.outputs.map((o) => grads.get(o));
    if (dys.every((d) => d === undefined)) continue;
    const rule = GRAD_RULES[n.domain === 'ai.onnx' ? '' : n.domain ? `${n.domain}:${n.op}` : n.op];
    if (!rule) throw new GraphBuildError(`appendGradients: no gradient rule for ${n.domain ? n.domain + ':' : ''}${n.op} (node ${n.name}); add one in src/runtime/train/gradRules/`);
    const needs = n.inputs.map((i) => i !== '' && needed.has(i) && active.has(i));
    const dxs = rule(ctx, n, dys, needs);
    n.inputs.forEach((input, k) => {
      if (!needs[k]) return;
      const dx = dxs[k];
      if (!dx) return;
      ctx.alias(dx, g.value(input));
      accumulate(input, dx);
    });
  }

  const out = new Map<string, Value>();
  for (const p of params) {
    const gp = grads.get(p.name);
    if (!gp) throw new GraphBuildError(`appendGradients: the loss does not depend on parameter "${p.name}"`);
    out.set(p.name, gp);
  }
  return { grads: out, visited: toVisit.map((n) => n.name) };
}

export type { Shape };
