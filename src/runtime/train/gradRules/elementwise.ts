// Gradient rules for elementwise ops. Binary ops broadcast (numpy rules): each input's gradient is summed back to
// its own shape with ctx.unbroadcast.
import type { Value } from '../../onnx/graphBuilder';
import { GraphBuildError } from '../../onnx/graphBuilder';
import { ONNX_DTYPE } from '../../onnx/dtypes';
import type { GradRule } from './types';

export const add: GradRule = (ctx, n, [dy], needs) => n.inputs.map((name, k) => (needs[k] ? ctx.unbroadcast(dy!, ctx.value(name)) : undefined));

export const sub: GradRule = (ctx, n, [dy], needs) => [
  needs[0] ? ctx.unbroadcast(dy!, ctx.value(n.inputs[0]!)) : undefined,
  needs[1] ? ctx.unbroadcast(ctx.op('Neg', [dy!]), ctx.value(n.inputs[1]!)) : undefined,
];

export const mul: GradRule = (ctx, n, [dy], needs) => {
  const [a, b] = n.inputs.map((i) => ctx.value(i));
  return [
    needs[0] ? ctx.unbroadcast(ctx.op('Mul', [dy!, b!]), a!) : undefined,
    needs[1] ? ctx.unbroadcast(ctx.op('Mul', [dy!, a!]), b!) : undefined,
  ];
};

// y = a / b: da = dy / b, db = -dy * y / b
export const div: GradRule = (ctx, n, [dy], needs) => {
  const [a, b] = n.inputs.map((i) => ctx.value(i));
  const y = ctx.value(n.outputs[0]!);
  const dyOverB = ctx.op('Div', [dy!, b!]);
  return [
    needs[0] ? ctx.unbroadcast(dyOverB, a!) : undefined,
    needs[1] ? ctx.unbroadcast(ctx.op('Neg', [ctx.op('Mul', [dyOverB, y])]), b!) : undefined,
  ];
};

export const neg: GradRule = (ctx, _n, [dy]) => [ctx.op('Neg', [dy!])];

// y = x^p: dx = dy * p * x^(p-1); dp = dy * y * ln(x)
export const pow: GradRule = (ctx, n, [dy], needs) => {
  const x = ctx.value(n.inputs[0]!);
  let p = ctx.value(n.inputs[1]!);
  if (p.dtype !== x.dtype) p = ctx.op('Cast', [p], { to: ONNX_DTYPE[x.dtype] });
  const y = ctx.value(n.outputs[0]!);
  const dx = needs[0] ? ctx.unbroadcast(ctx.op('Mul', [dy!, ctx.op('Mul', [p, ctx.op('Pow', [x, ctx.op('Sub', [p, ctx.scalar(1, x.dtype)])])])]), x) : undefined;
  let dp: Value | undefined;
  if (needs[1]) {
    const raw = ctx.op('Mul', [dy!, ctx.op('Mul', [y, ctx.op('Log', [x])])]);
    const pv = ctx.value(n.inputs[1]!);
    dp = ctx.unbroadcast(pv.dtype === x.dtype ? raw : ctx.op('Cast', [raw], { to: ONNX_DTYPE[pv.dtype] }), pv);
  }
  return [dx, dp];
};

// y = sqrt(x): dx = dy * 0.5 / y
export const sqrt: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  return [ctx.op('Div', [ctx.op('Mul', [dy!, ctx.scalar(0.5, y.dtype)]), y])];
};

// y = 1/x: dx = -dy * y^2
export const reciprocal: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  return [ctx.op('Neg', [ctx.op('Mul', [dy!, ctx.op('Mul', [y, y])])])];
};

export const exp: GradRule = (ctx, n, [dy]) => [ctx.op('Mul', [dy!, ctx.value(n.outputs[0]!)])];

export const log: GradRule = (ctx, n, [dy]) => [ctx.op('Div', [dy!, ctx.value(n.inputs[0]!)])];

// y = sigmoid(x): dx = dy * y * (1 - y)
export const sigmoid: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  return [ctx.op('Mul', [dy!, ctx.op('Mul', [y, ctx.op('Sub', [ctx.scalar(1, y.dtype), y])])])];
};

// y = tanh(x): dx = dy * (1 - y^2)
export const tanh: GradRule = (ctx, n, [dy]) => {
  const y = ctx.value(n.outputs[0]!);
  return [ctx.op('Mul', [dy!, ctx.op('Sub', [ctx.scalar(1, y.dtype), ctx.op('Mul', [y, y])])])];
};

// where(c, a, b): the gradient flows to the branch that was chosen.
export const where: GradRule = (ctx, n, [dy], needs) => {
  const [c, a, b] = n.inputs.map((i) => ctx.value(i));
  const zero = ctx.scalar(0, dy!.dtype);
  return [
    undefined,
    needs[1] ? ctx.unbroadcast(ctx.op('Where', [c!, dy!, zero]), a!) : undefined,
    needs[2] ? ctx.unbroadcast(ctx.op('Where', [c!, zero, dy!]), b!) : undefined,
  ];
};

export const identity: GradRule = (_ctx, _n, [dy]) => [dy];

export const cast: GradRule = (ctx, n, [dy]) => {
  const x = ctx.value(n.inputs[0]!);
  return [x.dtype === dy!.dtype ? dy : ctx.op('Cast', [dy!], { to: ONNX_DTYPE[x.dtype] })];
};

// Dropout(x, ratio, training_mode) -> (y, mask). In training y = x * mask / (1 - ratio).
export const dropout: GradRule = (ctx, n, [dy]) => {
  if (!n.inputs[2]) return [dy]; // no training_mode input: inference mode, y = x
  if (n.outputs.length < 2) throw new GraphBuildError(`${n.name} (Dropout): request the mask output (outputs: 2) so its gradient can reuse it`);
  const mask = ctx.op('Cast', [ctx.value(n.outputs[1]!)], { to: ONNX_DTYPE[dy!.dtype] });
  const ratio = n.inputs[1] ? ctx.value(n.inputs[1]) : ctx.scalar(0.5, dy!.dtype);
  const scale = ctx.op('Div', [ctx.scalar(1, dy!.dtype), ctx.op('Sub', [ctx.scalar(1, dy!.dtype), ratio.dtype === dy!.dtype ? ratio : ctx.op('Cast', [ratio], { to: ONNX_DTYPE[dy!.dtype] })])]);
  return [ctx.op('Mul', [ctx.op('Mul', [dy!, mask]), scale])];
};
