// PEFT adapter folders (adapter_config.json + adapter_model.safetensors, as peft's save_pretrained writes them)
// and the trainer state beside them in a checkpoint (optimizer moments in optimizer.safetensors, step, data
// cursor). Every file is written to a temp name and renamed, and the checkpoint folder itself is renamed into
// place last, so a kill at any moment leaves either the previous checkpoint or the new one, never half of one.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tempPathFor, writeJsonAtomic } from '../atomicFiles';

// (kept importable from here: the experiment runner writes its JSON through it)
export { writeJsonAtomic };
import { readJsonFile } from '../jsonFile';
import { join } from 'node:path';
import { UserError } from '../errors';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { firstNonFinite, toFloat64 } from '../model/hostTensor';
import type { LoraParam, LoraSpec } from './loraSpec';
import type { FloatArray, LoraState } from './trainSession';

export const TRAINER_STATE_SCHEMA = 1;

export interface TrainerStateFile {
  schemaVersion: number;
  /** Optimizer steps completed. */
  step: number;
  epoch: number;
  /** Index of the next optimizer step in the deterministic step plan (= step). */
  dataCursor: number;
  /** Seed the plan and (future) dropout masks derive from; the plan is a pure function of it. */
  seed: number;
  dtype: 'float32' | 'float64';
  loss?: number;
}

function entries(params: LoraParam[], values: Map<string, FloatArray>, prefix = ''): TensorToWrite[] {
  return params.map((p) => {
    const v = values.get(p.key)!;
    return { name: prefix + p.key, dtype: v instanceof Float64Array ? 'F64' : 'F32', shape: [...p.shape], data: v } as TensorToWrite;
  });
}

export function adapterConfigJson(model: string, spec: LoraSpec, allLayers: boolean): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: model,
    r: spec.rank,
    lora_alpha: spec.alpha,
    lora_dropout: spec.dropout,
    use_rslora: spec.useRslora,
    target_modules: spec.targets,
    layers_to_transform: allLayers ? null : spec.layers,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_dora: false,
  };
}

/** Writes a PEFT adapter folder (atomically replaced when it exists). Adapter weights are stored as F32. */
export function writeAdapter(dir: string, model: string, spec: LoraSpec, allLayers: boolean, params: LoraParam[], values: Map<string, FloatArray>): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'adapter_config.json'), adapterConfigJson(model, spec, allLayers));
  const f32 = new Map([...values].map(([k, v]) => [k, v instanceof Float32Array ? v : Float32Array.from(v)]));
  writeSafetensors(join(dir, 'adapter_model.safetensors'), entries(params, f32), { format: 'pt' });
}

/** Reads A/B tensors of a PEFT adapter for --init_adapter, checking every key and shape against the run's LoRA. */
export function readAdapterValues(dir: string, params: LoraParam[]): Map<string, Float64Array> {
  const file = join(dir, 'adapter_model.safetensors');
  if (!existsSync(file)) throw new UserError('adapter-not-found', `--init_adapter ${dir}: no adapter_model.safetensors. Point it at a PEFT adapter folder, e.g. a run checkpoint.`);
  const st = SafetensorsFile.open(file);
  try {
    const names = new Map(st.names().map((n) => [n.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), n]));
    const out = new Map<string, Float64Array>();
    for (const p of params) {
      const name = names.get(p.key);
      if (!name) throw new UserError('adapter-mismatch', `--init_adapter ${dir}: missing ${p.key}. Its target modules / layers must match --target_modules and --layers_to_transform.`);
      const t = st.read(name);
      if (t.shape.length !== 2 || t.shape[0] !== p.shape[0] || t.shape[1] !== p.shape[1]) {
        throw new UserError('adapter-mismatch', `--init_adapter ${dir}: ${p.key} has shape [${t.shape}], this run needs [${p.shape}] (check --lora_rank).`);
      }
      if (firstNonFinite(t) >= 0) throw new UserError('adapter-invalid', `--init_adapter ${dir}: ${p.key} holds NaN/Inf values or values beyond float32. Use an earlier checkpoint.`);
      out.set(p.key, toFloat64(t));
    }
    return out;
  } finally {
    st.close();
  }
}

/** Writes checkpoints/<name>/ with the adapter, the optimizer moments and trainer_state.json, atomically. */
export function writeCheckpoint(dir: string, o: { model: string; spec: LoraSpec; allLayers: boolean; params: LoraParam[]; state: LoraState; trainer: TrainerStateFile }): void {
  const tmp = tempPathFor(dir);
  rmSync(tmp, { recursive: true, force: true });
  try {
    writeAdapter(tmp, o.model, o.spec, o.allLayers, o.params, o.state.params);
    // exact training state (float64 in numerics mode) for a bit-exact resume
    writeSafetensors(join(tmp, 'trainer_params.safetensors'), entries(o.params, o.state.params));
    writeSafetensors(join(tmp, 'optimizer.safetensors'), [...entries(o.params, o.state.m, 'm.'), ...entries(o.params, o.state.v, 'v.')]);
    writeJsonAtomic(join(tmp, 'trainer_state.json'), o.trainer);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true }); // a full disk gets its space back; the previous checkpoints stay
    throw err;
  }
}

export function readCheckpoint(dir: string, params: LoraParam[], dtype: 'float32' | 'float64'): { state: LoraState; trainer: TrainerStateFile } {
  const trainer = readJsonFile(join(dir, 'trainer_state.json'), 'checkpoint-invalid', 'The checkpoint is damaged; resume from an earlier one.') as unknown as TrainerStateFile;
  if (trainer.schemaVersion !== TRAINER_STATE_SCHEMA) throw new UserError('checkpoint-schema', `${dir}/trainer_state.json has schemaVersion ${trainer.schemaVersion}; this EM Lab reads ${TRAINER_STATE_SCHEMA}. Start over with --no_resume.`);
  const read = (file: string, prefix: string) => {
    const st = SafetensorsFile.open(join(dir, file));
    try {
      return new Map(params.map((p) => {
        const t = st.read(prefix + p.key);
        const data = t.data instanceof Float64Array && dtype === 'float64' ? t.data : dtype === 'float64' ? toFloat64(t) : t.data instanceof Float32Array ? t.data : Float32Array.from(toFloat64(t));
        return [p.key, data as FloatArray];
      }));
    } finally {
      st.close();
    }
  };
  const state: LoraState = { params: read('trainer_params.safetensors', ''), m: read('optimizer.safetensors', 'm.'), v: read('optimizer.safetensors', 'v.'), step: trainer.step };
  return { state, trainer };
}
