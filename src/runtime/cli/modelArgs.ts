// --model / --adapter as a ModelRef, for every command that runs a local model (generate, chat, logprobs,
// generate-eval, sweep). An adapter brings its base model: adapter_config.json's base_model_name_or_path, unless
// --model names another (then a warning says they differ). --model may itself be an adapter folder, a run
// checkpoint or a run folder (its final adapter), as the homework's LOCAL_MODEL_PATH was. Without this an
// adapter trained on Llama-3.2-1B silently ran on tiny-llama.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { ModelRef } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { downloadRecord, isRepoId } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';

export interface ModelArgs {
  /** --model as typed (undefined when not given). */
  model?: string;
  /** --adapter as typed. */
  adapter?: string;
  cwd: string;
  /** When neither --model nor an adapter names a base (generate, chat, logprobs: tiny-llama). */
  fallbackModel?: string;
}

export interface ResolvedModel {
  ref: ModelRef;
  /** What was inferred, and differences worth a warning: printed to stderr by the CLI. */
  notes: string[];
}

const hasFile = (dir: string, f: string) => existsSync(join(dir, f));

/**
 * The PEFT adapter a folder stands for: itself (adapter_config.json), or for a training run folder its final
 * adapter (adapter/) or else its newest complete checkpoint. Undefined for anything else (a model folder).
 */
export function adapterFolderOf(dir: string): { dir: string; via?: string } | undefined {
  if (hasFile(dir, 'adapter_config.json') && !hasFile(dir, 'config.json')) return { dir };
  if (!hasFile(dir, 'run.json') && !hasFile(dir, 'training_config.json')) return undefined;
  if (hasFile(join(dir, 'adapter'), 'adapter_config.json')) return { dir: join(dir, 'adapter'), via: 'the run\'s final adapter' };
  const cps = existsSync(join(dir, 'checkpoints'))
    ? readdirSync(join(dir, 'checkpoints'))
        .map((n) => ({ n, step: /^step-(\d+)$/.exec(n)?.[1] }))
        .filter((c) => c.step !== undefined && hasFile(join(dir, 'checkpoints', c.n), 'adapter_config.json'))
        .sort((a, b) => Number(a.step) - Number(b.step))
    : [];
  const last = cps.at(-1);
  if (!last) throw new UserError('run-no-adapter', `${dir} is a training run without an adapter yet (no adapter/ and no complete checkpoints/step-N/). Wait for its first checkpoint, or pass a model folder.`);
  return { dir: join(dir, 'checkpoints', last.n), via: `the run's newest checkpoint (${last.n}; it has not finished)` };
}

/** adapter_config.json's base_model_name_or_path, or undefined when absent. */
export function adapterBaseModel(adapterDir: string): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
  } catch (err) {
    throw new UserError('adapter-config-invalid', `${join(adapterDir, 'adapter_config.json')}: ${(err as Error).message}. An adapter folder needs a readable adapter_config.json (as PEFT writes it).`);
  }
  const base = (raw as { base_model_name_or_path?: unknown } | null)?.base_model_name_or_path;
  return typeof base === 'string' && base.trim() ? base.trim() : undefined;
}

/** A model as the sessions take it: tiny-llama, an absolute folder, or a Hub id. */
function modelSpec(model: string, cwd: string, flag: string): string {
  if (model === TINY_LLAMA_ID) return model;
  const asPath = resolve(cwd, model);
  if (isAbsolute(model) || existsSync(asPath)) return asPath;
  if (isRepoId(model)) return model;
  throw new UserError('model-not-found', `${flag} ${model}: no such folder, and not a Hub id (owner/name). Use tiny-llama, a model folder, or a Hub id.`);
}

