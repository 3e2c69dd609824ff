// Hugging Face PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors, read and written in the
// format PEFT uses (keys base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight [r, in] and
// lora_B.weight [out, r]), so adapters trained in Python (e.g. the paper's public ones) load, and ours load in PEFT.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readJsonFile } from '../jsonFile';
import { join } from 'node:path';
import { UserError } from '../errors';
import { convertTensor, firstNonFinite, type HostTensor } from './hostTensor';
import { LORA_TARGETS, linearShape, modulePath, peftKey, type LlamaConfig, type LoraTarget } from './llamaConfig';
import type { LoraAdapterWeights } from './decoder';
import { SafetensorsFile, writeSafetensors } from './safetensors';

export interface PeftLoraConfig {
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  /** As written in the file: a list of module names or a regex matched against full module paths. */
  targetModules: string[] | string;
  /** Layers the adapter touches (undefined = all). */
  layersToTransform?: number[];
  baseModelNameOrPath?: string;
  /** Everything else in adapter_config.json, kept so a rewrite preserves it. */
  raw: Record<string, unknown>;
}

export interface PeftAdapter extends LoraAdapterWeights {
  dir?: string;
  config: PeftLoraConfig;
  /** The (layer, module) pairs present in the weights. */
  modules: { layer: number; target: LoraTarget }[];
}

// Gemma 3 multimodal bases put the language model under language_model (older transformers:
// base_model.model.language_model.model.layers..., newer: base_model.model.model.language_model.layers...); both
// map to the text model's key.
const KEY_RE = /^base_model\.model\.(?:language_model\.)?model\.(?:language_model\.)?layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$/;

/** PEFT's scaling: alpha/r, or alpha/sqrt(r) with rsLoRA. */
export function loraScale(c: Pick<PeftLoraConfig, 'r' | 'loraAlpha' | 'useRslora'>): number {
  return c.useRslora ? c.loraAlpha / Math.sqrt(c.r) : c.loraAlpha / c.r;
}

function bad(dir: string, what: string): never {
  throw new UserError('adapter-invalid', `${join(dir, 'adapter_config.json')}: ${what}`);
}

export function parsePeftConfig(raw: Record<string, unknown>, dir: string): PeftLoraConfig {
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') bad(dir, `peft_type is ${JSON.stringify(raw.peft_type)}; EM Lab reads LoRA adapters only.`);
  if (raw.use_dora === true) bad(dir, 'use_dora is true; DoRA adapters are not supported (train a plain LoRA adapter).');
  if (raw.bias !== undefined && raw.bias !== 'none') bad(dir, `bias is ${JSON.stringify(raw.bias)}; only bias "none" is supported.`);
  if (raw.fan_in_fan_out === true) bad(dir, 'fan_in_fan_out is true, which Llama Linear layers never use.');
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length) bad(dir, `modules_to_save ${JSON.stringify(raw.modules_to_save)} is not supported (LoRA matrices only).`);
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    const v = raw[k];
    if (v && typeof v === 'object' && Object.keys(v).length) bad(dir, `${k} is not supported (one rank and alpha for all modules).`);
  }
  const r = raw.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) bad(dir, `"r" must be a positive integer, got ${JSON.stringify(r)}.`);
  const alpha = raw.lora_alpha ?? r;
  if (typeof alpha !== 'number' || !(alpha > 0)) bad(dir, `"lora_alpha" must be a positive number, got ${JSON.stringify(alpha)}.`);
  const tm = raw.target_modules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) bad(dir, '"target_modules" must be a list of module names or a regex string.');
  if (typeof tm === 'string' && tm !== 'all-linear') {
    try {
      new RegExp(`^(?:${tm})$`);
    } catch (err) {
      bad(dir, `"target_modules" ${JSON.stringify(tm)} is not a valid regular expression (${(err as Error).message}).`);
    }
  }
  const ltt = raw.layers_to_transform;
  let layers: number[] | undefined;
  if (typeof ltt === 'number') layers = [ltt];
  else if (Array.isArray(ltt)) layers = ltt.filter((x): x is number => typeof x === 'number');
  return {
    r,
    loraAlpha: alpha,
    useRslora: raw.use_rslora === true,
    targetModules: tm as string[] | string,
    ...(layers ? { layersToTransform: layers } : {}),
    ...(typeof raw.base_model_name_or_path === 'string' && raw.base_model_name_or_path ? { baseModelNameOrPath: raw.base_model_name_or_path } : {}),
    raw,
  };
}

/** Whether PEFT would target `target` in `layer` under this config (list: suffix match; string: full regex match). */
export function targetsModule(c: PeftLoraConfig, layer: number, target: LoraTarget): boolean {
  if (c.layersToTransform && !c.layersToTransform.includes(layer)) return false;
  if (typeof c.targetModules === 'string') {
    if (c.targetModules === 'all-linear') return true;
    return new RegExp(`^(?:${c.targetModules})$`).test(modulePath(layer, target));
  }
  return c.targetModules.some((t) => t === target || modulePath(layer, target).endsWith(`.${t}`));
}

