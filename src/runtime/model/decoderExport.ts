// Exports a Llama model folder as ONNX decoder graphs that follow the Transformers.js decoder contract:
//   onnx/model{suffix}.onnx        plain decoder (what Transformers.js loads on its own)
//   onnx/model{suffix}.onnx_data   the weights, written once
//   onnx/model{suffix}_lora.onnx   the same decoder + LoRA A/B inputs on every module and the steering/ablation
//                                  inputs (residualHooks.ts), referencing the SAME data file, so base, any number
//                                  of adapters and any steering run from one copy of the weights
//   onnx/model{suffix}_probe.onnx  the LoRA graph + per-layer residual sums (`em-lab direction compute`), same data
// suffix: '' for fp32, '_fp16' for fp16 (Transformers.js's naming). config.json and the tokenizer files are
// copied beside onnx/ so the folder is a complete Transformers.js model folder.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraphBuilder, type ExternalRef } from '../onnx/graphBuilder';
import { saveModel } from '../onnx/serialize';
import type { HostTensor } from './hostTensor';
import { LORA_TARGETS, type LlamaConfig } from './llamaConfig';
import { buildLlamaForward, type LlamaWeights } from './llamaGraph';
import { residualHooks, type ResidualHookOptions } from './residualHooks';
import type { Q4ScaleRule } from './quantize';
import { TOKENIZER_FILES, openModelFolder } from './modelFolder';

/** float32 / float16 weights and compute, or q4: 4-bit MatMulNBits weights with float32 compute (CPU chat). */
export type ExportDType = 'float32' | 'float16' | 'q4';

export const EXPORT_SCHEMA_VERSION = 7; // 2: num_logits_to_keep; 3: MatMul on transposed float weights; 4: q4 accuracy_level 4; 5: fused q/k/v and gate/up; 6: steering inputs + probe graph; 7: fused RMSNorm
/**
 * The q4 exports' format (chat on the CPU): blocks of 64 weights with ggml's Q4_0 scale rule ('signedmax8': the
 * block's largest-magnitude weight is level -8, all 16 levels used). 4.5 bits a weight instead of block 32's 5 (the
 * fp32 scale is a quarter of a block-32 weight's bytes), 11% faster batch-1 decoding and 16% faster prefill on the
 * 1B shape (`npm run bench peers`, one thread, same run), with a lower dequantization error than block 32 with max|w|/7 (the
 * trainer's --use_4bit format): relative RMS 0.093 vs 0.096 on Gaussian weights. Exports written before (no
 * q4BlockSize in the manifest: block 32, absmax7) are re-exported on next use.
 */
export const Q4_EXPORT_FORMAT: { blockSize: number; scale: Q4ScaleRule } = { blockSize: 64, scale: 'signedmax8' };
const LEGACY_Q4 = { blockSize: 32, scale: 'absmax7' as Q4ScaleRule };

/** Symbolic LoRA rank dim: adapters of any rank feed the same session. */
export const LORA_RANK_DIM = 'lora_rank';
/** Rope table rows when the caller does not say: positions beyond need a re-export with a larger maxPositions. */
export const DEFAULT_MAX_POSITIONS = 8192;

export interface ExportOptions {
  dtype?: ExportDType;
  /** Rope table rows = longest sequence (prompt + generated) the export can run. */
  maxPositions?: number;
  /** Also write the LoRA-input graph (default true). */
  lora?: boolean;
  /** q4 only: MatMulNBits accuracy_level (default 4: int8 activations, ~4x faster; 0: exact fp32 dequantization). */
  q4AccuracyLevel?: 0 | 4;
  /** Steering/ablation inputs in the LoRA graph and the probe graph (default true; false: the bench's baseline). */
  residualHooks?: boolean;
  /** q4 only: weights per 4-bit block and scale (default Q4_EXPORT_FORMAT). */
  q4BlockSize?: number;
  /** q4 only: block scale rule (quantize.ts; default Q4_EXPORT_FORMAT). */
  q4Scale?: Q4ScaleRule;
  /** q/k/v and gate/up as one product each (default true; fusedProjections.ts). false: one per module (bench baseline). */
  fuseProjections?: boolean;
  /** Progress callback: fraction of weights written. */
  onProgress?: (fraction: number) => void;
}

export interface ExportManifest {
  schemaVersion: number;
  dtype: ExportDType;
  maxPositions: number;
  model: string;
  loraModel?: string;
  /** The LoRA graph + residual_sums (residualHooks.ts), for direction computation. */
  probeModel?: string;
  /** The LoRA graph has the steering/ablation inputs (residualHooks.ts). */
  steering?: boolean;
  /** Fingerprint of the source weights (file sizes and mtimes): a changed checkpoint triggers a re-export. */
  sourceStamp: string;
  loraTargets: string[];
  q4AccuracyLevel?: number;
  /** q4 block size (absent: an export from before, block 32). */
  q4BlockSize?: number;
  /** q4 scale rule (absent: an export from before, 'absmax7'). */
  q4Scale?: Q4ScaleRule;
  /** false when the export has one product per module (written with fuseProjections: false). */
  fused?: boolean;
}

