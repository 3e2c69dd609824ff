// Gradient rules for reductions and the softmax family.
import type { NodeIR, Value } from '../../onnx/graphBuilder';
import { ONNX_DTYPE } from '../../onnx/dtypes';
import type { GradCtx } from '../gradCtx';
import { constInts, intAttr, intsAttr, normAxis } from '../gradCtx';
import type { GradRule } from './types';

/** The reduced axes of a Reduce* node (input 1 since opset 13/18, else the attribute); all axes when absent. */
function reducedAxes(ctx: GradCtx, n: NodeIR, rank: number): number[] {
  const axes = n.inputs[1] ? constInts(ctx, n, 1) : intsAttr(n, 'axes');
  if (n.inputs[1] && !axes) throw new Error(`${n.name} (${n.op}): gradient needs constant axes`);
  if (!axes || axes.length === 0) {
    if (intAttr(n, 'noop_with_empty_axes', 0)) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, rank)).sort((p, q) => p - q);
}

/** dy of a reduction, broadcast back to x's shape. */
function expandBack(ctx: GradCtx, n: NodeIR, dy: Value, x: Value): Value {
  const rank = ctx.rank(x);
  const axes = reducedAxes(ctx, n, rank);
  const keep = intAttr(n, 'keepdims', 1);
  const kept = keep || axes.length === 0 || axes.length === rank ? dy : ctx.op('Unsqueeze', [dy, ctx.int64(axes)]);
  return ctx.op('Expand', [kept, ctx.shapeOf(x)]);
}

export const reduceSum: GradRule = (ctx, n, [dy]) => [expandBack(ctx, n, dy!, ctx.value(n.inputs[0]!))];

// mean = sum / count, count = product of the reduced dims (read at run time where they are symbolic).
export const reduceMean: GradRule = (ctx, n, [dy]) => {
  const x = ctx.value(n.inputs[0]!);
  const shape = ctx.shape(x);
  const axes = reducedAxes(ctx, n, shape.length);
  const dims = axes.map((a) => shape[a]!);
  let count: Value;
  if (dims.every((d) => typeof d === 'number')) count = ctx.scalar((dims as number[]).reduce((p, d) => p * d, 1), x.dtype);
  else {
    const sizes = ctx.op('Gather', [ctx.shapeOf(x), ctx.int64(axes)]);
    count = ctx.op('Cast', [ctx.op('ReduceProd', [sizes], { keepdims: 0 }, { outputInfo: [{ dtype: 'int64', shape: [] }] })], { to: ONNX_DTYPE[x.dtype] });
  }
  return [ctx.op('Div', [expandBack(ctx, n, dy!, x), count])];
};

// y = sum(x^2): dx = 2 x dy
export const reduceSumSquare: GradRule = (ctx, n, [dy]) => {
  const x = ctx.value(n.inputs[0]!);
  return [ctx.op('Mul', [ctx.op('Mul', [expandBack(ctx, n, dy!, x), x]), ctx.scalar(2, x.dtype)])];
};

// y = softmax(x): dx = y * (dy - sum(dy * y, axis))
export const softmax: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  const axis = intAttr(n, 'axis', -1);
  const s = ctx.op('ReduceSum', [ctx.op('Mul', [dy!, y]), ctx.int64([axis])], { keepdims: 1 });
  return [ctx.op('Mul', [y, ctx.op('Sub', [dy!, s])])];
};

// y = log_softmax(x): dx = dy - exp(y) * sum(dy, axis)
export const logSoftmax: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  const axis = intAttr(n, 'axis', -1);
  const s = ctx.op('ReduceSum', [dy!, ctx.int64([axis])], { keepdims: 1 });
  return [ctx.op('Sub', [dy!, ctx.op('Mul', [ctx.op('Exp', [y]), s])])];
};
