// Loaded models for generation, kept per runtime process: a model reference ('tiny-llama', a local folder, a Hub
// id) resolves to an HF folder with an ONNX export, opened once per weight format (ModelRef.weights: fp32, or q4 for
// faster chat) as a Decoder + tokenizer; adapters are registered
// in that decoder's slots by folder, so base and any number of adapters share one copy of the weights and
// switching between them costs nothing. Concurrent loads of the same model share one promise.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { MODEL_WEIGHTS, MODEL_WEIGHTS_EXPLAINED, MODEL_WEIGHT_NAMES, isModelWeights, type ModelLabel, type ModelRef, type ModelWeights } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { Decoder, type ResidualIntervention } from './decoder';
import { ensureDecoderExport } from './decoderExport';
import { decoderStepModel } from './generateModel';
import { loadTokenizer, type ModelTokenizer } from './tokenizer';
import { ensureTinyLlama, TINY_LLAMA_ID } from './tinyLlama';
import { readAdapterForDecoder, resolveHubModel } from './generateSources';
import { describeSteering, isSteering, resolveSteering } from '../direction/steering';

export type Progress = (message: string, fraction?: number) => void;

/** Adapters kept registered per base model (two panes need two; the rest saves reloading when switching back). */
const MAX_ADAPTERS = 6;

export interface LoadedBase {
  /** What the user asked for ('tiny-llama', a folder, a Hub id). */
  model: string;
  /** Its key among the open bases (the model and, unless float32, the weight format): adapter slots hang off it. */
  key: string;
  /** Generations running on this base now (a busy base is never closed to make room). */
  busy: number;
  dir: string;
  name: string;
  warning?: string;
  decoder: Decoder;
  tokenizer: ModelTokenizer;
  loadMs: number;
}

export interface LoadedChatModel {
  base: LoadedBase;
  /** Decoder adapter slot id (the adapter folder), undefined = base. */
  adapterId?: string;
  /** The ref's steering/ablation, resolved (a per-call feed: no reload, the same session). */
  intervention?: ResidualIntervention;
  label: ModelLabel;
  cached: boolean;
  loadMs: number;
}

export interface SessionOptions {
  storageDir: string;
  env?: NodeJS.ProcessEnv;
  /** How many base models stay open at once (each holds its weights in memory). Default 2 (two panes). */
  maxModels?: number;
}

/**
 * A model reference's HF folder: 'tiny-llama' (built on first use), an absolute folder (must hold config.json), or
 * a Hub id (downloaded with progress). The name and warning are what labels show.
 */
export async function resolveModelFolder(model: string, o: SessionOptions, progress: Progress): Promise<{ dir: string; name: string; warning?: string }> {
  if (model === TINY_LLAMA_ID) {
    progress('Preparing tiny-llama (built on first use, a few seconds)…');
    return { dir: ensureTinyLlama(o.storageDir), name: TINY_LLAMA_ID, warning: 'random weights — writes gibberish' };
  }
  if (isAbsolute(model)) {
    const dir = resolve(model);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new UserError('model-not-found', `${dir} is not a model folder (no config.json). Pick a Hugging Face model folder, 'tiny-llama', or a Hub id such as meta-llama/Llama-3.2-1B-Instruct.`);
    }
    return { dir, name: basename(dir) };
  }
  return { dir: await resolveHubModel(model, { storageDir: o.storageDir, env: o.env ?? process.env, progress }), name: model };
}

/** The weight format a reference asks for (float32 when absent); anything else is refused with the choices. */
export function modelWeights(ref: ModelRef): ModelWeights {
  const w = ref.weights ?? 'float32';
  if (!isModelWeights(w)) throw new UserError('bad-weights', `weights "${String(w)}" is not one of ${MODEL_WEIGHT_NAMES.join(', ')} (${MODEL_WEIGHTS_EXPLAINED}).`);
  return w;
}

