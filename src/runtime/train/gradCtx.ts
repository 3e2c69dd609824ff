// Helpers the gradient rules share: constants, shapes known at build time, and "unbroadcast" (sum a gradient
// over the axes its forward input was broadcast along). Shapes of backward values are tracked by aliasing each
// gradient to its forward value, so rules can decide broadcasting statically and fall back to runtime Shape ops
// only where a dimension is symbolic and could be 1.
import type { AttrValue, DType, GraphBuilder, NodeIR, NodeOptions, Shape, Value } from '../onnx/graphBuilder';
import { GraphBuildError } from '../onnx/graphBuilder';
import { inferOutputs } from '../onnx/shapeRules';

type Attrs = Record<string, AttrValue | { graph: GraphBuilder }>;

export class GradCtx {
  private readonly shapeAlias = new Map<string, Shape>();
  private readonly consts = new Map<string, Value>();
  private unknownDims = 0;

  constructor(readonly g: GraphBuilder) {}

  op(op: string, inputs: (Value | undefined)[], attrs: Attrs = {}, options: NodeOptions = {}): Value {
    const v = this.g.op(op, inputs, attrs, options);
    if (!v.shape) {
      // The builder could not infer it because an input's shape is only known through an alias: infer again
      // with the aliased shapes (same rules, so a wiring mistake still fails here).
      const infos = inputs.map((i) => (i ? { ...this.g.lookup(i.name)!, shape: this.knownShape(i) } : undefined));
      const inferred = inferOutputs(v.name, op, options.domain ?? '', infos, attrs as Record<string, AttrValue>, 1)[0];
      if (inferred?.shape) this.shapeAlias.set(v.name, inferred.shape);
    }
    return v;
  }

  private knownShape(v: Value): Shape {
    return v.shape ?? this.shapeAlias.get(v.name) ?? this.rankFromProducer(v);
  }

  node(op: string, inputs: (Value | undefined)[], attrs: Attrs = {}, options: NodeOptions = {}): Value[] {
    return this.g.node(op, inputs, attrs, options);
  }

  value(name: string): Value {
    return this.g.value(name);
  }

  /** Records that backward value `v` has the same shape as forward value `like`. */
  alias(v: Value, like: Value): void {
    if (!v.shape) this.shapeAlias.set(v.name, this.shape(like));
  }

  /** A scalar constant of a float dtype, shared within the backward graph. */
  scalar(x: number, dtype: DType): Value {
    const key = `${dtype}:${x}`;
    let c = this.consts.get(key);
    if (!c) {
      if (dtype !== 'float32' && dtype !== 'float64') throw new GraphBuildError(`gradient constants of dtype ${dtype} are not supported`);
      c = this.g.constFloat(x, dtype);
      this.consts.set(key, c);
    }
    return c;
  }

  int64(values: number[] | number): Value {
    return this.g.constInt64(values);
  }

  /**
   * The static shape of a value: its inferred shape, the shape of the forward value it is a gradient of, or (for
   * ops the builder can't infer) the rank from the producing node with unknown dims.
   */
  shape(v: Value): Dim[] {
    const s = this.knownShape(v);
    if (!s) throw new GraphBuildError(`autodiff: the rank of "${v.name}" is unknown; give its producing node an outputInfo shape`);
    return s;
  }

  rank(v: Value): number {
    return this.shape(v).length;
  }

  private rankFromProducer(v: Value): Dim[] | undefined {
    const n = this.g.nodes.find((x) => x.outputs.includes(v.name));
    if (!n) return undefined;
    const fresh = (r: number) => Array.from({ length: r }, () => `?${this.unknownDims++}`);
    const inRank = (k: number) => (n.inputs[k] ? this.rank(this.g.value(n.inputs[k]!)) : 0);
    switch (n.op) {
      case 'Slice':
      case 'Split':
      case 'Pad':
      case 'Dropout':
      case 'Identity':
        return fresh(inRank(0));
      case 'Reshape': {
        const len = this.g.value(n.inputs[1]!).shape?.[0];
        return typeof len === 'number' ? fresh(len) : undefined;
      }
      case 'Expand': {
        const shapeLen = this.g.value(n.inputs[1]!).shape?.[0];
        return typeof shapeLen === 'number' ? fresh(Math.max(inRank(0), shapeLen)) : undefined;
      }
      case 'Where':
        return fresh(Math.max(inRank(0), inRank(1), inRank(2)));
      default: {
        if (n.op.startsWith('Reduce') && !n.inputs[1] && !Array.isArray(n.attrs.axes)) {
          // no axes: everything is reduced
          return n.attrs.keepdims === 0 ? [] : Array.from({ length: inRank(0) }, () => 1);
        }
        // infer again from the inputs' known (possibly aliased) shapes
        const infos = n.inputs.map((i) => (i ? { ...this.g.lookup(i)!, shape: this.knownShape(this.g.value(i)) } : undefined));
        const k = n.outputs.indexOf(v.name);
        return inferOutputs(n.name, n.op, n.domain, infos, n.attrs as Record<string, AttrValue>, n.outputs.length)[k]?.shape;
      }
    }
  }