export function suffixFor(dtype: ExportDType): string {
  return dtype === 'float16' ? '_fp16' : dtype === 'q4' ? '_q4' : '';
}

function manifestPath(dir: string, dtype: ExportDType): string {
  return join(dir, 'onnx', `export${suffixFor(dtype)}.json`);
}

/** Sizes and mtimes of the folder's weight files. */
export function sourceStamp(dir: string): string {
  const files = ['config.json', 'model.safetensors', 'model.safetensors.index.json'].filter((f) => existsSync(join(dir, f)));
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    files.push(...new Set(Object.values(map)));
  }
  return files.map((f) => `${f}:${statSync(join(dir, f)).size}:${Math.floor(statSync(join(dir, f)).mtimeMs)}`).join('|');
}

/** The manifest of an up-to-date export in `dir`, or undefined when it must be (re)built. */
export function readExport(dir: string, dtype: ExportDType, sourceDir = dir): ExportManifest | undefined {
  const p = manifestPath(dir, dtype);
  if (!existsSync(p)) return undefined;
  try {
    const m = JSON.parse(readFileSync(p, 'utf8')) as ExportManifest;
    if (m.schemaVersion !== EXPORT_SCHEMA_VERSION || m.sourceStamp !== sourceStamp(sourceDir)) return undefined;
    if ([m.model, m.loraModel, m.probeModel].some((f) => f !== undefined && !existsSync(join(dir, 'onnx', f)))) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** Declares the contract's inputs, builds the forward, declares logits + presents (+ the hooks' inputs/outputs). */
export function buildDecoderGraph(cfg: LlamaConfig, weights: LlamaWeights, dtype: ExportDType, maxPositions: number, lora: boolean, options: Pick<ExportOptions, 'q4AccuracyLevel' | 'fuseProjections' | 'q4BlockSize' | 'q4Scale'> & { hooks?: ResidualHookOptions } = {}): GraphBuilder {
  // fp16 exports are for CUDA: they keep the standard attention ops (opset 21)
  const fused = options.fuseProjections ?? true;
  const fusedAttention = fused && dtype !== 'float16';
  const g = new GraphBuilder(options.hooks?.capture ? 'llama_decoder_probe' : lora ? 'llama_decoder_lora' : 'llama_decoder', [{ domain: '', version: fusedAttention ? 23 : 21 }, ...(dtype === 'q4' ? [{ domain: 'com.microsoft', version: 1 }] : [])]);
  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const logitsToKeep = g.input('num_logits_to_keep', 'int64', []);
  const computeDType = dtype === 'q4' ? 'float32' : dtype;
  const hooks = options.hooks ? residualHooks(g, cfg, computeDType, inputIds, options.hooks) : undefined;
  const out = buildLlamaForward(g, cfg, {
    dtype: computeDType,
    ...(hooks ? { residualHook: hooks.hook } : {}),
    ...(dtype === 'q4' ? { weightFormat: 'q4' as const, q4AccuracyLevel: options.q4AccuracyLevel ?? 4, q4BlockSize: options.q4BlockSize ?? Q4_EXPORT_FORMAT.blockSize, q4Scale: options.q4Scale ?? Q4_EXPORT_FORMAT.scale } : { floatLayout: 'transposed' as const }),
    fuseProjections: fused,
    fusedAttention,
    fusedNorms: fusedAttention,
    weights,
    kvCache: true,
    inputIds,
    attentionMask,
    positionIds,
    logitsToKeep,
    maxPositions,
    ...(lora ? { lora: { rank: LORA_RANK_DIM, scale: 1, targets: LORA_TARGETS, layers: [...Array(cfg.numLayers).keys()] } } : {}),
  });
  g.output(out.logits, 'logits');
  out.presents.forEach((p, i) => {
    g.output(p.key, `present.${i}.key`);
    g.output(p.value, `present.${i}.value`);
  });
  hooks?.finish();
  return g;
}

/**
 * Writes the ONNX export of a model whose weights come from `weights` into `outDir` (onnx/ + copied files from
 * `copyFrom` when given). Returns the manifest.
 */
export function writeDecoderExport(cfg: LlamaConfig, weights: LlamaWeights, outDir: string, options: ExportOptions & { copyFrom?: string; stamp?: string } = {}): ExportManifest {
  const dtype = options.dtype ?? 'float32';
  const maxPositions = options.maxPositions ?? Math.min(cfg.maxPositionEmbeddings, DEFAULT_MAX_POSITIONS);
  const suffix = suffixFor(dtype);
  const onnxDir = join(outDir, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  if (options.copyFrom && resolve(options.copyFrom) !== resolve(outDir)) {
    for (const f of ['config.json', ...TOKENIZER_FILES, 'generation_config.json', 'special_tokens_map.json']) {
      if (existsSync(join(options.copyFrom, f))) copyFileSync(join(options.copyFrom, f), join(outDir, f));
    }
  }
  // Count weights so progress can be reported as they stream to disk.
  let total = 0, done = 0;
  const counting: LlamaWeights = {
    read(name: string): HostTensor {
      const t = weights.read(name);
      done++;
      options.onProgress?.(Math.min(1, done / Math.max(total, 1)));
      return t;
    },
  };
  const level = { ...(options.q4AccuracyLevel !== undefined ? { q4AccuracyLevel: options.q4AccuracyLevel } : {}), ...(options.fuseProjections === false ? { fuseProjections: false } : {}), ...(options.q4BlockSize ? { q4BlockSize: options.q4BlockSize } : {}), ...(options.q4Scale ? { q4Scale: options.q4Scale } : {}) };
  const plain = buildDecoderGraph(cfg, counting, dtype, maxPositions, false, level);
  total = [...plain.initializers.values()].filter((i) => typeof i.data === 'function').length;
  const model = `model${suffix}.onnx`;
  const { placements } = saveModel(plain, join(onnxDir, model));
  let loraModel: string | undefined;
  let probeModel: string | undefined;
  if (options.lora !== false) {
    // Big tensors point into the plain export's data file; small ones (< 1 KiB, kept inline) are read again.
    const shared: LlamaWeights = { read: (name) => weights.read(name), external: (name: string): ExternalRef | undefined => placements.get(name) };
    loraModel = `model${suffix}_lora.onnx`;
    const hooked = options.residualHooks !== false;
    saveModel(buildDecoderGraph(cfg, shared, dtype, maxPositions, true, { ...level, ...(hooked ? { hooks: { steering: true, capture: false } } : {}) }), join(onnxDir, loraModel));
    if (hooked) {
      probeModel = `model${suffix}_probe.onnx`;
      saveModel(buildDecoderGraph(cfg, shared, dtype, maxPositions, true, { ...level, hooks: { steering: true, capture: true } }), join(onnxDir, probeModel));
    }
  }
  const manifest: ExportManifest = {
    schemaVersion: EXPORT_SCHEMA_VERSION,
    dtype,
    maxPositions,
    model,
    ...(loraModel ? { loraModel } : {}),
    ...(probeModel ? { probeModel, steering: true } : {}),
    sourceStamp: options.stamp ?? (options.copyFrom ? sourceStamp(options.copyFrom) : ''),
    loraTargets: [...LORA_TARGETS],
    ...(dtype === 'q4' ? { q4AccuracyLevel: options.q4AccuracyLevel ?? 4 } : {}),
    ...(options.fuseProjections === false ? { fused: false } : {}),
    ...(dtype === 'q4' ? { q4BlockSize: options.q4BlockSize ?? Q4_EXPORT_FORMAT.blockSize, q4Scale: options.q4Scale ?? Q4_EXPORT_FORMAT.scale } : {}),
  };
  writeFileSync(manifestPath(outDir, dtype), JSON.stringify(manifest, null, 2));
  return manifest;
}

/**
 * Makes sure `modelDir` (an HF model folder with safetensors) has an up-to-date ONNX export in `exportDir`
 * (default: the model folder itself) and returns its manifest. Weights are converted one tensor at a time.
 */
export function ensureDecoderExport(modelDir: string, options: ExportOptions & { exportDir?: string } = {}): { dir: string; manifest: ExportManifest } {
  const dtype = options.dtype ?? 'float32';
  const dir = options.exportDir ?? modelDir;
  const existing = readExport(dir, dtype, modelDir);
  const levelOk = dtype !== 'q4' || existing?.q4AccuracyLevel === (options.q4AccuracyLevel ?? 4);
  const fusedOk = (existing?.fused ?? true) === (options.fuseProjections ?? true);
  const blockOk = dtype !== 'q4' || ((existing?.q4BlockSize ?? LEGACY_Q4.blockSize) === (options.q4BlockSize ?? Q4_EXPORT_FORMAT.blockSize) && (existing?.q4Scale ?? LEGACY_Q4.scale) === (options.q4Scale ?? Q4_EXPORT_FORMAT.scale));
  if (existing && levelOk && fusedOk && blockOk && (options.maxPositions === undefined || existing.maxPositions >= options.maxPositions)) return { dir, manifest: existing };
  const folder = openModelFolder(modelDir);
  try {
    const manifest = writeDecoderExport(folder.config, { read: (n) => folder.checkpoint.read(n) }, dir, { ...options, copyFrom: modelDir, stamp: sourceStamp(modelDir) });
    return { dir, manifest };
  } finally {
    folder.checkpoint.close();
  }
}
