// Direction files: a safetensors file with one float32 tensor `layers.{L}` [hidden_size] per decoder layer L (the
// residual stream after that layer), and string metadata saying where the direction came from (model, adapter,
// method, judged file, preset, group definitions and counts). `em-lab direction compute` writes them; steering,
// ablation (--steer/--ablate, the chat sandbox) and `em-lab direction compare` read them. Any tool that writes
// this layout (e.g. a Python notebook with safetensors.torch.save_file) makes a file EM Lab can steer with.
import { existsSync, statSync } from 'node:fs';
import { UserError } from '../errors';
import { convertTensor } from '../model/hostTensor';
import { SafetensorsFile, writeSafetensors } from '../model/safetensors';

export const DIRECTION_FORMAT = 'em-lab-direction';
export const DIRECTION_SCHEMA_VERSION = 1;

/** What a direction file says about itself (all optional for files written by other tools). */
export interface DirectionMetadata {
  format?: string;
  schemaVersion?: string;
  /** The model the activations came from (as given: tiny-llama, a folder, a Hub id). */
  model?: string;
  adapter?: string;
  /** How it was computed, in words. */
  method?: string;
  judged?: string;
  preset?: string;
  /** The two groups' definitions, in words. */
  misalignedGroup?: string;
  alignedGroup?: string;
  /** JSON: {misaligned, aligned, excluded, ...}. */
  counts?: string;
  hiddenSize?: string;
  createdAt?: string;
  [key: string]: string | undefined;
}

export interface Direction {
  path: string;
  /** Decoder layer -> vector [hidden] (float32 as stored). */
  layers: Map<number, Float32Array>;
  hiddenSize: number;
  metadata: DirectionMetadata;
}

const LAYER_KEY = /^layers\.(\d+)$/;

export function writeDirectionFile(path: string, layers: ReadonlyMap<number, Float32Array | Float64Array>, metadata: DirectionMetadata): void {
  const sorted = [...layers.keys()].sort((a, b) => a - b);
  if (!sorted.length) throw new Error('writeDirectionFile: no layers');
  const hidden = layers.get(sorted[0]!)!.length;
  const meta: Record<string, string> = { format: DIRECTION_FORMAT, schemaVersion: String(DIRECTION_SCHEMA_VERSION), hiddenSize: String(hidden) };
  for (const [k, v] of Object.entries(metadata)) if (v !== undefined) meta[k] = v;
  writeSafetensors(path, sorted.map((l) => ({ name: `layers.${l}`, dtype: 'F32' as const, shape: [hidden], data: Float32Array.from(layers.get(l)!) })), meta);
}

/** Reads a direction file; refuses anything that is not one (naming the file and what is wrong). */
export function readDirectionFile(path: string): Direction {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError('direction-not-found', `${path}: no such direction file. Make one with \`em-lab direction compute --judged judged.csv --model M\`.`);
  const f = SafetensorsFile.open(path);
  try {
    const layers = new Map<number, Float32Array>();
    let hidden: number | undefined;
    for (const [name, info] of f.tensors) {
      const m = LAYER_KEY.exec(name);
      if (!m) continue;
      if (info.shape.length !== 1) throw new UserError('direction-invalid', `${path}: tensor ${name} has shape [${info.shape}]; a direction file holds one vector [hidden_size] per layer.`);
      if (hidden !== undefined && info.shape[0] !== hidden) throw new UserError('direction-invalid', `${path}: tensor ${name} has ${info.shape[0]} values, other layers have ${hidden}.`);
      hidden = info.shape[0]!;
      const data = convertTensor(f.read(name), 'float32').data as Float32Array;
      if (!data.every(Number.isFinite)) throw new UserError('direction-invalid', `${path}: tensor ${name} has non-finite values.`);
      layers.set(Number(m[1]), data);
    }
    if (!layers.size || hidden === undefined) {
      throw new UserError('direction-invalid', `${path}: no tensors named layers.{L} (found: ${[...f.tensors.keys()].slice(0, 5).join(', ') || 'none'}). A direction file holds one float vector per decoder layer, named layers.0, layers.1, ...`);
    }
    return { path, layers, hiddenSize: hidden, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  const n = norm(a) * norm(b);
  return n > 0 ? dot / n : null;
}

/** The layer's vector, refusing a layer the file does not have (listing the ones it has). */
export function directionLayer(d: Direction, layer: number, flag: string): Float32Array {
  const v = d.layers.get(layer);
  if (!v) throw new UserError('direction-layer-missing', `${flag} ${layer}: ${d.path} has no direction for decoder layer ${layer} (it has ${[...d.layers.keys()].join(', ')}).`);
  return v;
}

/** d / |d| in float32 (the norm computed in float64); refuses a zero vector. */
export function unitVector(v: Float32Array, what: string): Float32Array {
  const n = norm(v);
  if (!(n > 0)) throw new UserError('direction-zero', `${what} is the zero vector: it has no direction to steer along or remove.`);
  return Float32Array.from(v, (x) => x / n);
}

export interface LayerComparison {
  layer: number;
  cosine: number | null;
  normA: number;
  normB: number;
}

/** Cosine similarity per layer both files have (e.g. two fine-tunes of one base, or two checkpoints). */
export function compareDirections(a: Direction, b: Direction): LayerComparison[] {
  if (a.hiddenSize !== b.hiddenSize) {
    throw new UserError('direction-size', `${a.path} has vectors of ${a.hiddenSize} values and ${b.path} of ${b.hiddenSize}: directions of different models cannot be compared.`);
  }
  const layers = [...a.layers.keys()].filter((l) => b.layers.has(l)).sort((x, y) => x - y);
  if (!layers.length) throw new UserError('direction-no-common-layers', `${a.path} (layers ${[...a.layers.keys()].join(', ')}) and ${b.path} (layers ${[...b.layers.keys()].join(', ')}) share no layer.`);
  return layers.map((layer) => {
    const x = a.layers.get(layer)!, y = b.layers.get(layer)!;
    return { layer, cosine: cosine(x, y), normA: norm(x), normB: norm(y) };
  });
}