  /** Runtime shape of `v` (optionally a [start, end) range of it), as a 1-D int64 tensor. */
  shapeOf(v: Value, start?: number, end?: number): Value {
    const attrs: Attrs = {};
    if (start !== undefined) attrs.start = start;
    if (end !== undefined) attrs.end = end;
    return this.g.op('Shape', [v], attrs, { outputInfo: [{ dtype: 'int64', shape: [end !== undefined && start !== undefined ? end - start : this.rank(v) - (start ?? 0)] }] });
  }

  reshapeLike(v: Value, like: Value): Value {
    const s = this.shape(like);
    if (s.every((d) => typeof d === 'number')) return this.op('Reshape', [v, this.int64(s as number[])]);
    return this.op('Reshape', [v, this.shapeOf(like)]);
  }

  /** [.., K] -> [-1, K] for a Gemm. */
  flatten2d(v: Value): Value {
    const last = this.shape(v).at(-1)!;
    if (typeof last === 'number') return this.op('Reshape', [v, this.int64([-1, last])]);
    return this.op('Reshape', [v, this.op('Concat', [this.int64([-1]), this.shapeOf(v, -1)], { axis: 0 })]);
  }

  zerosLike(v: Value): Value {
    const z = this.op('Expand', [this.scalar(0, v.dtype), this.shapeOf(v)]);
    this.alias(z, v);
    return z;
  }

  /** Sums gradient `dy` (shape of the broadcast result) down to the shape of forward input `x`. */
  unbroadcast(dy: Value, x: Value): Value {
    const ys = this.shape(dy), xs = this.shape(x);
    let out = dy;
    const lead = ys.length - xs.length;
    if (lead > 0) out = this.op('ReduceSum', [out, this.int64(Array.from({ length: lead }, (_, i) => i))], { keepdims: 0 });
    const rest = ys.slice(lead);
    const axes: number[] = [];
    let dynamic = false;
    xs.forEach((d, i) => {
      const e = rest[i]!;
      if (d === e) return;
      if (d === 1) axes.push(i);
      else if (typeof d === 'string' && !(typeof e === 'number' && e === 1)) dynamic = true;
    });
    if (dynamic) {
      // A symbolic dim of x could be 1 at run time: sum over the axes where x's runtime size is 1.
      const isOne = this.op('Equal', [this.shapeOf(x), this.int64(Array.from({ length: xs.length }, () => 1))]);
      const ax = this.op('Compress', [this.int64(xs.map((_, i) => i)), isOne], { axis: 0 }, { outputInfo: [{ dtype: 'int64', shape: ['n_axes'] }] });
      out = this.op('ReduceSum', [out, ax], { keepdims: 1, noop_with_empty_axes: 1 });
    } else if (axes.length) {
      out = this.op('ReduceSum', [out, this.int64(axes)], { keepdims: 1 });
    }
    if (out !== dy) this.alias(out, x);
    return out;
  }
}

export type Dim = number | string;

/** Reads an integer attribute. */
export function intAttr(n: NodeIR, name: string, dflt: number): number {
  const a = n.attrs[name];
  return typeof a === 'number' ? a : dflt;
}

/** Reads a float attribute written as { float: x } (or a plain integer). */
export function floatAttr(n: NodeIR, name: string, dflt: number): number {
  const a = n.attrs[name];
  if (typeof a === 'number') return a;
  if (a && typeof a === 'object' && 'float' in a) return a.float;
  return dflt;
}

export function intsAttr(n: NodeIR, name: string): number[] | undefined {
  const a = n.attrs[name];
  return Array.isArray(a) && a.every((x) => typeof x === 'number') ? (a as number[]) : undefined;
}

/** Integer contents of a small constant int64 input (axes, shapes), if the builder knows them. */
export function constInts(ctx: GradCtx, n: NodeIR, k: number): number[] | undefined {
  const name = n.inputs[k];
  if (!name) return undefined;
  const v = ctx.g.lookup(name);
  return v?.constInts;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
