// Training artifacts are generated once per model + configuration and cached under a key: the hash of everything
// that changes the graphs (model config and weights identity, LoRA shape, dtype, optimizer constants, max_length,
// the generator version). A change in any of them gives a new key, so stale graphs are never reused.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { llamaTensorShapes, type LlamaConfig } from '../model/llamaConfig';
import { convertTensor } from '../model/hostTensor';
import type { ExternalRef, GraphBuilder } from '../onnx/graphBuilder';
import { toMixedPrecision, type HalfDType } from '../onnx/precision';
import type { FloatDType } from '../model/hostTensor';
import { frozenToInputs, writeFrozenManifest, type FrozenTensor } from './frozenWeights';
import type { LlamaWeights } from '../model/llamaGraph';
import { saveModel } from '../onnx/serialize';
import type { AdamWConfig } from './optimizer';
import { q4Tensors, q4WeightNames } from './q4Weights';
import type { LoraSpec } from './loraSpec';
import { buildEvalGraph, buildTrainStepGraph, type TrainDType } from './trainGraph';

/** Bump when the generated graphs change for the same inputs (3: trimmed micro-batches, gathered LM head). */
export const ARTIFACT_VERSION = 3;

export interface ArtifactSpec {
  cfg: LlamaConfig;
  /** Identifies the weights (model folder + file sizes and mtimes, or a name + version for generated models). */
  weightsId: string;
  lora: LoraSpec;
  dtype: TrainDType;
  optimizer: AdamWConfig;
  maxLength: number;
  /** 'q4' (--use_4bit): the projections' frozen weights as 4-bit blocks (q4Weights.ts). Default 'float'. */
  weightFormat?: 'float' | 'q4';
  /**
   * 'inputs' (CPU, default): frozen weights are graph inputs fed from memory (frozenWeights.ts: ORT would copy
   * initializers, twice for the train graph). 'initializers' (CUDA): they stay external initializers.
   */
  frozenWeights?: 'inputs' | 'initializers';
  /**
   * Mixed precision (CUDA's default, --precision): the frozen weights stored in this half type and the matrix
   * products run in it; LoRA parameters, AdamW state and the loss stay float32 (precision.ts). float32 only.
   */
  precision?: HalfDType;
  /** trainGraph.ts's TrainGraphSpec.lossPositions ('all' = every position, for the bench's baseline). */
  lossPositions?: 'supervised' | 'all';
}

