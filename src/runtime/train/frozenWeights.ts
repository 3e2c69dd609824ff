// Frozen weights as graph inputs (CPU training).
// Why: onnxruntime-node 1.30 maps an external initializer, copies it into process memory and unmaps it whenever a
// Gemm/MatMul consumes it (measured with strace on the Llama-3.2-1B shape; graph optimisation level, arena and
// memory-pattern settings don't change it; `session.disable_prepacking` was tried when ort.ts still passed config
// keys nested, i.e. ORT never saw it: not re-measured since that fix), and the train graph's Loop body costs a
// second copy: 9.3 GB of anonymous memory for 4.9 GB of weights, 13.9 GB peak at session creation. Fed as inputs,
// the weights are read once into JS memory and ORT uses those buffers in place (CPU feeds are zero-copy), and the
// train and eval sessions share them. CUDA keeps initializers: they live in GPU memory, and inputs would be copied
// host -> device on every run.
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../onnx/dtypes';
import type { GraphBuilder } from '../onnx/graphBuilder';
import { tensor, type OrtTensor } from '../onnx/ort';

/** One frozen tensor: where its bytes are in the artifact folder's weights file. */
export interface FrozenTensor {
  name: string;
  dtype: DType;
  dims: number[];
  offset: number;
  length: number;
}

export const FROZEN_MANIFEST = 'frozen-inputs.json';

/** Turns every initializer of `g` stored in `file` (external data) into a graph input; returns where each one is. */
export function frozenToInputs(g: GraphBuilder, file: string): FrozenTensor[] {
  const out: FrozenTensor[] = [];
  for (const init of [...g.initializers.values()]) {
    const d = init.data;
    if (ArrayBuffer.isView(d) || typeof d === 'function' || d.external.location !== file) continue;
    // --use_4bit's tensors (<name>.q4*, q4Weights.ts) stay external initializers: onnxruntime-node cannot feed the
    // uint4 views of the backward's DequantizeLinear (gradRules/quantized.ts), and with MatMulNBits' B and scales as
    // initializers too the 1B-shape bench peaked at 4.35 GB instead of 4.76 GB (same step time)
    if (init.dtype === 'uint4' || init.name.includes('.weight.q4')) continue;
    g.initializerToInput(init.name);
    out.push({ name: init.name, dtype: init.dtype, dims: init.dims, offset: d.external.offset, length: d.external.length });
  }
  return out;
}

export function writeFrozenManifest(dir: string, file: string, tensors: FrozenTensor[]): void {
  writeFileSync(join(dir, FROZEN_MANIFEST), JSON.stringify({ file, tensors }, null, 1));
}

export function readFrozenManifest(dir: string): { file: string; tensors: FrozenTensor[] } {
  return JSON.parse(readFileSync(join(dir, FROZEN_MANIFEST), 'utf8')) as { file: string; tensors: FrozenTensor[] };
}

const VIEW: Partial<Record<DType, (b: ArrayBuffer) => ArrayBufferView>> = {
  float32: (b) => new Float32Array(b),
  float64: (b) => new Float64Array(b),
  float16: (b) => new Uint16Array(b),
  uint8: (b) => new Uint8Array(b),
  int64: (b) => new BigInt64Array(b),
};

/**
 * Reads the frozen tensors listed in `dir`'s manifest into memory, one buffer each (read in 256 MiB chunks: Node's
 * readSync takes at most 2 GiB), as ORT tensors ready to feed. About the weights file's size in RAM, once.
 */
export function loadFrozenFeeds(dir: string): Map<string, OrtTensor> {
  const { file, tensors } = readFrozenManifest(dir);
  const feeds = new Map<string, OrtTensor>();
  const fd = openSync(join(dir, file), 'r');
  try {
    for (const t of tensors) {
      const view = VIEW[t.dtype];
      if (!view) throw new Error(`frozen weight ${t.name}: dtype ${t.dtype} cannot be fed from Node`);
      const buf = new ArrayBuffer(t.length);
      const bytes = new Uint8Array(buf);
      for (let p = 0; p < t.length; ) {
        const n = readSync(fd, bytes, p, Math.min(1 << 28, t.length - p), t.offset + p);
        if (n <= 0) throw new Error(`${join(dir, file)} ends before ${t.name} (offset ${t.offset + p}): the training artifacts are damaged; delete ${dir} and start again.`);
        p += n;
      }
      feeds.set(t.name, tensor(t.dtype as never, view(buf) as never, t.dims));
    }
  } finally {
    closeSync(fd);
  }
  return feeds;
}