/** Whether two model specs name the same weights: the same string or folder, or a folder downloaded from / named after the Hub id. */
export function sameModel(a: string, b: string): boolean {
  if (a === b || resolve(a) === resolve(b)) return true;
  const hubIdOf = (m: string) => (isRepoId(m) && !isAbsolute(m) ? m : isAbsolute(m) ? downloadRecord(m)?.repoId : undefined);
  const [ha, hb] = [hubIdOf(a), hubIdOf(b)];
  if (ha && hb) return ha.toLowerCase() === hb.toLowerCase();
  // A local copy named like the repo (./Llama-3.2-1B-Instruct for meta-llama/Llama-3.2-1B-Instruct).
  const hub = ha ?? hb;
  const folder = ha ? b : a;
  return !!hub && isAbsolute(folder) && basename(folder).toLowerCase() === hub.split('/')[1]!.toLowerCase();
}

export function resolveModelArgs(o: ModelArgs): ResolvedModel {
  const notes: string[] = [];
  let adapterDir: string | undefined;
  let model = o.model;
  if (o.adapter !== undefined) {
    const dir = resolve(o.cwd, o.adapter);
    if (!existsSync(dir)) throw new UserError('adapter-not-found', `--adapter ${o.adapter}: no such folder (${dir}).`);
    const found = adapterFolderOf(dir);
    if (!found) throw new UserError('adapter-not-found', `--adapter ${o.adapter}: ${dir} has no adapter_config.json (and is not a training run). Pass a PEFT adapter folder, e.g. em-lab-runs/<run>/checkpoints/step-<N>.`);
    adapterDir = found.dir;
    if (found.via) notes.push(`--adapter ${o.adapter} is a training run: using ${found.via}, ${adapterDir}.`);
  }
  // --model may be an adapter, a checkpoint or a run folder: it then stands for that adapter on its base model.
  if (model !== undefined && model !== TINY_LLAMA_ID && existsSync(resolve(o.cwd, model))) {
    const found = adapterFolderOf(resolve(o.cwd, model));
    if (found) {
      if (adapterDir) throw new UserError('two-adapters', `--model ${model} is a LoRA adapter${found.via ? ' (a training run)' : ''}, and --adapter ${o.adapter} is another. Give the base model as --model, or drop --adapter.`);
      adapterDir = found.dir;
      notes.push(`--model ${model} is a LoRA adapter${found.via ? ` (a training run: ${found.via})` : ''}: answering with its base model plus ${adapterDir}.`);
      model = undefined;
    }
  }
  if (!adapterDir) return { ref: { model: modelSpec(model ?? o.fallbackModel ?? TINY_LLAMA_ID, o.cwd, '--model') }, notes };

  const recorded = adapterBaseModel(adapterDir);
  // As recorded: tiny-llama, a Hub id, or a folder (EM Lab writes absolute paths; a relative one is taken from here).
  const recordedSpec = recorded && (recorded === TINY_LLAMA_ID || (isRepoId(recorded) && !existsSync(resolve(o.cwd, recorded))) ? recorded : recorded && resolve(o.cwd, recorded));
  if (model === undefined) {
    if (!recorded || !recordedSpec) throw new UserError('adapter-no-base', `${join(adapterDir, 'adapter_config.json')} does not name its base model (base_model_name_or_path). Pass the base model with --model.`);
    if (isAbsolute(recordedSpec) && !existsSync(recordedSpec)) throw new UserError('adapter-base-missing', `The adapter ${adapterDir} was trained on ${recorded} (adapter_config.json), which is not on this machine. Pass the same base model with --model (a folder or Hub id).`);
    notes.push(`Base model ${recorded}, from ${join(adapterDir, 'adapter_config.json')} (--model overrides it).`);
    return { ref: { model: recordedSpec, adapter: adapterDir }, notes };
  }
  const given = modelSpec(model, o.cwd, '--model');
  if (recordedSpec && !sameModel(given, recordedSpec)) {
    notes.push(`warning: the adapter ${adapterDir} was trained on ${recorded} (adapter_config.json), but --model is ${model}. Its answers come from a base model it was not trained on; drop --model to use ${recorded}.`);
  }
  return { ref: { model: given, adapter: adapterDir }, notes };
}
