// Shape and dtype inference for the ops EM Lab's graphs use. It runs as each node is added, so a wrong wiring
// fails at build time with the node's name instead of at session creation (or, worse, silently broadcasting).
// Unknown ops, and ops whose output shape depends on tensor values, give `undefined` shapes: that is allowed,
// and callers may state the shape themselves.
import type { DType } from './dtypes';
import { DTYPE_FROM_ONNX, isFloat } from './dtypes';

export type Dim = number | string;
export type Shape = Dim[] | undefined;

export interface ValueInfo {
  dtype: DType;
  shape: Shape;
  /** Known integer contents of small constant int64 tensors (for Reshape/Unsqueeze axes), if any. */
  constInts?: number[];
}

export type AttrValue = number | string | number[] | string[] | { float: number } | { floats: number[] } | { graph: unknown } | { tensor: unknown };

export class GraphBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphBuildError';
  }
}

function fail(node: string, msg: string): never {
  throw new GraphBuildError(`${node}: ${msg}`);
}

/** Numpy-style broadcasting; throws when two known numeric dims clash. */
export function broadcastShapes(node: string, shapes: Shape[]): Shape {
  if (shapes.some((s) => s === undefined)) return undefined;
  const ss = shapes as Dim[][];
  const rank = Math.max(...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of ss) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (typeof dim === 'number' && typeof d === 'number' && dim !== d) {
        fail(node, `cannot broadcast shapes ${ss.map((x) => `[${x.join(',')}]`).join(' and ')} (dim ${i}: ${dim} vs ${d})`);
      } else if (typeof dim === 'string' && typeof d === 'number') dim = d;
    }
    out.push(dim);
  }
  return out;
}