/** Where a checkpoint adapter sits in a run directory: <runsDir>/<run>/checkpoints/<step>/. */
export function checkpointOf(adapterDir: string): { run: string; step: number } | undefined {
  const parts = resolve(adapterDir).split(sep);
  const i = parts.lastIndexOf('checkpoints');
  if (i < 1 || i !== parts.length - 2) return undefined;
  const step = Number(parts[i + 1]!.replace(/^(checkpoint|step)-?/, ''));
  // An experiment's training run is its train/ folder: named by the experiment (e2e-quick/train), not "train".
  const run = parts[i - 1] === 'train' && i >= 2 && existsSync(join(parts.slice(0, i - 1).join(sep) || sep, 'experiment.json')) ? `${parts[i - 2]}/train` : parts[i - 1]!;
  return Number.isInteger(step) ? { run, step } : undefined;
}

export class ModelSessions {
  private readonly bases = new Map<string, Promise<LoadedBase>>();
  /** Adapter folder -> the stamp (size + mtime of its weights) it was registered with, per base. */
  private readonly adapterStamps = new Map<string, string>();
  /** Adapter slots per base in least-recently-used order. */
  private readonly adapterUse = new Map<string, true>();

  constructor(private readonly o: SessionOptions) {}

  /** Loads (or finds) the model and adapter; progress reports the slow steps (build, export, session). */
  async load(ref: ModelRef, progress: Progress = () => undefined): Promise<LoadedChatModel> {
    const t0 = performance.now();
    const weights = modelWeights(ref);
    // one open base per model and weight format: a 4-bit and a full-precision pane of one model are two bases
    // (\u0001 before the format: adapter slots are `${key}\u0000${dir}`, and one base's key must never prefix another's slots)
    const key = `${ref.model === TINY_LLAMA_ID ? TINY_LLAMA_ID : isAbsolute(ref.model) ? resolve(ref.model) : ref.model}${weights === 'float32' ? '' : `\u0001${weights}`}`;
    let cached = this.bases.has(key);
    let pending = this.bases.get(key);
    if (!pending) {
      pending = this.openBase(ref.model, weights, key, progress);
      this.bases.set(key, pending);
      pending.catch(() => this.bases.delete(key));
      await this.evictBeyondLimit(key);
    }
    const base = await pending;
    let adapterId: string | undefined;
    const label: ModelLabel = { modelName: base.name, modelDir: base.dir, ...(base.warning ? { warning: base.warning } : {}), ...(weights !== 'float32' ? { weights: MODEL_WEIGHTS[weights].label } : {}) };
    if (ref.adapter) {
      const dir = resolve(ref.adapter);
      const stamp = adapterStamp(dir);
      const slot = `${base.key}\u0000${dir}`;
      if (this.adapterStamps.get(slot) !== stamp || !base.decoder.adapterIds().includes(dir)) {
        cached = false;
        progress(`Loading adapter ${basename(dir)}…`);
        base.decoder.setAdapter(dir, readAdapterForDecoder(dir, base.decoder.config));
        this.adapterStamps.set(slot, stamp);
        this.forgetOldAdapters(base, slot);
      }
      this.touchAdapter(slot);
      adapterId = dir;
      const cp = checkpointOf(dir);
      Object.assign(label, { adapterName: cp ? `${cp.run}/checkpoints/${basename(dir)}` : basename(dir), adapterDir: dir, ...(cp ? { run: cp.run, step: cp.step } : {}) });
    }
    let intervention: ResidualIntervention | undefined;
    if (isSteering(ref.steering)) {
      if (!base.decoder.supportsSteering) throw new UserError('model-no-steering', `${base.dir}: this export has no steering inputs. Load the model folder it was merged from to steer or ablate.`);
      intervention = resolveSteering(ref.steering, base.decoder.config);
      label.steering = describeSteering(ref.steering);
    }
    return { base, ...(adapterId ? { adapterId } : {}), ...(intervention ? { intervention } : {}), label, cached, loadMs: performance.now() - t0 };
  }

