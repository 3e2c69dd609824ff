// The decoder families EM Lab runs, in one table: how each family's config.json is recognised and parsed into a
// LlamaConfig with its ArchFeatures (what differs from Llama), and how a config is written back. The graph builder,
// the trainer, PEFT and the references read the features, never the family name, so adding a family is a row here
// plus any new feature in llamaGraph.ts. What a family has that the graph cannot do faithfully is refused here,
// naming the field, so a model never runs with silently wrong numerics.
import { UserError } from '../errors';
import {
  coreConfigJson,
  intField,
  jsonObject,
  numField,
  parseCoreFields,
  parseLlamaConfig,
  refuse,
  ropeScalingOf,
  toHfConfigJson,
  type Json,
  type LlamaConfig,
  type ModelFamily,
} from './llamaConfig';

interface FamilyEntry {
  /** config.json model_type values of this family. */
  modelTypes: readonly string[];
  parse(cfg: Json, source: string): LlamaConfig;
  configJson(c: LlamaConfig): Record<string, unknown>;
}

/**
 * Qwen2 / Qwen2.5 (Qwen2ForCausalLM): Llama's layout plus biases on q_proj, k_proj and v_proj (HF's Qwen2Attention
 * always has them; o_proj has none), its own rope_theta (1e6 for Qwen2.5), tied embeddings on the small sizes.
 * Sliding-window attention exists in the config (use_sliding_window, max_window_layers) but the released models
 * leave it off; a config that turns it on is refused.
 */
function parseQwen2(cfg: Json, source: string): LlamaConfig {
  const arch = cfg.architectures;
  if (Array.isArray(arch) && arch.length && !arch.includes('Qwen2ForCausalLM')) refuse(source, `architectures is ${JSON.stringify(arch)}`);
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') refuse(source, `hidden_act "${String(act)}" is not silu`);
  if (cfg.use_sliding_window === true) {
    refuse(source, 'use_sliding_window is true (Qwen2 sliding-window attention is not implemented; the released Qwen2.5 Instruct models have it off: set "use_sliding_window": false only if the model was trained that way)');
  }
  if (Array.isArray(cfg.layer_types) && cfg.layer_types.some((t) => t !== 'full_attention')) refuse(source, 'layer_types has sliding_attention layers (Qwen2 sliding-window attention is not implemented)');
  const r = ropeScalingOf(cfg, source);
  if (r) refuse(source, `rope_scaling type ${JSON.stringify(r.type)} (Qwen2: only "default"; YaRN long-context scaling is not implemented)`);
  return { ...parseCoreFields({ tie_word_embeddings: false, ...cfg }, source), family: 'qwen2', qkvBias: true };
}

function qwen2ConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    ...coreConfigJson(c),
    hidden_act: 'silu',
    rope_scaling: null,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: c.numLayers,
    attention_dropout: 0,
  };
}

/** Gemma3TextConfig's defaults (transformers), which gemma3 checkpoints' text_config relies on for omitted fields. */
const GEMMA3_TEXT_DEFAULTS: Json = {
  vocab_size: 262208,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
  final_logit_softcapping: null,
  attn_logit_softcapping: null,
  tie_word_embeddings: true,
  pad_token_id: 0,
  eos_token_id: 1,
  bos_token_id: 2,
};

function optionalCap(cfg: Json, key: string, source: string): number | undefined {
  const v = cfg[key];
  if (v === null || v === undefined) return undefined;
  return numField(cfg, key, source, NaN);
}

/**
 * Gemma 3 text (Gemma3ForCausalLM, and the language model of Gemma3ForConditionalGeneration): embeddings scaled by
 * sqrt(hidden), RMSNorm with (1 + w), q/k norms, four norms per layer, GeGLU with the tanh GELU, attention scale
 * query_pre_attn_scalar^-0.5, optional tanh soft-capping of scores and logits, and every `sliding_window_pattern`-th
 * layer global (rope_theta, rope_scaling linear or none) with the others local (sliding_window, rope_local_base_freq).
 */
