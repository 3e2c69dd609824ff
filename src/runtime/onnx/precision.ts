// Mixed precision as a graph transformation: take any float32 graph the builders make (the Llama forward, the LoRA
// train step with its backward and AdamW, Loop bodies included) and return a graph that stores frozen weights in
// float16/bfloat16 and runs the matrix products in that type, while everything the graph exchanges with the caller
// keeps its float32 type: LoRA parameters, optimizer moments, lr, loss, logits. That is PyTorch autocast's policy,
// applied at build time:
//   - MatMul / Gemm run in the half type (inputs are cast down; a float32 LoRA matrix becomes a half copy per run,
//     r×in elements, negligible next to the frozen weight it sits beside);
//   - reductions, softmax/log-softmax, exp/log/pow/sqrt and squares (x·x) run in float32, where half overflows
//     (x² > 65504) or loses the small terms of a sum;
//   - everything else runs in the widest type of its inputs, so an Add of a half gradient into a float32
//     accumulator, and the whole AdamW update, stay float32 (fp32 master weights and optimizer state);
//   - small float constants (eps, 1/sqrt(d), Adam betas) take the type of the node that reads them.
// Graph inputs and outputs (of Loop bodies too) keep their original types, so the caller feeds and reads exactly
// what it fed the float32 graph.
import { GraphBuilder, GraphBuildError, type DType, type ExternalRef, type InitializerData, type InitializerIR, type NodeIR, type Value } from './graphBuilder';
import { ONNX_DTYPE } from './dtypes';
import { floatToBf16, floatToHalf } from '../model/hostTensor';
import type { AttrValue } from './shapeRules';

export type HalfDType = 'float16' | 'bfloat16';

export interface MixedPrecisionOptions {
  compute: HalfDType;
  /** float32 initializers with at least this many elements are frozen weights, stored in `compute` (default 64). */
  weightMinElements?: number;
  /** Extra nodes to keep in float32 (beyond the built-in list). */
  keepFloat32?: (node: NodeIR) => boolean;
  /**
   * Where a frozen weight already exists in the half type in an external data file (e.g. the decoder export's
   * model_fp16.onnx_data, or `saveModel` placements of another half graph): reference those bytes instead of
   * converting and writing a second copy. Paths are relative to the folder the new graph is saved in.
   */
  halfWeights?: (name: string) => ExternalRef | undefined;
}

export interface MixedPrecisionReport {
  weightsConverted: number;
  weightBytesBefore: number;
  weightBytesAfter: number;
  castsInserted: number;
  halfNodes: number;
  float32Nodes: number;
}

const HALF_OPS = new Set(['MatMul', 'Gemm', 'Conv', 'Einsum', 'FusedMatMul']);
const FLOAT32_OPS = new Set([
  'Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp', 'Pow', 'Exp', 'Log',
  'Sqrt', 'Reciprocal', 'SoftmaxCrossEntropyLoss', 'NegativeLogLikelihoodLoss', 'CumSum', 'Erf',
]);

type Attrs = Record<string, AttrValue | { graph: GraphBuilder }>;

interface Scope {
  src: GraphBuilder;
  dst: GraphBuilder;
  parent?: Scope;
  values: Map<string, Value>;
  casts: Map<string, Value>;
}

interface Weak {
  init: InitializerIR;
  byDtype: Map<DType, Value>;
}

function convertData(data: InitializerData, name: string, to: HalfDType): InitializerData {
  const enc = to === 'float16' ? floatToHalf : floatToBf16;
  const conv = (v: ArrayBufferView): Uint16Array => {
    if (!(v instanceof Float32Array)) throw new GraphBuildError(`precision: initializer ${name} is float32 but holds a ${v.constructor.name}`);
    return Uint16Array.from(v, enc);
  };
  if (ArrayBuffer.isView(data)) return conv(data);
  if (typeof data === 'function') return () => conv(data());
  throw new GraphBuildError(
    `precision: initializer ${name} refers to float32 bytes in ${data.external.location}; a ${to} graph needs its own copy. Build the graph with weights read from the checkpoint (not shared external data).`,
  );
}

