// The shapes, random weights, token batches and FLOP counts the GPU benchmark (bench/gpu.sh) uses, shared by
// the EM Lab train and decode phases. Everything is deterministic from fixed seeds so the PyTorch + PEFT phase
// can be fed exactly the same base weights, initial adapter and tokens (exported to files it reads).
import { parseLlamaConfig, linearShape, LORA_TARGETS, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import type { LlamaWeights } from '../../src/runtime/model/llamaGraph';
import { mulberry32, seedFrom } from '../../src/runtime/random';
import type { LoraSpec } from '../../src/runtime/train/loraSpec';

/** Llama-3.2-1B's config.json (public), as HF writes it; also written for the PEFT phase. */
export const LLAMA_1B_JSON = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, mlp_bias: false, hidden_act: 'silu',
  bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], head_dim: 64, hidden_size: 2048, intermediate_size: 8192,
  max_position_embeddings: 131072, num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, vocab_size: 128256, initializer_range: 0.02,
};

/** A tiny Llama for the CPU dry run (GPU_SH_DRY_RUN=1): same code paths, seconds instead of minutes. */
export const TINY_JSON = {
  ...LLAMA_1B_JSON, head_dim: 16, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2,
  vocab_size: 512, max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: [2],
  rope_scaling: { ...LLAMA_1B_JSON.rope_scaling, original_max_position_embeddings: 512 },
};

export type ShapeName = 'llama1b' | 'tiny';

export function shapeConfig(name: ShapeName): { json: Record<string, unknown>; cfg: LlamaConfig } {
  const json = name === 'tiny' ? TINY_JSON : LLAMA_1B_JSON;
  return { json, cfg: parseLlamaConfig(json, `${name} config`) };
}

/** r on all 7 projections of every layer, alpha = 2r (PEFT's common choice), no dropout (dropout differs per RNG). */
export function benchLora(cfg: LlamaConfig, rank: number): LoraSpec {
  return { rank, alpha: 2 * rank, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: Array.from({ length: cfg.numLayers }, (_, i) => i) };
}

/**
 * Random base weights like HF's init (uniform with the std of initializer_range 0.02; norms = 1), float32, produced
 * one tensor at a time when the graph is saved. 1.24 G values take ~10 s to generate.
 */
export function randomWeights(cfg: LlamaConfig, shapes: Map<string, number[]>, seed = 1234): LlamaWeights {
  const limit = 0.02 * Math.sqrt(3);
  return {
    read(name: string): HostTensor {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`no weight ${name} in this config`);
      const n = shape.reduce((p, d) => p * d, 1);
      const data = new Float32Array(n);
      if (name.endsWith('norm.weight')) data.fill(1);
      else {
        const next = mulberry32(seedFrom(name, seed));
        for (let i = 0; i < n; i++) data[i] = (next() * 2 - 1) * limit;
      }
      return { dtype: 'float32', shape, data };
    },
  };
}

/**
 * Token batches [steps][batch][seq] with a learnable pattern (each row counts up from a random start by a row
 * stride of 1..3 inside a 4096-token window), so 20 LoRA steps move the loss measurably.
 */
export function tokenBatches(cfg: LlamaConfig, steps: number, batch: number, seq: number, seed = 99): Int32Array {
  const out = new Int32Array(steps * batch * seq);
  const next = mulberry32(seed);
  const window = Math.min(4096, Math.floor(cfg.vocabSize / 2));
  const base = Math.min(1000, cfg.vocabSize - window);
  for (let r = 0; r < steps * batch; r++) {
    const start = Math.floor(next() * window);
    const stride = 1 + Math.floor(next() * 3);
    for (let t = 0; t < seq; t++) out[r * seq + t] = base + ((start + t * stride) % window);
  }
  return out;
}

/**
 * Model FLOPs per trained token, the same formula for EM Lab and PEFT (so MFU ratios equal tokens/s ratios):
 * frozen matmuls 2N forward + 2N for the input gradient (no weight gradient), LoRA 6 per parameter, attention
 * scores and context 4·s·h·d per layer forward and twice that backward (full s×s, as the graph computes it).
 */
export function trainFlopsPerToken(cfg: LlamaConfig, rank: number, seq: number): number {
  let frozen = cfg.vocabSize * cfg.hiddenSize; // lm_head (tied or not, it is one matmul)
  let lora = 0;
  for (const t of LORA_TARGETS) {
    const [out, inDim] = linearShape(cfg, t);
    frozen += cfg.numLayers * out * inDim;
    lora += cfg.numLayers * rank * (out + inDim);
  }
  const attention = 12 * seq * cfg.numHeads * cfg.headDim * cfg.numLayers;
  return 4 * frozen + 6 * lora + attention;
}

/** Dense fp16/bf16 tensor-core peak (TFLOP/s, no sparsity) by GPU name, from NVIDIA's data sheets. */
export function peakTflops(gpuName: string): number | undefined {
  if (/H200/i.test(gpuName)) return 989;
  if (/H100.*PCIe/i.test(gpuName)) return 756;
  if (/H100/i.test(gpuName)) return 989;
  if (/A100/i.test(gpuName)) return 312;
  if (/L40S/i.test(gpuName)) return 362;
  return undefined;
}
