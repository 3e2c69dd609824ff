// Hugging Face config.json for the Llama family (LlamaForCausalLM: Llama 2, Llama 3.x incl. Llama-3.2-1B/3B),
// parsed into the fields the graph needs. Anything the graph does not implement is refused here with a message
// naming what is supported, rather than producing wrong logits later. `LlamaConfig` is also the config of the other
// decoder families (Qwen2, Gemma 3): their differences are the optional `ArchFeatures` fields, parsed by
// modelFamilies.ts, where every family's table lives; with none set, a config is plain Llama.
import { UserError } from '../errors';
import { LORA_TARGET_NAMES } from '../../protocol/trainOptions';

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** The families EM Lab runs (config.json model_type, see modelFamilies.ts). */
export type ModelFamily = 'llama' | 'qwen2' | 'gemma3';

/**
 * What distinguishes a family's decoder from Llama's. The graph builder and the trainer read these fields (never
 * the family name), so a family is a set of features, declared once in modelFamilies.ts.
 */
export interface ArchFeatures {
  /** Default 'llama'. */
  family?: ModelFamily;
  /** q_proj, k_proj and v_proj have biases (Qwen2). */
  qkvBias?: boolean;
  /** RMSNorm scales by (1 + weight) instead of weight (Gemma). */
  normPlusOne?: boolean;
  /** RMSNorm over each head of q and k before rope, weights self_attn.q_norm / k_norm [headDim] (Gemma 3). */
  qkNorm?: boolean;
  /**
   * Gemma's four norms per layer: post_attention_layernorm on the attention output (before the residual add),
   * pre_feedforward_layernorm before the MLP and post_feedforward_layernorm on its output.
   */
  sandwichNorms?: boolean;
  /** Token embeddings are multiplied by this (Gemma: sqrt(hidden_size)). */
  embedScale?: number;
  /** MLP activation on the gate: silu (default) or the tanh approximation of GELU (Gemma's gelu_pytorch_tanh). */
  hiddenAct?: 'silu' | 'gelu_tanh';
  /** Attention scores are q·k times this (default 1/sqrt(headDim); Gemma 3: query_pre_attn_scalar^-0.5). */
  attnScale?: number;
  /** tanh soft-capping of the attention scores: cap·tanh(s/cap), before the mask (Gemma). */
  attnSoftcap?: number;
  /** tanh soft-capping of the final logits (Gemma). */
  finalSoftcap?: number;
  /** Rope inverse frequencies divided by this factor (rope_scaling type "linear"; Gemma 3 4B+ global layers). */
  ropeLinearFactor?: number;
  /**
   * Interleaved local attention (Gemma 3): per layer, true = sliding-window attention over the last
   * `slidingWindow` positions with the local rope (`localRopeTheta`, no scaling); false = global attention.
   */
  slidingLayers?: boolean[];
  slidingWindow?: number;
  localRopeTheta?: number;
}

export interface LlamaConfig extends ArchFeatures {
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
  'RoPE with rope_scaling null, "default" or "llama3", grouped-query attention), Qwen2/Qwen2.5 (model_type "qwen2", ' +
  'without sliding-window attention) and Gemma 3 text models (model_type "gemma3_text", or the text part of "gemma3")';

export type Json = Record<string, unknown>;

// Sanity bounds, checked before anything is sized from the config (a num_hidden_layers of 1e9 would otherwise
// build billions of tensor-table entries first). Each is far above any model EM Lab can run (Llama-3.1-405B: 126
// layers, hidden 16384, MLP 53248, vocabulary 128256; Gemma: vocabulary 256000).
const SIZE_LIMITS: Record<string, number> = {
  vocab_size: 4_194_304,
  hidden_size: 65_536,
  intermediate_size: 524_288,
  num_hidden_layers: 1_024,
  num_attention_heads: 1_024,
  num_key_value_heads: 1_024,
  head_dim: 4_096,
  max_position_embeddings: 16_777_216,
};

function checkSizeLimits(cfg: Json, source: string): void {
  for (const [key, max] of Object.entries(SIZE_LIMITS)) {
    const v = cfg[key];
    if (typeof v === 'number' && v > max) {
      throw new UserError('model-config-invalid', `${source}: "${key}" is ${v}, above ${max}, which no supported model comes near. The config.json is damaged; re-download it.`);
    }
  }
}

export function refuse(source: string, what: string): never {
  throw new UserError('model-unsupported', `${source}: ${what}. EM Lab supports ${SUPPORTED_MODELS}.`);
}

export function intField(cfg: Json, key: string, source: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new UserError('model-config-invalid', `${source}: "${key}" must be a positive integer, got ${JSON.stringify(cfg[key])}. Fix config.json or re-download the model.`);
  }
  return v;
}

export function numField(cfg: Json, key: string, source: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UserError('model-config-invalid', `${source}: "${key}" must be a positive number, got ${JSON.stringify(cfg[key])}. Fix config.json or re-download the model.`);
  }
  return v;
}