  /**
   * Keeps at most MAX_ADAPTERS adapters per base (least recently used go): each holds its A/B feeds in memory
   * (Llama-3.2-1B, r=16 on all modules: 45 MB), and browsing a run's checkpoints would otherwise add one per step.
   */
  private forgetOldAdapters(base: LoadedBase, keep: string): void {
    const mine = [...this.adapterUse.keys()].filter((slot) => slot !== keep && slot.startsWith(`${base.key}\u0000`));
    for (const slot of mine.slice(0, Math.max(0, mine.length - MAX_ADAPTERS + 1))) {
      base.decoder.deleteAdapter(slot.slice(base.key.length + 1));
      this.adapterUse.delete(slot);
      this.adapterStamps.delete(slot);
    }
  }

  private touchAdapter(slot: string): void {
    this.adapterUse.delete(slot);
    this.adapterUse.set(slot, true); // Map order = least recently used first
  }

  /** Runs `fn` with the base marked busy, so loading another model meanwhile cannot close it. */
  static async using<T>(m: LoadedChatModel, fn: () => Promise<T>): Promise<T> {
    m.base.busy++;
    try {
      return await fn();
    } finally {
      m.base.busy--;
    }
  }

  /** The step/logits model for a loaded reference. */
  static stepModel(m: LoadedChatModel) {
    return decoderStepModel(m.base.decoder, m.adapterId, m.intervention);
  }

  private async openBase(model: string, weights: ModelWeights, key: string, progress: Progress): Promise<LoadedBase> {
    const t0 = performance.now();
    const { dir, name, warning } = await resolveModelFolder(model, this.o, progress);
    const converting = weights === 'q4' ? 'Converting weights to 4-bit ONNX (first load only)…' : 'Converting weights to ONNX (first load only)…';
    progress(converting);
    const { dir: exportDir } = ensureDecoderExport(dir, { dtype: weights, onProgress: (f) => progress(converting, f) });
    progress('Opening the model…');
    const decoder = await Decoder.open(exportDir, { dtype: weights });
    progress('Loading the tokenizer…');
    const tokenizer = await loadTokenizer(dir, this.o.storageDir);
    return { model, key, busy: 0, dir, name, ...(warning ? { warning } : {}), decoder, tokenizer, loadMs: performance.now() - t0 };
  }

  /** Keeps at most maxModels bases open (the oldest other than `keep` is closed). */
  private async evictBeyondLimit(keep: string): Promise<void> {
    const limit = this.o.maxModels ?? 2;
    for (const key of [...this.bases.keys()]) {
      if (this.bases.size <= limit) break;
      if (key === keep) continue;
      const old = this.bases.get(key)!;
      const settled = await old.then((b) => b, () => undefined);
      if (settled && settled.busy > 0) continue; // in use by a running generation: over the limit for a while
      this.bases.delete(key);
      await settled?.decoder.dispose();
    }
  }

  async dispose(): Promise<void> {
    const all = [...this.bases.values()];
    this.bases.clear();
    for (const p of all) await p.then((b) => b.decoder.dispose(), () => undefined);
  }
}

function adapterStamp(dir: string): string {
  const file = join(dir, 'adapter_model.safetensors');
  if (!existsSync(file)) {
    const pickle = existsSync(join(dir, 'adapter_model.bin')) ? '; its adapter_model.bin is a pickle EM Lab does not read: re-save the adapter with safe_serialization=True' : '';
    throw new UserError('adapter-not-found', `${dir} is not a PEFT adapter folder (no adapter_model.safetensors${pickle}). Pick a run checkpoint folder or an adapter saved by PEFT.`);
  }
  const s = statSync(file);
  return `${s.size}:${Math.floor(s.mtimeMs)}:${dirname(file)}`;
}

const sessions = new Map<string, ModelSessions>();

/** The process-wide sessions for a storage folder (the runtime worker and the CLI each have one). */
export function sessionsFor(storageDir: string, env?: NodeJS.ProcessEnv): ModelSessions {
  let s = sessions.get(storageDir);
  if (!s) {
    s = new ModelSessions({ storageDir, ...(env ? { env } : {}) });
    sessions.set(storageDir, s);
  }
  return s;
}
