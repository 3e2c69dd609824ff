// Random tiny Llama configurations and weights for numerics tests.
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import type { LlamaWeights } from '../../src/runtime/model/llamaGraph';
import { fillUniform, seedFrom } from '../../src/runtime/random';

export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    vocabSize: 97,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 64,
    eosTokenIds: [1],
    ...over,
  };
}

/** Random float64 weights (norm weights near 1, others small uniform), deterministic per seed. */
export function randomWeights(c: LlamaConfig, seed: number): Map<string, Float64Array> {
  const w = new Map<string, Float64Array>();
  for (const [name, shape] of llamaTensorShapes(c)) {
    const n = shape.reduce((p, d) => p * d, 1);
    const t = fillUniform(new Float64Array(n), seedFrom(name, seed), name.endsWith('norm.weight') ? 0.2 : 0.5 / Math.sqrt(shape[shape.length - 1]!)) as Float64Array;
    if (name.endsWith('norm.weight')) for (let i = 0; i < n; i++) t[i] += 1;
    if (name === 'model.embed_tokens.weight') for (let i = 0; i < n; i++) t[i] *= 4;
    w.set(name, t);
  }
  return w;
}

export function weightSource(w: Map<string, Float64Array>, shapes: Map<string, number[]>): LlamaWeights {
  return {
    read(name: string): HostTensor {
      const data = w.get(name);
      if (!data) throw new Error(`no weight ${name}`);
      return { dtype: 'float64', shape: shapes.get(name)!, data };
    },
  };
}

/** A tiny Qwen2 config.json object (q/k/v biases, rope_theta 1e6 as Qwen2.5), parsed by the family table. */
export function tinyQwen2Json(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: 97,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    use_sliding_window: false,
    sliding_window: 32,
    max_window_layers: 2,
    eos_token_id: 1,
    ...over,
  };
}

/**
 * A tiny gemma3_text config.json object: 3 layers with pattern 3 (two local sliding-window layers of window 3, then
 * one global), query_pre_attn_scalar != head_dim, different local and global rope bases.
 */
export function tinyGemma3Json(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['Gemma3ForCausalLM'],
    model_type: 'gemma3_text',
    vocab_size: 97,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    hidden_activation: 'gelu_pytorch_tanh',
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    rope_local_base_freq: 10000,
    query_pre_attn_scalar: 12,
    sliding_window: 3,
    sliding_window_pattern: 3,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    eos_token_id: 1,
    ...over,
  };
}
