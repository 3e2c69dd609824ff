// A memory estimate before training starts, so a run that cannot fit is refused with a fix instead of being
// killed by the OS halfway. Rough by design (ORT's planner reuses buffers): it counts the frozen weights, the LoRA
// parameters with gradients and AdamW moments, and the activations kept for the backward pass of one micro-batch.
import { loraParameterCount, parameterCount, type LlamaConfig } from '../model/llamaConfig';
import type { LoraSpec } from './loraSpec';
import type { TrainConfig } from './trainConfig';
import { q4FrozenBytes } from './q4Weights';
import { resolvePrecision } from './trainConfig';

export interface MemoryEstimate {
  weightsBytes: number;
  loraStateBytes: number;
  activationBytes: number;
  totalBytes: number;
  breakdown: string;
}

export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(0)} MiB`;
}

export function estimateMemory(cfg: LlamaConfig, spec: LoraSpec, c: Pick<TrainConfig, 'dtype' | 'batchSize' | 'maxLength'> & Partial<Pick<TrainConfig, 'precision' | 'device' | 'use4bit'>>): MemoryEstimate {
  const bytes = c.dtype === 'float64' ? 8 : 4;
  // 4-bit projections: 4.5 bits per weight; the backward dequantizes one projection at a time (counted below as
  // part of the activations' slack)
  // (--precision fp16/bf16: the frozen weights take 2 bytes each)
  const half = resolvePrecision({ precision: c.precision ?? 'fp32', device: c.device ?? 'cpu', use4bit: c.use4bit ?? false, dtype: c.dtype });
  const weightsBytes = c.use4bit ? q4FrozenBytes(cfg, bytes) : parameterCount(cfg) * (half ? 2 : bytes);
  // params, accumulated grads, grads of the micro-batch, m, v, and the updated copies that run() returns
  const loraStateBytes = loraParameterCount(cfg, spec.rank, spec.targets, spec.layers) * bytes * 8;
  const rows = c.batchSize * c.maxLength;
  const H = cfg.hiddenSize, I = cfg.intermediateSize, L = cfg.numLayers;
  // per layer and token: ~12 hidden-sized and 4 intermediate-sized tensors, attention probabilities (heads x seq);
  // at the end logits, log-softmax and their gradient over the vocabulary
  const perToken = L * (12 * H + 4 * I + 2 * cfg.numHeads * c.maxLength) + 3 * cfg.vocabSize;
  const activationBytes = Math.round(rows * perToken * bytes * 1.5);
  const totalBytes = weightsBytes + loraStateBytes + activationBytes;
  return { weightsBytes, loraStateBytes, activationBytes, totalBytes, breakdown: `weights ${formatBytes(weightsBytes)}${c.use4bit ? ' (4-bit projections)' : ''}, LoRA + AdamW ${formatBytes(loraStateBytes)}, activations ${formatBytes(activationBytes)}` };
}
