// Gradient rules for ops that move data without arithmetic: reshapes, transposes, concatenation, slicing,
// gathering and broadcasting.
import type { Value } from '../../onnx/graphBuilder';
import { GraphBuildError } from '../../onnx/graphBuilder';
import type { GradCtx } from '../gradCtx';
import { constInts, intAttr, intsAttr, normAxis } from '../gradCtx';
import type { GradRule } from './types';

/** Reshape, Squeeze, Unsqueeze, Flatten: the gradient is dy in x's shape. */
export const reshapeLike: GradRule = (ctx, n, [dy], needs) => n.inputs.map((name, k) => (k === 0 && needs[0] ? ctx.reshapeLike(dy!, ctx.value(name)) : undefined));

export const transpose: GradRule = (ctx, n, [dy]) => {
  const r = ctx.rank(ctx.value(n.inputs[0]!));
  const perm = intsAttr(n, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  const inv = new Array<number>(r);
  perm.forEach((p, i) => (inv[p] = i));
  return [ctx.op('Transpose', [dy!], { perm: inv })];
};

/** Size of `v` along `axis` as a 1-element int64 tensor (a constant when known at build time). */
function dimOf(ctx: GradCtx, v: Value, axis: number): Value {
  const d = ctx.shape(v)[axis];
  return typeof d === 'number' ? ctx.int64([d]) : ctx.shapeOf(v, axis, axis + 1);
}

export const concat: GradRule = (ctx, n, [dy], needs) => {
  const xs = n.inputs.map((i) => ctx.value(i));
  const axis = normAxis(intAttr(n, 'axis', 0), ctx.rank(xs[0]!));
  const dims = xs.map((x) => ctx.shape(x)[axis]);
  const sizes = dims.every((d) => typeof d === 'number') ? ctx.int64(dims as number[]) : ctx.op('Concat', xs.map((x) => dimOf(ctx, x, axis)), { axis: 0 });
  const parts = ctx.node('Split', [dy!, sizes], { axis }, { outputs: xs.length });
  return parts.map((p, k) => (needs[k] ? p : undefined));
};

export const split: GradRule = (ctx, n, dys) => {
  const x = ctx.value(n.inputs[0]!);
  const axis = normAxis(intAttr(n, 'axis', 0), ctx.rank(x));
  const parts = n.outputs.map((o, k) => dys[k] ?? ctx.zerosLike(ctx.value(o)));
  return [ctx.op('Concat', parts, { axis })];
};

// Slice with step 1: the gradient is dy zero-padded back to x's extent.
export const slice: GradRule = (ctx, n, [dy]) => {
  const x = ctx.value(n.inputs[0]!);
  const rank = ctx.rank(x);
  const starts = constInts(ctx, n, 1), ends = constInts(ctx, n, 2);
  const axes = n.inputs[3] ? constInts(ctx, n, 3) : starts?.map((_, i) => i);
  const steps = n.inputs[4] ? constInts(ctx, n, 4) : undefined;
  if (!starts || !ends || !axes) throw new GraphBuildError(`${n.name} (Slice): gradient needs constant starts, ends and axes`);
  if (steps && steps.some((s) => s !== 1)) throw new GraphBuildError(`${n.name} (Slice): gradient supports step 1 only`);
  const zero = ctx.int64([0]);
  const begins: Value[] = Array.from({ length: rank }, () => zero);
  const endPads: Value[] = Array.from({ length: rank }, () => zero);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, rank);
    const dimX = dimOf(ctx, x, a);
    const s = starts[i]!;
    // begin = clamp(start (+ dim if negative), 0, dim)
    const begin = s >= 0 ? ctx.op('Min', [ctx.int64([s]), dimX]) : ctx.op('Max', [ctx.op('Add', [dimX, ctx.int64([s])]), zero]);
    begins[a] = begin;
    endPads[a] = ctx.op('Sub', [ctx.op('Sub', [dimX, begin]), dimOf(ctx, dy!, a)]);
  });
  const pads = ctx.op('Concat', [...begins, ...endPads], { axis: 0 });
  return [ctx.op('Pad', [dy!, pads], { mode: 'constant' }, { outputInfo: [{ dtype: dy!.dtype }] })];
};

// Gather along axis 0 (embedding lookup): scatter-add dy rows back into a zero tensor of data's shape.
export const gather: GradRule = (ctx, n, [dy], needs) => {
  if (!needs[0]) return [undefined, undefined];
  const data = ctx.value(n.inputs[0]!), idx = ctx.value(n.inputs[1]!);
  if (normAxis(intAttr(n, 'axis', 0), ctx.rank(data)) !== 0) throw new GraphBuildError(`${n.name} (Gather): gradient supports axis 0 only`);
  const idx64 = idx.dtype === 'int64' ? idx : ctx.op('Cast', [idx], { to: 7 });
  const where = ctx.op('Unsqueeze', [idx64, ctx.int64([-1])]);
  return [ctx.op('ScatterND', [ctx.zerosLike(data), where, dy!], { reduction: 'add' }), undefined];
};

export const gatherElements: GradRule = (ctx, n, [dy], needs) => {
  if (!needs[0]) return [undefined, undefined];
  const data = ctx.value(n.inputs[0]!), idx = ctx.value(n.inputs[1]!);
  return [ctx.op('ScatterElements', [ctx.zerosLike(data), idx, dy!], { axis: intAttr(n, 'axis', 0), reduction: 'add' }), undefined];
};

export const expand: GradRule = (ctx, n, [dy], needs) => [needs[0] ? ctx.unbroadcast(dy!, ctx.value(n.inputs[0]!)) : undefined, undefined];