function normAxis(node: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

const ELEMENTWISE_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']);
const UNARY_SAME = new Set(['Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Tanh', 'Relu', 'Abs', 'Cos', 'Sin', 'Identity', 'Softmax', 'LogSoftmax', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'Dropout']);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp']);

/**
 * Infers output infos for a standard-domain node. `inputs` may contain undefined for omitted optional inputs.
 * Returns one entry per output; entries may have undefined shapes.
 */
export function inferOutputs(node: string, op: string, domain: string, inputs: (ValueInfo | undefined)[], attrs: Record<string, AttrValue>, nOutputs: number): (ValueInfo | undefined)[] {
  const x = inputs[0];
  const unknown = (dtype?: DType): (ValueInfo | undefined)[] => Array.from({ length: nOutputs }, () => (dtype ? { dtype, shape: undefined } : undefined));
  if (domain !== '' && domain !== 'ai.onnx') return unknown();
  if (op === 'Loop' || op === 'If' || op === 'Scan') return unknown(); // outputs come from the body graph: declare them
  if (!x && op !== 'Constant' && op !== 'Range') return unknown();
  const int = (name: string, dflt: number) => (typeof attrs[name] === 'number' ? (attrs[name] as number) : dflt);
  const ints = (name: string) => (Array.isArray(attrs[name]) ? (attrs[name] as number[]) : undefined);

  if (ELEMENTWISE_BINARY.has(op) || op === 'Where' || COMPARE.has(op) || op === 'And' || op === 'Or') {
    const operands = op === 'Where' ? inputs.slice(1) : inputs;
    const dts = operands.map((i) => i?.dtype);
    if (op !== 'Pow' && dts.some((d) => d !== dts[0])) fail(node, `${op} operands have different dtypes: ${dts.join(', ')}`);
    if (op === 'Where' && inputs[0]?.dtype !== 'bool') fail(node, `Where condition must be bool, got ${inputs[0]?.dtype}`);
    const shape = broadcastShapes(node, inputs.map((i) => i?.shape));
    const dtype = COMPARE.has(op) || op === 'And' || op === 'Or' ? 'bool' : (operands[0]!.dtype as DType);
    return [{ dtype, shape }];
  }
  if (UNARY_SAME.has(op)) {
    const out: (ValueInfo | undefined)[] = [{ dtype: x!.dtype, shape: x!.shape }];
    if (op === 'Dropout' && nOutputs > 1) out.push({ dtype: 'bool', shape: x!.shape });
    return out;
  }
  if (op === 'Cast') {
    const to = int('to', 0);
    const dtype = DTYPE_FROM_ONNX[to];
    if (!dtype) fail(node, `Cast to unsupported type ${to}`);
    return [{ dtype, shape: x!.shape }];
  }
  if (op === 'MatMul') {
    const a = x!, b = inputs[1]!;
    if (a.dtype !== b.dtype) fail(node, `MatMul dtypes differ: ${a.dtype} vs ${b.dtype}`);
    if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: undefined }];
    if (a.shape.length < 2 || b.shape.length < 2) return [{ dtype: a.dtype, shape: undefined }];
    const k1 = a.shape[a.shape.length - 1]!, k2 = b.shape[b.shape.length - 2]!;
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) fail(node, `MatMul inner dims differ: [${a.shape}] x [${b.shape}]`);
    const batch = broadcastShapes(node, [a.shape.slice(0, -2), b.shape.slice(0, -2)])!;
    return [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!] }];
  }
  if (op === 'Gemm') {
    const a = x!, b = inputs[1]!;
    if (a.dtype !== b.dtype) fail(node, `Gemm dtypes differ: ${a.dtype} vs ${b.dtype}`);
    if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: undefined }];
    const ta = int('transA', 0), tb = int('transB', 0);
    const [m, ka] = ta ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = tb ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) fail(node, `Gemm inner dims differ: ${ka} vs ${kb}`);
    return [{ dtype: a.dtype, shape: [m, n] }];
  }
  if (op === 'Transpose') {
    if (!x!.shape) return [{ dtype: x!.dtype, shape: undefined }];
    const perm = ints('perm') ?? x!.shape.map((_, i) => x!.shape!.length - 1 - i);
    if (perm.length !== x!.shape.length) fail(node, `Transpose perm [${perm}] does not match rank ${x!.shape.length}`);
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape![p]!) }];
  }
  if (op === 'Reshape') {
    const target = inputs[1]?.constInts;
    if (!target) return [{ dtype: x!.dtype, shape: undefined }];
    const out: Dim[] = target.map((t, i) => (t === 0 ? (x!.shape?.[i] ?? `${node}_d${i}`) : t));
    const known = x!.shape && x!.shape.every((d) => typeof d === 'number') ? (x!.shape as number[]).reduce((p, d) => p * d, 1) : undefined;
    const neg = out.indexOf(-1);
    if (neg >= 0) {
      const rest = out.filter((_, i) => i !== neg);
      if (known !== undefined && rest.every((d) => typeof d === 'number')) out[neg] = known / (rest as number[]).reduce((p, d) => p * d, 1);
      else out[neg] = `${node}_inferred`;
    } else if (known !== undefined && out.every((d) => typeof d === 'number')) {
      const total = (out as number[]).reduce((p, d) => p * d, 1);
      if (total !== known) fail(node, `Reshape of [${x!.shape}] (${known} elements) to [${out}] (${total} elements)`);
    }
    return [{ dtype: x!.dtype, shape: out }];
  }
  if (REDUCE.has(op)) {
    const axes = inputs[1]?.constInts ?? ints('axes');
    const keep = int('keepdims', 1);
    if (!x!.shape || !axes) return [{ dtype: x!.dtype, shape: undefined }];
    const rank = x!.shape.length;
    const ax = new Set(axes.map((a) => normAxis(node, a, rank)));
    const shape = x!.shape.flatMap((d, i) => (ax.has(i) ? (keep ? [1] : []) : [d]));
    return [{ dtype: x!.dtype, shape }];
  }
  if (op === 'Unsqueeze' || op === 'Squeeze') {
    const axes = inputs[1]?.constInts ?? ints('axes');
    if (!x!.shape || !axes) return [{ dtype: x!.dtype, shape: undefined }];
    if (op === 'Unsqueeze') {
      const rank = x!.shape.length + axes.length;
      const ax = new Set(axes.map((a) => normAxis(node, a, rank)));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : x!.shape[j++]!);
      return [{ dtype: x!.dtype, shape: out }];
    }
    const ax = new Set(axes.map((a) => normAxis(node, a, x!.shape!.length)));
    for (const a of ax) if (typeof x!.shape[a] === 'number' && x!.shape[a] !== 1) fail(node, `Squeeze axis ${a} has size ${x!.shape[a]}`);
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !ax.has(i)) }];
  }
  if (op === 'Concat') {
    const axis = int('axis', 0);
    const dts = inputs.map((i) => i?.dtype);
    if (dts.some((d) => d !== dts[0])) fail(node, `Concat inputs have different dtypes: ${dts.join(', ')}`);
    if (inputs.some((i) => !i?.shape)) return [{ dtype: x!.dtype, shape: undefined }];
    const rank = x!.shape!.length;
    const a = normAxis(node, axis, rank);
    const out = [...x!.shape!];
    let sum: Dim = 0;
    for (const i of inputs) {
      if (i!.shape!.length !== rank) fail(node, `Concat inputs have different ranks`);
      const d = i!.shape![a]!;
      sum = typeof sum === 'number' && typeof d === 'number' ? sum + d : `${node}_concat`;
    }
    out[a] = sum;
    return [{ dtype: x!.dtype, shape: out }];
  }
  if (op === 'Gather') {
    const idx = inputs[1]!;
    if (idx.dtype !== 'int64' && idx.dtype !== 'int32') fail(node, `Gather indices must be int32/int64, got ${idx.dtype}`);
    if (!x!.shape || !idx.shape) return [{ dtype: x!.dtype, shape: undefined }];
    const a = normAxis(node, int('axis', 0), x!.shape.length);
    return [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, a), ...idx.shape, ...x!.shape.slice(a + 1)] }];
  }
  if (op === 'Shape') return [{ dtype: 'int64', shape: x!.shape ? [x!.shape.length] : undefined }];
  if (op === 'NonZero') return [{ dtype: 'int64', shape: x!.shape ? [x!.shape.length, `${node}_nonzero`] : undefined }];
  if (op === 'DequantizeLinear') return [{ dtype: inputs[1]?.dtype ?? 'float32', shape: x!.shape }]; // the scale's dtype
  if (op === 'CumSum') return [{ dtype: x!.dtype, shape: x!.shape }];
  if (op === 'Expand' || op === 'Slice' || op === 'Tile' || op === 'Range' || op === 'ConstantOfShape' || op === 'Split' || op === 'Trilu' || op === 'GatherElements' || op === 'ScatterElements' || op === 'ScatterND' || op === 'OneHot' || op === 'Loop' || op === 'If' || op === 'Einsum' || op === 'Constant') {
    if (op === 'Trilu' || op === 'ScatterElements' || op === 'ScatterND') return [{ dtype: x!.dtype, shape: x!.shape }];
    if (op === 'GatherElements') return [{ dtype: x!.dtype, shape: inputs[1]?.shape }];
    if (op === 'Split') return Array.from({ length: nOutputs }, () => ({ dtype: x!.dtype, shape: undefined }));
    return x ? [{ dtype: x.dtype, shape: undefined }, ...unknown().slice(1)] : unknown();
  }
  if (op === 'SoftmaxCrossEntropyLoss' || op === 'NegativeLogLikelihoodLoss') {
    if (!isFloat(x!.dtype)) fail(node, `${op} scores must be float`);
    return [{ dtype: x!.dtype, shape: attrs.reduction === 'none' ? inputs[1]?.shape : [] }, ...(nOutputs > 1 ? [{ dtype: x!.dtype, shape: x!.shape }] : [])];
  }
  return unknown(x?.dtype);
}
