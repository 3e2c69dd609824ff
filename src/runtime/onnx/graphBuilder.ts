// A small typed builder for ONNX graphs (see docs/graph-builder.md). It keeps an in-memory IR (values, nodes,
// initializers) that other code can walk — the LoRA trainer's reverse-mode differentiation reads it — and
// serialises to ModelProto with weights inline or in an external data file (model.onnx + model.onnx_data).
// Shapes and dtypes are inferred and checked as each node is added (shapeRules.ts).
import type { DType } from './dtypes';
import { DTYPE_SIZE } from './dtypes';
import { GraphBuildError, inferOutputs, type AttrValue, type Dim, type Shape, type ValueInfo } from './shapeRules';

export type { DType } from './dtypes';
export type { Dim, Shape, AttrValue } from './shapeRules';
export { GraphBuildError } from './shapeRules';

/** A named tensor in a graph (graph input, initializer or node output). */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  /** The builder (graph or subgraph) where the value is defined. */
  readonly owner: GraphBuilder;
}

/** Weights stored in a file that already exists (e.g. shared by the inference and training graphs). */
export interface ExternalRef {
  /** Path relative to the model file's folder. */
  location: string;
  offset: number;
  length: number;
}

/** Initializer contents: bytes now, bytes on demand (streamed to disk at save, then released), or a file reference. */
export type InitializerData = ArrayBufferView | (() => ArrayBufferView) | { external: ExternalRef };

export interface InitializerIR {
  name: string;
  dtype: DType;
  dims: number[];
  data: InitializerData;
}

export interface NodeIR {
  name: string;
  op: string;
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue | { graph: GraphBuilder }>;
}

