// Builds a small Llama graph in memory and runs it with onnxruntime (tests only).
import { GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor, type OrtSession, type OrtTensor } from '../../src/runtime/onnx/ort';
import { llamaTensorShapes, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { buildLlamaForward, type ComputeDType, type LoraGraphOptions } from '../../src/runtime/model/llamaGraph';
import { weightSource } from './llamaFixtures';

export interface TestModel {
  session: OrtSession;
  cfg: LlamaConfig;
  dtype: ComputeDType;
  loraKeys: string[];
}

/** `layerOutputs`: also output the residual stream after each layer as `layer.{i}` (runStep returns them). */
export async function buildTestModel(cfg: LlamaConfig, w: Map<string, Float64Array>, dtype: ComputeDType, lora?: LoraGraphOptions, options: { layerOutputs?: boolean } = {}): Promise<TestModel> {
  const g = new GraphBuilder('llama_test');
  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const out = buildLlamaForward(g, cfg, { dtype, weights: weightSource(w, llamaTensorShapes(cfg)), kvCache: true, inputIds, attentionMask, ...(lora ? { lora } : {}) });
  g.output(out.logits, 'logits');
  out.presents.forEach((p, i) => {
    g.output(p.key, `present.${i}.key`);
    g.output(p.value, `present.${i}.value`);
  });
  if (options.layerOutputs) out.layerOutputs.forEach((h, i) => g.output(h, `layer.${i}`));
  // float64: ORT's fusions (QuickGelu, ...) have float32-only kernels, so optimizations stay off.
  const { session } = await createSession(toModelBytes(g), { threads: 1, ...(dtype === 'float64' ? { optimization: 'disabled' as const } : {}) });
  return { session, cfg, dtype, loraKeys: [...out.lora.keys()] };
}

const floatArray = (dtype: ComputeDType, n: number | Float64Array) =>
  dtype === 'float64' ? (typeof n === 'number' ? new Float64Array(n) : n) : typeof n === 'number' ? new Float32Array(n) : Float32Array.from(n);

export interface StepResult {
  logits: Float64Array;
  vocab: number;
  presents: OrtTensor[];
  /** Residual stream after each layer, [batch*seq, hidden] (models built with layerOutputs). */
  layers: Float64Array[];
}

/** One run: ids [B][S], mask [B][past+S], pasts from the previous step (or empty), extra feeds (LoRA). */
export async function runStep(m: TestModel, ids: number[][], mask: number[][], pasts?: OrtTensor[], extra: Record<string, OrtTensor> = {}): Promise<StepResult> {
  const B = ids.length, S = ids[0]!.length, T = mask[0]!.length;
  const { cfg } = m;
  const feeds: Record<string, OrtTensor> = {
    input_ids: tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [B, S]),
    attention_mask: tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [B, T]),
    ...extra,
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const [j, kind] of ['key', 'value'].entries()) {
      feeds[`past_key_values.${i}.${kind}`] = pasts?.[2 * i + j] ?? tensor(m.dtype as 'float32', floatArray(m.dtype, 0) as Float32Array, [B, cfg.numKvHeads, 0, cfg.headDim]);
    }
  }
  const out = await m.session.run(feeds);
  const presents: OrtTensor[] = [];
  for (let i = 0; i < cfg.numLayers; i++) presents.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
  const layers: Float64Array[] = [];
  for (let i = 0; out[`layer.${i}`]; i++) layers.push(Float64Array.from(out[`layer.${i}`]!.data as Float32Array));
  return { logits: Float64Array.from(out.logits!.data as Float32Array), vocab: cfg.vocabSize, presents, layers };
}

export function floatTensor(dtype: ComputeDType, data: Float64Array, dims: number[]): OrtTensor {
  return tensor(dtype as 'float32', floatArray(dtype, data) as Float32Array, dims);
}