export function artifactKey(s: ArtifactSpec): string {
  const text = JSON.stringify({ v: ARTIFACT_VERSION, cfg: s.cfg, w: s.weightsId, lora: s.lora, dtype: s.dtype, opt: s.optimizer, maxLength: s.maxLength, frozen: s.frozenWeights ?? 'inputs', ...(s.weightFormat === 'q4' ? { q4: true } : {}), ...(s.precision ? { precision: s.precision } : {}), ...(s.lossPositions === 'all' ? { positions: 'all' } : {}) });
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** sizes + mtimes of the folder's weight files: cheap, and changes whenever the weights are replaced. */
export function folderWeightsId(dir: string, files: string[]): string {
  return JSON.stringify({ dir, files: files.map((f) => { const st = statSync(join(dir, f)); return [f, st.size, Math.round(st.mtimeMs)]; }) });
}

export interface Artifacts {
  dir: string;
  train: string;
  eval: string;
  cached: boolean;
  /** True when the graphs take the frozen weights as inputs (load them with loadFrozenFeeds(dir)). */
  frozenInputs: boolean;
}

/**
 * Writes every frozen tensor of `cfg` converted to `dtype` (page aligned); returns where each one is. With 4-bit
 * weights the projections are written as their MatMulNBits tensors (`<name>.q4`, `<name>.q4_scales`) instead.
 */
function writeWeightsFile(path: string, cfg: LlamaConfig, weights: LlamaWeights, dtype: FloatDType, q4: Set<string>): Map<string, ExternalRef> {
  const refs = new Map<string, ExternalRef>();
  const fd = openSync(path, 'w');
  let offset = 0;
  try {
    for (const [name, shape] of llamaTensorShapes(cfg)) {
      const tensors = q4.has(name) ? q4Tensors(weights, name, shape) : [{ name, bytes: floatBytes(weights, name, dtype) }];
      for (const { name: key, bytes } of tensors) {
        const pad = (4096 - (offset % 4096)) % 4096; // page-aligned, so ORT can map each tensor in place
        if (pad) writeSync(fd, new Uint8Array(pad));
        offset += pad;
        for (let p = 0; p < bytes.length; p += 1 << 28) writeSync(fd, bytes.subarray(p, Math.min(p + (1 << 28), bytes.length)));
        refs.set(key, { location: 'weights.bin', offset, length: bytes.length });
        offset += bytes.length;
      }
    }
  } finally {
    closeSync(fd);
  }
  return refs;
}

function floatBytes(weights: LlamaWeights, name: string, dtype: FloatDType): Uint8Array {
  const data = convertTensor(weights.read(name), dtype).data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Returns the artifact folder for `spec`, generating train.onnx and eval.onnx (+ their weight files) when absent. */
export function ensureArtifacts(cacheRoot: string, spec: ArtifactSpec, weights: LlamaWeights): Artifacts {
  const dir = join(cacheRoot, 'train-artifacts', artifactKey(spec));
  const out = { dir, train: join(dir, 'train.onnx'), eval: join(dir, 'eval.onnx') };
  const frozenInputs = (spec.frozenWeights ?? 'inputs') === 'inputs';
  if (existsSync(join(dir, 'complete.json'))) return { ...out, cached: true, frozenInputs };
  const tmp = `${dir}.tmp-${hostname()}-${process.pid}`; // pids repeat across the nodes sharing a storage folder
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // The frozen weights are written once, in the compute dtype, and both graphs point into that file, so there is
  // one copy on disk and the graphs stay small. On CPU the graphs take them as inputs, fed from one in-memory copy
  // shared by both sessions (frozenWeights.ts); on CUDA they are external initializers.
  const q4 = spec.weightFormat === 'q4' ? q4WeightNames(spec.cfg) : new Set<string>();
  const half = spec.precision;
  if (half && (spec.dtype !== 'float32' || spec.weightFormat === 'q4')) throw new Error(`artifacts: ${half} frozen weights need float32 compute and float weights`);
  const refs = writeWeightsFile(join(tmp, 'weights.bin'), spec.cfg, weights, half ?? spec.dtype, q4);
  // mixed precision: the float32 graph reads the weights lazily (never called: toMixedPrecision points each frozen
  // weight at its half bytes in weights.bin instead)
  const shared: LlamaWeights = half ? { read: (name) => weights.read(name) } : { read: (name) => weights.read(name), external: (name) => refs.get(name) };
  const common = { cfg: spec.cfg, dtype: spec.dtype, weights: shared, lora: spec.lora, maxLength: spec.maxLength, ...(spec.weightFormat === 'q4' ? { weightFormat: 'q4' as const } : {}), ...(spec.lossPositions ? { lossPositions: spec.lossPositions } : {}) };
  const frozen = new Map<string, FrozenTensor>();
  const feedFrozen = (fp32: GraphBuilder) => {
    const g = half ? toMixedPrecision(fp32, { compute: half, halfWeights: (name) => refs.get(name) }).graph : fp32;
    if (frozenInputs) for (const t of frozenToInputs(g, 'weights.bin')) frozen.set(t.name, t);
    return g;
  };
  saveModel(feedFrozen(buildTrainStepGraph({ ...common, optimizer: spec.optimizer })), join(tmp, 'train.onnx'));
  saveModel(feedFrozen(buildEvalGraph({ ...common, lora: { ...spec.lora, dropout: 0 } })), join(tmp, 'eval.onnx'));
  if (frozenInputs) writeFrozenManifest(tmp, 'weights.bin', [...frozen.values()]);
  writeFileSync(join(tmp, 'complete.json'), JSON.stringify({ version: ARTIFACT_VERSION, spec: { ...spec, cfg: undefined }, createdAt: new Date().toISOString() }, null, 2));
  const built = publishArtifacts(tmp, dir);
  return { ...out, cached: !built, frozenInputs };
}

/**
 * Moves a finished build into place; false when another process got there first. Several trainers can build the
 * same key at once (a grid's cells starting together on one shared storage folder): the first rename wins and the
 * others use its folder (same key, same graphs) instead of deleting it under a trainer that may be loading it. A
 * folder left without complete.json is replaced.
 */
export function publishArtifacts(tmp: string, dir: string): boolean {
  try {
    renameSync(tmp, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw err;
  }
  if (existsSync(join(dir, 'complete.json'))) {
    rmSync(tmp, { recursive: true, force: true });
    return false;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return true;
}