export interface NodeOptions {
  domain?: string;
  /** Number of outputs (default 1) or their exact names. */
  outputs?: number | string[];
  name?: string;
  /** Declared output shapes/dtypes where inference can't know them (contrib ops, value-dependent shapes). */
  outputInfo?: (Partial<ValueInfo> | undefined)[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export class GraphBuilder {
  readonly nodes: NodeIR[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, InitializerIR>();
  private readonly values = new Map<string, Value & { constInts?: number[] }>();
  private readonly counter: { n: number };

  constructor(
    readonly name: string,
    readonly opsets: OpsetImport[] = [{ domain: '', version: 21 }],
    readonly parent?: GraphBuilder,
  ) {
    this.counter = parent ? parent.counter : { n: 0 };
  }

  /** A child graph (Loop/If body). It can read values of its ancestors (implicit capture). */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.opsets, this);
  }

  /** A fresh name, unique across this graph and its subgraphs. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter.n++}`;
    while (this.lookup(name));
    return name;
  }

  lookup(name: string): (Value & { constInts?: number[] }) | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }

  value(name: string): Value {
    const v = this.lookup(name);
    if (!v) throw new GraphBuildError(`${this.name}: no value named "${name}"`);
    return v;
  }

  private define(name: string, dtype: DType, shape: Shape, constInts?: number[]): Value {
    if (this.lookup(name)) throw new GraphBuildError(`${this.name}: value "${name}" is defined twice`);
    const v = { name, dtype, shape, owner: this as GraphBuilder, ...(constInts ? { constInts } : {}) };
    this.values.set(name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: Dim[]): Value {
    const v = this.define(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  initializer(name: string, dtype: DType, dims: number[], data: InitializerData): Value {
    const count = dims.reduce((p, d) => p * d, 1);
    const expected = Math.ceil(count * DTYPE_SIZE[dtype]);
    if (ArrayBuffer.isView(data) && data.byteLength !== expected) {
      throw new GraphBuildError(`${this.name}: initializer "${name}" [${dims}] ${dtype} needs ${expected} bytes, got ${data.byteLength}`);
    }
    if (!ArrayBuffer.isView(data) && typeof data !== 'function' && data.external.length !== expected) {
      throw new GraphBuildError(`${this.name}: external initializer "${name}" [${dims}] ${dtype} needs ${expected} bytes, reference says ${data.external.length}`);
    }
    let constInts: number[] | undefined;
    if (dtype === 'int64' && data instanceof BigInt64Array && count <= 16) constInts = Array.from(data, Number);
    const v = this.define(name, dtype, dims, constInts);
    this.initializers.set(name, { name, dtype, dims, data });
    return v;
  }

  /**
   * Turns an initializer of this graph into a graph input of the same name, dtype and shape: the caller then feeds
   * the tensor at run time (the trainer does this for frozen weights, so ORT never copies them).
   */
  initializerToInput(name: string): InitializerIR {
    const init = this.initializers.get(name);
    if (!init) throw new GraphBuildError(`${this.name}: no initializer named "${name}"`);
    this.initializers.delete(name);
    // an initializer hoisted from a Loop body is defined there: the input gets defined here, and the body's uses of
    // the name become outer-scope references to it
    this.inputs.push(this.values.get(name) ?? this.define(name, init.dtype, init.dims));
    return init;
  }

  /** Small constants (shapes, axes, scalars) as initializers. */
  constInt64(values: number[] | number, name?: string): Value {
    const arr = Array.isArray(values) ? values : [values];
    return this.initializer(name ?? this.fresh('const_i64'), 'int64', Array.isArray(values) ? [arr.length] : [], BigInt64Array.from(arr.map(BigInt)));
  }

  constFloat(values: number[] | number, dtype: 'float32' | 'float64' = 'float32', name?: string): Value {
    const arr = Array.isArray(values) ? values : [values];
    const data = dtype === 'float64' ? Float64Array.from(arr) : Float32Array.from(arr);
    return this.initializer(name ?? this.fresh('const_f'), dtype, Array.isArray(values) ? [arr.length] : [], data);
  }

  /** Adds a node; returns its outputs. Shapes and dtypes are inferred and checked now. */
  node(op: string, inputs: (Value | undefined)[], attrs: Record<string, AttrValue | { graph: GraphBuilder }> = {}, options: NodeOptions = {}): Value[] {
    const domain = options.domain ?? '';
    const nodeName = options.name ?? this.fresh(op);
    for (const i of inputs) {
      if (i && this.lookup(i.name) !== i) {
        throw new GraphBuildError(`${nodeName} (${op}): input "${i.name}" belongs to another graph that is not an ancestor of "${this.name}"`);
      }
    }
    const outNames = Array.isArray(options.outputs) ? options.outputs : Array.from({ length: options.outputs ?? 1 }, (_, k) => (k === 0 ? `${nodeName}_out` : `${nodeName}_out${k}`));
    const infos = inputs.map((i) => (i ? (this.lookup(i.name) as ValueInfo) : undefined));
    const inferred = inferOutputs(nodeName, op, domain, infos, attrs as Record<string, AttrValue>, outNames.length);
    const outs = outNames.map((n, k) => {
      const declared = options.outputInfo?.[k];
      const inf = inferred[k];
      const dtype = declared?.dtype ?? inf?.dtype;
      if (!dtype) throw new GraphBuildError(`${nodeName} (${op}): cannot infer the dtype of output ${k}; pass outputInfo`);
      if (declared?.dtype && inf?.dtype && declared.dtype !== inf.dtype) {
        throw new GraphBuildError(`${nodeName} (${op}): declared output dtype ${declared.dtype} but inputs give ${inf.dtype}`);
      }
      if (declared?.shape && inf?.shape) checkShapesAgree(nodeName, declared.shape, inf.shape);
      return this.define(n, dtype, declared?.shape ?? inf?.shape);
    });
    this.nodes.push({ name: nodeName, op, domain, inputs: inputs.map((i) => i?.name ?? ''), outputs: outNames, attrs });
    return outs;
  }

  /** Single-output convenience for node(). */
  op(op: string, inputs: (Value | undefined)[], attrs: Record<string, AttrValue | { graph: GraphBuilder }> = {}, options: NodeOptions = {}): Value {
    return this.node(op, inputs, attrs, options)[0]!;
  }

  /** Marks a value as a graph output under `name` (adds an Identity when the value has another name). */
  output(value: Value, name?: string): Value {
    const v = name && name !== value.name ? this.op('Identity', [value], {}, { outputs: [name] }) : value;
    this.outputs.push(v);
    return v;
  }

  /** Total bytes of initializer data (known sizes only). */
  weightBytes(): number {
    let total = 0;
    for (const init of this.initializers.values()) total += init.dims.reduce((p, d) => p * d, 1) * DTYPE_SIZE[init.dtype];
    return total;
  }
}

function checkShapesAgree(node: string, a: Dim[], b: Dim[]): void {
  if (a.length !== b.length) throw new GraphBuildError(`${node}: declared rank ${a.length} but inferred [${b}]`);
  a.forEach((d, i) => {
    const e = b[i];
    if (typeof d === 'number' && typeof e === 'number' && d !== e) throw new GraphBuildError(`${node}: declared shape [${a}] but inferred [${b}]`);
  });
}
