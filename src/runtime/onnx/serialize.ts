// GraphBuilder -> ONNX ModelProto bytes, with large weights written to an external data file.
// A ModelProto must stay under 2 GiB, so anything big goes to `model.onnx_data` (offsets above 4 GiB are fine).
// Node 20 refuses single reads/writes over 2 GiB: weights are written in chunks.
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as onnxNs } from 'onnx-proto';
import type { ExternalRef, GraphBuilder, InitializerIR, Value } from './graphBuilder';
import { ONNX_DTYPE } from './dtypes';
import type { AttrValue } from './shapeRules';

const { onnx } = onnxProto;

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const CHUNK = 256 * 1024 * 1024;

export interface SaveOptions {
  /** Initializers at or above this many bytes go to the external data file (default 1024). */
  externalThreshold?: number;
  /** External data file name, beside the model (default `<model file>_data`, i.e. model.onnx_data). */
  dataFile?: string;
  /** Producer metadata (model card key/values). */
  metadata?: Record<string, string>;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function valueInfo(v: Value): onnxNs.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.dtype],
        ...(v.shape ? { shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  };
}

function attribute(name: string, value: AttrValue | { graph: GraphBuilder }, ctx: EncodeContext): onnxNs.IAttributeProto {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}=${value}: write non-integer attributes as { float: x }`);
    return { name, type: ATTR.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === 'number')) return { name, type: ATTR.INTS, ints: value as number[] };
    return { name, type: ATTR.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
  }
  if ('float' in value) return { name, type: ATTR.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: ATTR.FLOATS, floats: value.floats };
  if ('graph' in value) return { name, type: ATTR.GRAPH, g: graphProto(value.graph as GraphBuilder, ctx) };
  if ('tensor' in value) return { name, type: ATTR.TENSOR, t: value.tensor as onnxNs.ITensorProto };
  throw new Error(`attribute ${name}: unsupported value`);
}

interface EncodeContext {
  /** Decides where an initializer's bytes go; returns the TensorProto fields for them. */
  place(init: InitializerIR): Partial<onnxNs.ITensorProto>;
}

function graphProto(g: GraphBuilder, ctx: EncodeContext): onnxNs.IGraphProto {
  const initializer: onnxNs.ITensorProto[] = [];
  for (const init of g.initializers.values()) {
    initializer.push({ name: init.name, dataType: ONNX_DTYPE[init.dtype], dims: init.dims, ...ctx.place(init) });
  }
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      opType: n.op,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v, ctx)),
    })),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    initializer,
  };
}

function modelProto(g: GraphBuilder, ctx: EncodeContext, metadata?: Record<string, string>): Uint8Array {
  const model: onnxNs.IModelProto = {
    irVersion: 8,
    producerName: 'em-lab',
    producerVersion: '0.1.0',
    opsetImport: g.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    graph: graphProto(g, ctx),
    metadataProps: Object.entries(metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  if (bytes.byteLength >= 2 ** 31 - 1) throw new Error(`ModelProto is ${bytes.byteLength} bytes (limit 2 GiB): lower externalThreshold`);
  return bytes;
}

/** All weights inline: for small graphs created from a buffer (tests, optimizer graphs). */
export function toModelBytes(g: GraphBuilder, metadata?: Record<string, string>): Uint8Array {
  return modelProto(
    g,
    {
      place(init) {
        if (!ArrayBuffer.isView(init.data) && typeof init.data !== 'function') {
          throw new Error(`initializer ${init.name} refers to external file ${init.data.external.location}: save() the model to a folder instead`);
        }
        const view = typeof init.data === 'function' ? init.data() : init.data;
        return { rawData: bytesOf(view) };
      },
    },
    metadata,
  );
}

/**
 * Writes `modelPath` and its external data file atomically (temp names, then rename). Weights given as functions
 * are produced one at a time and released after writing, so peak memory stays near one tensor.
 * Returns the external data file path (or undefined when everything was inline), its size, and where each
 * external initializer landed (so another graph can reference the same bytes: `{ external: placements.get(name) }`).
 */
export function saveModel(g: GraphBuilder, modelPath: string, options: SaveOptions = {}): { dataPath?: string; dataBytes: number; placements: Map<string, ExternalRef> } {
  const dir = dirname(modelPath);
  mkdirSync(dir, { recursive: true });
  const threshold = options.externalThreshold ?? 1024;
  const dataName = options.dataFile ?? `${basename(modelPath)}_data`;
  const dataPath = join(dir, dataName);
  const tmpData = `${dataPath}.tmp-${process.pid}`;
  let fd: number | undefined;
  let offset = 0;
  const placements = new Map<string, ExternalRef>();
  const ctx: EncodeContext = {
    place(init) {
      if (!ArrayBuffer.isView(init.data) && typeof init.data !== 'function') {
        const ext = init.data.external;
        return {
          dataLocation: 1,
          externalData: [
            { key: 'location', value: ext.location },
            { key: 'offset', value: String(ext.offset) },
            { key: 'length', value: String(ext.length) },
          ],
        };
      }
      const view = typeof init.data === 'function' ? init.data() : init.data;
      const bytes = bytesOf(view);
      if (bytes.byteLength < threshold) return { rawData: bytes.slice() };
      fd ??= openSync(tmpData, 'w');
      const pad = (64 - (offset % 64)) % 64; // 64-byte alignment keeps mmapped weights SIMD-friendly
      if (pad) writeSync(fd, new Uint8Array(pad));
      offset += pad;
      const start = offset;
      for (let p = 0; p < bytes.byteLength; p += CHUNK) {
        const part = bytes.subarray(p, Math.min(p + CHUNK, bytes.byteLength));
        writeSync(fd, part);
      }
      offset += bytes.byteLength;
      placements.set(init.name, { location: dataName, offset: start, length: bytes.byteLength });
      return {
        dataLocation: 1,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      };
    },
  };
  let proto: Uint8Array;
  try {
    proto = modelProto(g, ctx, options.metadata);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const tmpModel = `${modelPath}.tmp-${process.pid}`;
  const mfd = openSync(tmpModel, 'w');
  try {
    writeSync(mfd, proto);
  } finally {
    closeSync(mfd);
  }
  if (fd !== undefined) renameSync(tmpData, dataPath);
  renameSync(tmpModel, modelPath);
  return fd !== undefined ? { dataPath, dataBytes: offset, placements } : { dataBytes: 0, placements };
}