/** Reads an adapter folder. With `cfg`, checks every tensor against the base model's shapes. */
export function readPeftAdapter(dir: string, cfg?: LlamaConfig): PeftAdapter {
  const configPath = join(dir, 'adapter_config.json');
  if (!existsSync(configPath)) throw new UserError('adapter-missing', `${dir}: no adapter_config.json. An adapter folder holds adapter_config.json and adapter_model.safetensors (as PEFT's save_pretrained writes them).`);
  const raw = readJsonFile(configPath, 'adapter-invalid', 'Re-save the adapter (PEFT save_pretrained, or an EM Lab checkpoint).');
  const config = parsePeftConfig(raw, dir);
  const weightsPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(weightsPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin'));
    throw new UserError('adapter-missing', `${dir}: no adapter_model.safetensors${bin ? ' (adapter_model.bin is a pickle EM Lab does not read: re-save the adapter with safe_serialization=True)' : ''}.`);
  }
  const file = SafetensorsFile.open(weightsPath);
  const tensors = new Map<string, HostTensor>();
  const modules = new Map<string, { layer: number; target: LoraTarget }>();
  try {
    for (const name of file.names()) {
      const m = KEY_RE.exec(name);
      if (!m) throw new UserError('adapter-invalid', `${weightsPath}: unexpected tensor "${name}" (expected keys like ${peftKey(0, 'q_proj', 'A')}).`);
      const layer = Number(m[1]);
      const target = m[3] as LoraTarget;
      if (!LORA_TARGETS.includes(target)) throw new UserError('adapter-invalid', `${weightsPath}: "${name}" targets ${target}; supported modules: ${LORA_TARGETS.join(', ')}.`);
      const key = peftKey(layer, target, m[4] as 'A' | 'B');
      const t = file.read(name);
      const expected = m[4] === 'A' ? [config.r, cfg ? linearShape(cfg, target)[1] : t.shape[1]!] : [cfg ? linearShape(cfg, target)[0] : t.shape[0]!, config.r];
      if (t.shape.length !== 2 || t.shape[0] !== expected[0] || t.shape[1] !== expected[1]) {
        throw new UserError('adapter-mismatch', `${weightsPath}: "${name}" has shape [${t.shape}], expected [${expected}] (r=${config.r}${cfg ? ' and the base model\'s shapes' : ''}). Is the adapter for another base model?`);
      }
      if (cfg && layer >= cfg.numLayers) throw new UserError('adapter-mismatch', `${weightsPath}: "${name}" is for layer ${layer}, the base model has ${cfg.numLayers}. Is the adapter for another base model?`);
      if (!targetsModule(config, layer, target)) {
        // PEFT would load only what the config names; applying the rest would change the model behind its back
        throw new UserError('adapter-mismatch', `${weightsPath}: "${name}" is for layer ${layer} ${target}, which adapter_config.json does not target (target_modules ${JSON.stringify(config.targetModules)}${config.layersToTransform ? `, layers_to_transform ${JSON.stringify(config.layersToTransform)}` : ''}). The weights and the config disagree: fix target_modules, or re-save the adapter.`);
      }
      const bad = firstNonFinite(t);
      if (bad >= 0) throw new UserError('adapter-invalid', `${weightsPath}: "${name}" holds ${t.data instanceof Uint16Array ? 'NaN or Inf' : String(t.data[bad])} at element ${bad}; an adapter's values must be finite float32 numbers. The training diverged or the file is damaged: use an earlier checkpoint.`);
      tensors.set(key, t);
      modules.set(`${layer}.${target}`, { layer, target });
    }
  } finally {
    file.close();
  }
  for (const { layer, target } of modules.values()) {
    if (!tensors.has(peftKey(layer, target, 'A')) || !tensors.has(peftKey(layer, target, 'B'))) {
      throw new UserError('adapter-invalid', `${weightsPath}: layer ${layer} ${target} has only one of lora_A/lora_B.`);
    }
  }
  return { dir, config, rank: config.r, scale: loraScale(config), tensors, modules: [...modules.values()] };
}

export interface NewAdapterSpec {
  r: number;
  loraAlpha: number;
  useRslora?: boolean;
  targets: readonly LoraTarget[];
  layers?: readonly number[];
  baseModelNameOrPath: string;
}

/** adapter_config.json as PEFT writes it for a LoRA on a LlamaForCausalLM. */
export function peftConfigJson(spec: NewAdapterSpec): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: spec.baseModelNameOrPath,
    r: spec.r,
    lora_alpha: spec.loraAlpha,
    use_rslora: spec.useRslora ?? false,
    target_modules: [...spec.targets],
    layers_to_transform: spec.layers ? [...spec.layers] : null,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    init_lora_weights: true,
    modules_to_save: null,
    use_dora: false,
    inference_mode: true,
    revision: null,
  };
}

/** Writes adapter_config.json + adapter_model.safetensors (F32, PEFT's key names) into `dir`. */
export function writePeftAdapter(dir: string, spec: NewAdapterSpec, tensors: ReadonlyMap<string, HostTensor>, extraConfig: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const entries = [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: convertTensor(t, 'float32').data }));
  writeSafetensors(join(dir, 'adapter_model.safetensors'), entries, { format: 'pt' });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...peftConfigJson(spec), ...extraConfig }, null, 2));
}

/** W + scale·B·A in float32, W [out, in] in HF layout. Cost: out·in·r multiply-adds. */
export function mergeLinear(w: HostTensor, a: HostTensor, b: HostTensor, scale: number): Float32Array {
  const [out, inDim] = w.shape as [number, number];
  const r = a.shape[0]!;
  const merged = Float32Array.from(convertTensor(w, 'float32').data as Float32Array);
  const A = convertTensor(a, 'float32').data as Float32Array;
  const B = convertTensor(b, 'float32').data as Float32Array;
  for (let o = 0; o < out; o++) {
    const row = o * inDim;
    for (let k = 0; k < r; k++) {
      const s = scale * B[o * r + k]!;
      if (s === 0) continue;
      const ak = k * inDim;
      for (let i = 0; i < inDim; i++) merged[row + i] += s * A[ak + i]!;
    }
  }
  return merged;
}