/** Parses and validates a Llama config.json object. `source` names the file in error messages. */
export function parseLlamaConfig(raw: unknown, source = 'config.json'): LlamaConfig {
  const cfg = jsonObject(raw, source);
  const modelType = cfg.model_type;
  if (modelType !== 'llama') refuse(source, `model_type is ${JSON.stringify(modelType)}`);
  const arch = cfg.architectures;
  if (Array.isArray(arch) && arch.length && !arch.includes('LlamaForCausalLM')) refuse(source, `architectures is ${JSON.stringify(arch)}`);
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') refuse(source, `hidden_act "${String(act)}" is not silu`);
  if (cfg.attention_bias === true) refuse(source, 'attention_bias is true');
  if (cfg.mlp_bias === true) refuse(source, 'mlp_bias is true');
  let ropeScaling: Llama3RopeScaling | undefined;
  const r = ropeScalingOf(cfg, source);
  if (r?.type === 'llama3') {
    ropeScaling = {
      factor: numField(r.json, 'factor', `${source} rope_scaling`, NaN),
      lowFreqFactor: numField(r.json, 'low_freq_factor', `${source} rope_scaling`, 1),
      highFreqFactor: numField(r.json, 'high_freq_factor', `${source} rope_scaling`, 4),
      originalMaxPositionEmbeddings: intField(r.json, 'original_max_position_embeddings', `${source} rope_scaling`, 8192),
    };
    if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) {
      throw new UserError('model-config-invalid', `${source}: rope_scaling high_freq_factor must exceed low_freq_factor.`);
    }
  } else if (r) refuse(source, `rope_scaling type ${JSON.stringify(r.type)} (only "llama3" and "default")`);
  return { ...parseCoreFields(cfg, source), ...(ropeScaling ? { ropeScaling } : {}) };
}

export function jsonObject(raw: unknown, source: string): Json {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError('model-config-invalid', `${source}: expected a JSON object. Re-download the model.`);
  }
  return raw as Json;
}

/** rope_scaling's type and object, or undefined when it is absent, null or "default". */
export function ropeScalingOf(cfg: Json, source: string): { type: unknown; json: Json } | undefined {
  const rs = cfg.rope_scaling;
  if (rs === null || rs === undefined) return undefined;
  if (typeof rs !== 'object') refuse(source, `rope_scaling is ${JSON.stringify(rs)}`);
  const json = rs as Json;
  const type = json.rope_type ?? json.type;
  return type === 'default' ? undefined : { type, json };
}

/** The fields every family shares (sizes, heads, norm eps, rope theta, embeddings tying, eos), validated. */
export function parseCoreFields(cfg: Json, source: string): LlamaConfig {
  checkSizeLimits(cfg, source);
  const hiddenSize = intField(cfg, 'hidden_size', source);
  const numHeads = intField(cfg, 'num_attention_heads', source);
  const numKvHeads = intField(cfg, 'num_key_value_heads', source, numHeads);
  const headDim = intField(cfg, 'head_dim', source, Math.floor(hiddenSize / numHeads));
  if (numHeads % numKvHeads !== 0) {
    throw new UserError('model-config-invalid', `${source}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads}).`);
  }
  if (headDim % 2 !== 0) throw new UserError('model-config-invalid', `${source}: head_dim (${headDim}) must be even for rotary embeddings.`);
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
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    maxPositionEmbeddings: intField(cfg, 'max_position_embeddings', source, 2048),
    ...(typeof cfg.bos_token_id === 'number' ? { bosTokenId: cfg.bos_token_id } : {}),
    eosTokenIds,
    ...(typeof cfg.torch_dtype === 'string' ? { torchDtype: cfg.torch_dtype } : {}),
  };
}

/** config.json fields every family writes the same way. */
export function coreConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    max_position_embeddings: c.maxPositionEmbeddings,
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    torch_dtype: c.torchDtype ?? 'float32',
    use_cache: true,
  };
}

/** The config.json object for a Llama config (modelFamilies.ts's configJson writes any family's). */
export function toHfConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...coreConfigJson(c),
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    rope_scaling: c.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: c.ropeScaling.factor,
          low_freq_factor: c.ropeScaling.lowFreqFactor,
          high_freq_factor: c.ropeScaling.highFreqFactor,
          original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
        }
      : null,
  };
}

/** The seven Linear modules of a Llama layer that LoRA can target (PEFT target_modules names). */
/** The projections LoRA can adapt: the training option table's list (src/protocol/trainOptions.ts). */
export const LORA_TARGETS = LORA_TARGET_NAMES;
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

/**
 * Every tensor of the checkpoint, HF names and shapes (lm_head only when embeddings are untied), including the
 * family's extras: q/k/v biases (Qwen2), q/k norms and the pre/post feed-forward norms (Gemma 3).
 */
export function llamaTensorShapes(c: LlamaConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, [c.hiddenSize]);
    for (const t of LORA_TARGETS) {
      m.set(`${modulePath(i, t)}.weight`, linearShape(c, t));
      if (c.qkvBias && (t === 'q_proj' || t === 'k_proj' || t === 'v_proj')) m.set(`${modulePath(i, t)}.bias`, [linearShape(c, t)[0]]);
    }
    if (c.qkNorm) {
      m.set(`model.layers.${i}.self_attn.q_norm.weight`, [c.headDim]);
      m.set(`model.layers.${i}.self_attn.k_norm.weight`, [c.headDim]);
    }
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, [c.hiddenSize]);
    if (c.sandwichNorms) {
      m.set(`model.layers.${i}.pre_feedforward_layernorm.weight`, [c.hiddenSize]);
      m.set(`model.layers.${i}.post_feedforward_layernorm.weight`, [c.hiddenSize]);
    }
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