export function toMixedPrecision(src: GraphBuilder, options: MixedPrecisionOptions): { graph: GraphBuilder; report: MixedPrecisionReport } {
  const compute = options.compute;
  const minElements = options.weightMinElements ?? 64;
  const report: MixedPrecisionReport = { weightsConverted: 0, weightBytesBefore: src.weightBytes(), weightBytesAfter: 0, castsInserted: 0, halfNodes: 0, float32Nodes: 0 };
  const weak = new Map<string, Weak>();
  const root = new GraphBuilder(src.name, src.opsets);
  let counter = 0;
  const fresh = (prefix: string) => `amp_${prefix}_${counter++}`;

  const lookup = (scope: Scope, name: string): Value | undefined => scope.values.get(name) ?? (scope.parent ? lookup(scope.parent, name) : undefined);

  const castTo = (scope: Scope, v: Value, dtype: DType): Value => {
    if (v.dtype === dtype) return v;
    const key = `${v.name}->${dtype}`;
    let c = scope.casts.get(key);
    if (!c) {
      c = scope.dst.op('Cast', [v], { to: ONNX_DTYPE[dtype] }, { name: fresh('cast'), outputs: [fresh('cast_out')] });
      scope.casts.set(key, c);
      report.castsInserted++;
    }
    return c;
  };

  const weakConst = (w: Weak, dtype: DType): Value => {
    let v = w.byDtype.get(dtype);
    if (!v) {
      const data = dtype === 'float32' ? w.init.data : convertData(w.init.data, w.init.name, dtype as HalfDType);
      v = root.initializer(dtype === 'float32' ? w.init.name : fresh(`${w.init.name}_${dtype}`), dtype, w.init.dims, data);
      w.byDtype.set(dtype, v);
    }
    return v;
  };

  const copyInitializers = (scope: Scope) => {
    for (const init of scope.src.initializers.values()) {
      const count = init.dims.reduce((p, d) => p * d, 1);
      if (init.dtype !== 'float32') scope.values.set(init.name, scope.dst.initializer(init.name, init.dtype, init.dims, init.data));
      else if (count >= minElements) {
        const shared = options.halfWeights?.(init.name);
        scope.values.set(init.name, scope.dst.initializer(init.name, compute, init.dims, shared ? { external: shared } : convertData(init.data, init.name, compute)));
        report.weightsConverted++;
      } else weak.set(init.name, { init, byDtype: new Map() });
    }
  };

  const nodeDtype = (scope: Scope, n: NodeIR): DType => {
    if (HALF_OPS.has(n.op) && !options.keepFloat32?.(n)) return compute;
    const square = n.op === 'Mul' && n.inputs[0] === n.inputs[1];
    if (FLOAT32_OPS.has(n.op) || square || options.keepFloat32?.(n)) return 'float32';
    let sawHalf = false;
    for (const name of n.inputs) {
      if (!name || weak.has(name)) continue;
      const v = lookup(scope, name);
      if (v?.dtype === 'float32' && scope.src.value(name).dtype === 'float32') return 'float32';
      if (v?.dtype === compute) sawHalf = true;
    }
    return sawHalf ? compute : 'float32';
  };

  const transformGraph = (srcGraph: GraphBuilder, dst: GraphBuilder, parent?: Scope): Scope => {
    const scope: Scope = { src: srcGraph, dst, values: new Map(), casts: new Map(), ...(parent ? { parent } : {}) };
    for (const input of srcGraph.inputs) scope.values.set(input.name, dst.input(input.name, input.dtype, input.shape ?? []));
    copyInitializers(scope);
    const outputNames = new Set(srcGraph.outputs.map((o) => o.name));
    for (const n of srcGraph.nodes) emitNode(scope, n, outputNames);
    for (const out of srcGraph.outputs) {
      const v = lookup(scope, out.name);
      if (!v) throw new GraphBuildError(`precision: output ${out.name} of ${srcGraph.name} has no value`);
      if (v.name === out.name && v.dtype === out.dtype) dst.output(v);
      else if (v.dtype !== out.dtype) dst.output(dst.op('Cast', [v], { to: ONNX_DTYPE[out.dtype] }, { name: fresh('cast'), outputs: [out.name] }));
      else dst.output(v, out.name);
    }
    return scope;
  };

  const emitNode = (scope: Scope, n: NodeIR, outputNames: Set<string>) => {
    const attrs: Attrs = {};
    let hasSubgraph = false;
    for (const [k, a] of Object.entries(n.attrs)) {
      if (a && typeof a === 'object' && !Array.isArray(a) && 'graph' in a) {
        hasSubgraph = true;
        const body = scope.dst.subgraph((a.graph as GraphBuilder).name);
        transformGraph(a.graph as GraphBuilder, body, scope);
        attrs[k] = { graph: body };
      } else attrs[k] = a as AttrValue;
    }
    // Loop/If keep their float32 interface (their bodies cast at the edges); Cast converts by definition.
    const dtype: DType = hasSubgraph || n.op === 'Cast' ? 'float32' : nodeDtype(scope, n);
    const inputs = n.inputs.map((name) => {
      if (!name) return undefined;
      const w = weak.get(name);
      const srcDtype = scope.src.value(name).dtype;
      if (w) return weakConst(w, n.op === 'Cast' ? 'float32' : dtype);
      const v = lookup(scope, name);
      if (!v) throw new GraphBuildError(`precision: ${n.name} reads ${name}, which is not defined before it`);
      return srcDtype === 'float32' && n.op !== 'Cast' ? castTo(scope, v, dtype) : v;
    });
    const outputs = n.outputs.map((o) => (outputNames.has(o) && scope.src.value(o).dtype === 'float32' ? fresh(o.replace(/[^A-Za-z0-9_.]/g, '_')) : o));
    const outputInfo = n.outputs.map((o) => {
      const s = scope.src.value(o);
      const out: { dtype: DType; shape?: typeof s.shape } = { dtype: s.dtype === 'float32' && !hasSubgraph && n.op !== 'Cast' ? dtype : s.dtype };
      if (s.shape) out.shape = s.shape;
      return out;
    });
    const made = scope.dst.node(n.op, inputs, attrs, { domain: n.domain, name: n.name, outputs, outputInfo });
    n.outputs.forEach((o, k) => scope.values.set(o, made[k]!));
    if (made.some((v) => v.dtype === compute)) report.halfNodes++;
    else if (made.some((v) => v.dtype === 'float32')) report.float32Nodes++;
  };

  if ([...src.inputs, ...src.initializers.values()].some((v) => v.dtype === 'float16' || v.dtype === 'bfloat16' || v.dtype === 'float64')) {
    throw new GraphBuildError(`precision: ${src.name} must be a float32 graph (build it with dtype float32, then convert)`);
  }
  transformGraph(src, root);
  report.weightBytesAfter = root.weightBytes();
  return { graph: root, report };
}

/** Where a half type can run: float16 everywhere (CPU emulates it), bfloat16 only on CUDA (no CPU MatMul kernel). */
export function precisionProblem(device: 'cpu' | 'cuda', compute: HalfDType | 'float32'): string | undefined {
  if (compute === 'bfloat16' && device === 'cpu') {
    return 'bfloat16 needs the CUDA execution provider: ONNX Runtime has no bfloat16 MatMul on the CPU. Use --precision fp32 (or fp16, emulated and no faster) on the CPU.';
  }
  return undefined;
}
