// --use_4bit (the homework's QLoRA option): which frozen weights are 4-bit, the shape rule they need, and their
// bytes in the artifact folder's weights file. Like bitsandbytes' load_in_4bit, only the Linear weights of the 7
// projection kinds are quantized; embeddings, norms and lm_head stay in the compute dtype; LoRA parameters, their
// gradients and AdamW state stay fp32. The format is ONNX Runtime's MatMulNBits (model/quantize.ts): symmetric
// round-to-nearest blocks of 32 weights along the in-features, one fp32 scale each, zero point 8 — 4.5 bits per
// weight instead of 32. (bitsandbytes' default is NF4 with blocks of 64; the formats differ, the idea is the same.)
import { UserError } from '../errors';
import { LORA_TARGETS, linearShape, llamaTensorShapes, modulePath, type LlamaConfig } from '../model/llamaConfig';
import { convertTensor } from '../model/hostTensor';
import { Q4_BLOCK, type LlamaWeights } from '../model/llamaGraph';
import { quantizeQ4 } from '../model/quantize';

/** HF names of the frozen weights stored as 4-bit blocks. */
export function q4WeightNames(cfg: LlamaConfig): Set<string> {
  const out = new Set<string>();
  for (let l = 0; l < cfg.numLayers; l++) for (const t of LORA_TARGETS) out.add(`${modulePath(l, t)}.weight`);
  return out;
}

/**
 * The gradient through a 4-bit weight views its packed bytes as a [out, in] 4-bit tensor (gradRules/quantized.ts),
 * which needs every projection's in-features to be a multiple of the 32-weight block.
 */
export function check4bitShapes(cfg: LlamaConfig): void {
  const bad = LORA_TARGETS.map((t) => [t, linearShape(cfg, t)[1]] as const).filter(([, k]) => k % Q4_BLOCK !== 0);
  if (bad.length) {
    throw new UserError('train-4bit-shape', `--use_4bit needs in-features that are multiples of ${Q4_BLOCK} (4-bit blocks), but this model has ${bad.map(([t, k]) => `${t} ${k}`).join(', ')}. Train this model without --use_4bit.`);
  }
}

/** Bytes of the frozen weights in memory: 4-bit projections (packed + scales) and the rest in `bytesPerFloat`. */
export function q4FrozenBytes(cfg: LlamaConfig, bytesPerFloat: number): number {
  const q4 = q4WeightNames(cfg);
  let total = 0;
  for (const [name, shape] of llamaTensorShapes(cfg)) {
    const n = shape.reduce((p, d) => p * d, 1);
    total += q4.has(name) ? n / 2 + (n / Q4_BLOCK) * 4 : n * bytesPerFloat;
  }
  return total;
}

/** The two tensors MatMulNBits reads for a 4-bit weight, named as llamaGraph's q4 path asks for them. */
export function q4Tensors(weights: LlamaWeights, name: string, shape: number[]): { name: string; bytes: Uint8Array }[] {
  const [n, k] = shape as [number, number];
  const q = quantizeQ4(convertTensor(weights.read(name), 'float32').data as Float32Array, n, k, Q4_BLOCK);
  return [
    { name: `${name}.q4`, bytes: q.packed },
    { name: `${name}.q4_scales`, bytes: new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength) },
  ];
}