function parseGemma3Text(cfg0: Json, source: string): LlamaConfig {
  const cfg: Json = { ...GEMMA3_TEXT_DEFAULTS };
  for (const [k, v] of Object.entries(cfg0)) if (v !== undefined) cfg[k] = v;
  const act = cfg.hidden_activation ?? cfg.hidden_act;
  if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_new') refuse(source, `hidden_activation "${String(act)}" (Gemma 3: only the tanh GELU, gelu_pytorch_tanh)`);
  if (cfg.attention_bias === true) refuse(source, 'attention_bias is true');
  if (cfg.use_bidirectional_attention === true) refuse(source, 'use_bidirectional_attention is true (an embedding model, not a causal decoder)');
  const r = ropeScalingOf(cfg, source);
  let ropeLinearFactor: number | undefined;
  if (r?.type === 'linear') ropeLinearFactor = numField(r.json, 'factor', `${source} rope_scaling`, NaN);
  else if (r) refuse(source, `rope_scaling type ${JSON.stringify(r.type)} (Gemma 3: only "linear" and "default")`);
  const core = parseCoreFields(cfg, source);
  const n = core.numLayers;
  let slidingLayers: boolean[];
  if (Array.isArray(cfg.layer_types)) {
    if (cfg.layer_types.length !== n || cfg.layer_types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new UserError('model-config-invalid', `${source}: "layer_types" must list "sliding_attention" or "full_attention" for each of the ${n} layers.`);
    }
    slidingLayers = cfg.layer_types.map((t) => t === 'sliding_attention');
  } else {
    const pattern = intField(cfg, 'sliding_window_pattern', source);
    slidingLayers = Array.from({ length: n }, (_, i) => (i + 1) % pattern !== 0);
  }
  const attnSoftcap = optionalCap(cfg, 'attn_logit_softcapping', source);
  const finalSoftcap = optionalCap(cfg, 'final_logit_softcapping', source);
  return {
    ...core,
    family: 'gemma3',
    normPlusOne: true,
    qkNorm: true,
    sandwichNorms: true,
    embedScale: Math.sqrt(core.hiddenSize),
    hiddenAct: 'gelu_tanh',
    attnScale: 1 / Math.sqrt(numField(cfg, 'query_pre_attn_scalar', source, NaN)),
    ...(attnSoftcap !== undefined ? { attnSoftcap } : {}),
    ...(finalSoftcap !== undefined ? { finalSoftcap } : {}),
    ...(ropeLinearFactor !== undefined ? { ropeLinearFactor } : {}),
    slidingLayers,
    slidingWindow: intField(cfg, 'sliding_window', source),
    localRopeTheta: numField(cfg, 'rope_local_base_freq', source, NaN),
  };
}

/** A gemma3 (multimodal) checkpoint: its text_config is a Gemma 3 text model; the vision tower is not used. */
function parseGemma3(cfg: Json, source: string): LlamaConfig {
  const text = cfg.text_config;
  if (!text || typeof text !== 'object') throw new UserError('model-config-invalid', `${source}: a "gemma3" config needs a "text_config" object. Re-download config.json.`);
  const eos = cfg.eos_token_id ?? (text as Json).eos_token_id;
  return parseGemma3Text({ ...(text as Json), ...(eos !== undefined ? { eos_token_id: eos } : {}), ...(cfg.torch_dtype ? { torch_dtype: cfg.torch_dtype } : {}) }, `${source} text_config`);
}

function gemma3ConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['Gemma3ForCausalLM'],
    model_type: 'gemma3_text',
    ...coreConfigJson(c),
    hidden_activation: 'gelu_pytorch_tanh',
    query_pre_attn_scalar: 1 / (c.attnScale ?? 1 / Math.sqrt(c.headDim)) ** 2,
    rope_scaling: c.ropeLinearFactor ? { rope_type: 'linear', factor: c.ropeLinearFactor } : null,
    rope_local_base_freq: c.localRopeTheta ?? c.ropeTheta,
    sliding_window: c.slidingWindow ?? c.maxPositionEmbeddings,
    layer_types: (c.slidingLayers ?? []).map((s) => (s ? 'sliding_attention' : 'full_attention')),
    attn_logit_softcapping: c.attnSoftcap ?? null,
    final_logit_softcapping: c.finalSoftcap ?? null,
    attention_bias: false,
  };
}

export const MODEL_FAMILIES: Record<ModelFamily, FamilyEntry> = {
  llama: { modelTypes: ['llama'], parse: (cfg, source) => ({ ...parseLlamaConfig(cfg, source) }), configJson: toHfConfigJson },
  qwen2: { modelTypes: ['qwen2'], parse: parseQwen2, configJson: qwen2ConfigJson },
  gemma3: { modelTypes: ['gemma3_text', 'gemma3'], parse: (cfg, source) => (cfg.model_type === 'gemma3' ? parseGemma3(cfg, source) : parseGemma3Text(cfg, source)), configJson: gemma3ConfigJson },
};

/** Parses any supported family's config.json; `source` names the file in messages. */
export function parseModelConfig(raw: unknown, source = 'config.json'): LlamaConfig {
  const cfg = jsonObject(raw, source);
  for (const entry of Object.values(MODEL_FAMILIES)) if (entry.modelTypes.includes(cfg.model_type as string)) return entry.parse(cfg, source);
  return refuse(source, `model_type is ${JSON.stringify(cfg.model_type)}`);
}

/** The config.json object for a config of any family (what generated, exported and merged folders get). */
export function configJson(c: LlamaConfig): Record<string, unknown> {
  return MODEL_FAMILIES[c.family ?? 'llama'].configJson(c);
}

/** A short name for messages and model lists, e.g. "Qwen2". */
export function familyLabel(c: Pick<LlamaConfig, 'family'>): string {
  return { llama: 'Llama', qwen2: 'Qwen2', gemma3: 'Gemma 3' }[c.family ?? 'llama'];
}
