// Gradient rules for MatMul and Gemm. The expensive case in LoRA training is y = x·W with W a big frozen weight:
// dx = dy·Wᵀ is done as Gemm(dy, W, transB=1) on flattened rows, never as Transpose(W) (which ORT would
// constant-fold at session creation or run every step — see facts-onnxruntime-node.md). W gets no gradient.
import type { Value } from '../../onnx/graphBuilder';
import type { GradCtx } from '../gradCtx';
import { floatAttr, intAttr } from '../gradCtx';
import type { GradRule } from './types';

function swapLast2(ctx: GradCtx, v: Value): Value {
  const r = ctx.rank(v);
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return ctx.op('Transpose', [v], { perm });
}

// y = a @ b (numpy matmul semantics, batch dims broadcast)
export const matmul: GradRule = (ctx, n, [dy], needs) => {
  const a = ctx.value(n.inputs[0]!), b = ctx.value(n.inputs[1]!);
  const ra = ctx.rank(a), rb = ctx.rank(b);
  if (ra < 2 || rb < 2) throw new Error(`${n.name} (MatMul): 1-D operands are not supported by the gradient rule`);
  let da: Value | undefined, db: Value | undefined;
  if (needs[0]) {
    if (rb === 2) {
      // rows of a are independent: [rows, N] x [K, N]^T -> [rows, K], then back to a's shape.
      const flat = ra === 2 ? dy! : ctx.flatten2d(dy!);
      const g = ctx.op('Gemm', [flat, b], { transB: 1 });
      da = ra === 2 ? g : ctx.reshapeLike(g, a);
    } else {
      da = ctx.unbroadcast(ctx.op('MatMul', [dy!, swapLast2(ctx, b)]), a);
    }
  }
  if (needs[1]) {
    if (rb === 2) {
      // sum over all rows: [rows, K]^T x [rows, N] -> [K, N]
      const fa = ra === 2 ? a : ctx.flatten2d(a);
      const fdy = ra === 2 ? dy! : ctx.flatten2d(dy!);
      db = ctx.op('Gemm', [fa, fdy], { transA: 1 });
    } else {
      db = ctx.unbroadcast(ctx.op('MatMul', [swapLast2(ctx, a), dy!]), b);
    }
  }
  return [da, db];
};

// y = alpha * op(a) @ op(b) + beta * c, op = transpose when transA / transB
export const gemm: GradRule = (ctx, n, [dy], needs) => {
  const a = ctx.value(n.inputs[0]!), b = ctx.value(n.inputs[1]!);
  const alpha = floatAttr(n, 'alpha', 1), beta = floatAttr(n, 'beta', 1);
  const ta = intAttr(n, 'transA', 0), tb = intAttr(n, 'transB', 0);
  const al: Record<string, { float: number }> = alpha === 1 ? {} : { alpha: { float: alpha } };
  let da: Value | undefined, db: Value | undefined, dc: Value | undefined;
  if (needs[0]) da = ta ? ctx.op('Gemm', [b, dy!], { ...al, transA: tb, transB: 1 }) : ctx.op('Gemm', [dy!, b], { ...al, transB: tb ? 0 : 1 });
  if (needs[1]) db = tb ? ctx.op('Gemm', [dy!, a], { ...al, transA: 1, transB: ta }) : ctx.op('Gemm', [a, dy!], { ...al, transA: ta ? 0 : 1 });
  if (needs[2]) {
    const c = ctx.value(n.inputs[2]!);
    dc = ctx.unbroadcast(beta === 1 ? dy! : ctx.op('Mul', [dy!, ctx.scalar(beta, dy!.dtype)]), c);
  }
  return [da, db, dc];
};
