// Reads the GGUF writer's files back through llama.cpp: on a small model with Llama-3's vocabulary (so Q6_K's
// 256-weight blocks fit the hidden size), the next-token logits llama.cpp computes from each format's file are
// compared with an independent float64 forward (test/support/llamaReference.ts, HF semantics) on the weights as
// that format stores them (JS dequantization of our blocks). A wrong layout, rope permutation or block encoding
// gives errors of the order of the logits themselves; what remains is llama.cpp's own arithmetic (f16 KV cache,
// Q8_0 activations against Q4_0/Q6_K weights). The quantization's own effect (reference on dequantized vs
// original weights) is printed beside it for scale.
import { join } from 'node:path';
import { convertTensor, halfToFloat } from '../../src/runtime/model/hostTensor';
import { llamaTensorShapes, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { TINY_LLAMA_CONFIG, tinyLlamaWeights } from '../../src/runtime/model/tinyLlama';
import { referenceForward } from '../../test/support/llamaReference';
import { dequantizeQ4_0, dequantizeQ6_K, quantizeQ4_0, quantizeQ6_K } from './ggmlQuant';
import { GGUF_FORMATS, writeLlamaGguf, type GgufFormat } from './llamaGguf';
import { llamaCppLogits, loadLlama } from './llamaCpp';

export const CHECK_CONFIG: LlamaConfig = { ...TINY_LLAMA_CONFIG, hiddenSize: 256, intermediateSize: 512, numHeads: 4, numKvHeads: 2, headDim: 64 };
/** "<|begin_of_text|>The capital of France is Paris." in Llama-3 ids. */
const TOKENS = [128000, 791, 6864, 315, 9822, 374, 12366, 13];
/** llama.cpp vs reference-on-stored-weights, relative L2 of the logits, that the check accepts. */
export const CHECK_LIMIT: Record<GgufFormat, number> = { F32: 5e-3, F16: 5e-3, Q4_0: 5e-2, 'Q4_0+Q6_K': 5e-2 };

/** The weights as `format` stores them (float64, HF layout). */
function storedWeights(cfg: LlamaConfig, format: GgufFormat, read: (name: string) => Float32Array): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, shape] of llamaTensorShapes(cfg)) {
    let d = read(name);
    if (shape.length === 2 && format !== 'F32') {
      const isOutput = name === (cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
      if (format === 'F16') d = Float32Array.from(convertTensor({ dtype: 'float32', shape, data: d }, 'float16').data as Uint16Array, halfToFloat);
      else if (format === 'Q4_0+Q6_K' && isOutput) d = dequantizeQ6_K(quantizeQ6_K(d), d.length);
      else d = dequantizeQ4_0(quantizeQ4_0(d), d.length);
    }
    out.set(name, Float64Array.from(d));
  }
  return out;
}

const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

export interface CheckRow {
  format: GgufFormat;
  /** llama.cpp vs the float64 reference on the stored weights. */
  readBack: number;
  /** The format's own effect: reference on stored vs original weights. */
  quantization: number;
  ok: boolean;
}

export async function checkGgufReadBack(nodeLlamaCppDir: string, workDir: string, threads: number): Promise<CheckRow[]> {
  const cfg = CHECK_CONFIG;
  const w = tinyLlamaWeights(cfg, 1);
  const read = (name: string) => convertTensor(w.read(name), 'float32').data as Float32Array;
  const original = referenceForward(cfg, storedWeights(cfg, 'F32', read), TOKENS).at(-1)!;
  const llama = await loadLlama(nodeLlamaCppDir);
  const rows: CheckRow[] = [];
  for (const format of GGUF_FORMATS) {
    const path = join(workDir, `check-${format}.gguf`);
    writeLlamaGguf(path, cfg, w, format, 'em-lab peer check');
    const reference = referenceForward(cfg, storedWeights(cfg, format, read), TOKENS).at(-1)!;
    const logits = await llamaCppLogits(llama, path, TOKENS, threads);
    const got = Float64Array.from({ length: cfg.vocabSize }, (_, i) => logits.get(i) ?? NaN);
    const readBack = relL2(got, reference);
    rows.push({ format, readBack, quantization: relL2(reference, original), ok: readBack <= CHECK_LIMIT[format] });
  }
  return rows;
}
