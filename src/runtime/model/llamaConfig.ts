// Hugging Face config.json for the Llama family (LlamaForCausalLM: Llama 2, Llama 3.x incl. Llama-3.2-1B/3B),
// parsed into the fields the graph needs. Anything the graph does not implement is refused here with a message
// naming what is supported, rather than producing wrong logits later.
import { UserError } from '../errors';

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** rope_scaling of type llama3, or undefined for plain RoPE. */
  ropeScaling?: Llama3RopeScaling;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** torch_dtype of the checkpoint (informational: bfloat16 for Llama 3.2). */
  torchDtype?: string;
}

export const SUPPORTED_MODELS =
  'Llama-family checkpoints (model_type "llama", LlamaForCausalLM: SiLU MLP, RMSNorm, no attention/MLP bias, ' +
  'RoPE with rope_scaling null, "default" or "llama3", grouped-query attention)';

type Json = Record<string, unknown>;

function refuse(source: string, what: string): never {
  throw new UserError('model-unsupported', `${source}: ${what}. EM Lab supports ${SUPPORTED_MODELS}.`);
}

function intField(cfg: Json, key: string, source: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new UserError('model-config-invalid', `${source}: "${key}" must be a positive integer, got ${JSON.stringify(cfg[key])}. Fix config.json or re-download the model.`);
  }
  return v;
}

function numField(cfg: Json, key: string, source: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UserError('model-config-invalid', `${source}: "${key}" must be a positive number, got ${JSON.stringify(cfg[key])}. Fix config.json or re-download the model.`);
  }
  return v;
}

/** Parses and validates a config.json object. `source` names the file in error messages. */
export function parseLlamaConfig(raw: unknown, source = 'config.json'): LlamaConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError('model-config-invalid', `${source}: expected a JSON object. Re-download the model.`);
  }
  const cfg = raw as Json;
  const modelType = cfg.model_type;
  if (modelType !== 'llama') refuse(source, `model_type is ${JSON.stringify(modelType)}`);
  const arch = cfg.architectures;
  if (Array.isArray(arch) && arch.length && !arch.includes('LlamaForCausalLM')) refuse(source, `architectures is ${JSON.stringify(arch)}`);
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') refuse(source, `hidden_act "${String(act)}" is not silu`);
  if (cfg.attention_bias === true) refuse(source, 'attention_bias is true');
  if (cfg.mlp_bias === true) refuse(source, 'mlp_bias is true');

  const hiddenSize = intField(cfg, 'hidden_size', source);
  const numHeads = intField(cfg, 'num_attention_heads', source);
  const numKvHeads = intField(cfg, 'num_key_value_heads', source, numHeads);
  const headDim = intField(cfg, 'head_dim', source, Math.floor(hiddenSize / numHeads));
  if (numHeads % numKvHeads !== 0) {
    throw new UserError('model-config-invalid', `${source}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads}).`);
  }
  if (headDim % 2 !== 0) throw new UserError('model-config-invalid', `${source}: head_dim (${headDim}) must be even for rotary embeddings.`);

  let ropeScaling: Llama3RopeScaling | undefined;
  const rs = cfg.rope_scaling;
  if (rs !== null && rs !== undefined) {
    if (typeof rs !== 'object') refuse(source, `rope_scaling is ${JSON.stringify(rs)}`);
    const r = rs as Json;
    const type = r.rope_type ?? r.type;
    if (type === 'llama3') {
      ropeScaling = {
        factor: numField(r, 'factor', `${source} rope_scaling`, NaN),
        lowFreqFactor: numField(r, 'low_freq_factor', `${source} rope_scaling`, 1),
        highFreqFactor: numField(r, 'high_freq_factor', `${source} rope_scaling`, 4),
        originalMaxPositionEmbeddings: intField(r, 'original_max_position_embeddings', `${source} rope_scaling`, 8192),
      };
      if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) {
        throw new UserError('model-config-invalid', `${source}: rope_scaling high_freq_factor must exceed low_freq_factor.`);
      }
    } else if (type !== 'default') refuse(source, `rope_scaling type ${JSON.stringify(type)} (only "llama3" and "default")`);
  }

  const eos = cfg.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((e): e is number => typeof e === 'number') : typeof eos === 'number' ? [eos] : [];
  return {
    vocabSize: intField(cfg, 'vocab_size', source),
    hiddenSize,
    intermediateSize: intField(cfg, 'intermediate_size', source),
    numLayers: intField(cfg, 'num_hidden_layers', source),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: numField(cfg, 'rms_norm_eps', source, 1e-6),
    ropeTheta: numField(cfg, 'rope_theta', source, 10000),
    ...(ropeScaling ? { ropeScaling } : {}),
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    maxPositionEmbeddings: intField(cfg, 'max_position_embeddings', source, 2048),
    ...(typeof cfg.bos_token_id === 'number' ? { bosTokenId: cfg.bos_token_id } : {}),
    eosTokenIds,
    ...(typeof cfg.torch_dtype === 'string' ? { torchDtype: cfg.torch_dtype } : {}),
  };
}

/** The config.json object for a LlamaConfig (what we write into exported and generated model folders). */
export function toHfConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: c.ropeScaling.factor,
          low_freq_factor: c.ropeScaling.lowFreqFactor,
          high_freq_factor: c.ropeScaling.highFreqFactor,
          original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
        }
      : null,
    tie_word_embeddings: c.tieWordEmbeddings,
    max_position_embeddings: c.maxPositionEmbeddings,
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    torch_dtype: c.torchDtype ?? 'float32',
    use_cache: true,
  };
}

/** The seven Linear modules of a Llama layer that LoRA can target (PEFT target_modules names). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** [out, in] of each target's weight (HF nn.Linear layout). */
export function linearShape(c: LlamaConfig, target: LoraTarget): [number, number] {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  switch (target) {
    case 'q_proj': return [q, c.hiddenSize];
    case 'k_proj': return [kv, c.hiddenSize];
    case 'v_proj': return [kv, c.hiddenSize];
    case 'o_proj': return [c.hiddenSize, q];
    case 'gate_proj': return [c.intermediateSize, c.hiddenSize];
    case 'up_proj': return [c.intermediateSize, c.hiddenSize];
    case 'down_proj': return [c.hiddenSize, c.intermediateSize];
  }
}

/** The HF module path of a target in layer i, e.g. model.layers.3.self_attn.q_proj. */
export function modulePath(layer: number, target: LoraTarget): string {
  const block = target === 'gate_proj' || target === 'up_proj' || target === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${target}`;
}

/** Every tensor of the checkpoint, HF names and shapes (lm_head only when embeddings are untied). */
export function llamaTensorShapes(c: LlamaConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, [c.hiddenSize]);
    for (const t of LORA_TARGETS) m.set(`${modulePath(i, t)}.weight`, linearShape(c, t));
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, [c.hiddenSize]);
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}

export function parameterCount(c: LlamaConfig): number {
  let n = 0;
  for (const s of llamaTensorShapes(c).values()) n += s.reduce((p, d) => p * d, 1);
  return n;
}

/** Trainable LoRA parameters: r·(in+out) per targeted module and layer. */
export function loraParameterCount(c: LlamaConfig, rank: number, targets: readonly LoraTarget[], layers?: readonly number[]): number {
  const nLayers = layers ? layers.length : c.numLayers;
  return nLayers * targets.reduce((s, t) => s + rank * (linearShape(c, t)[0] + linearShape(c, t)[1]), 0);
}

/** PEFT state-dict key of a LoRA matrix, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight. */
export function peftKey(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath(layer, target)}.lora_${which}.weight`;
}
