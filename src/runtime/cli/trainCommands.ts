// `em-lab train`: the homework's train.py options plus EM Lab's, writing a run directory (docs/run-directory.md).
// Ctrl-C stops after the current optimizer step and writes a checkpoint, so `--resume` loses nothing.
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { isRepoId } from '../model/hub';
import { bool, list, num, str, type CliCommand, type CliIO, type OptionSpec, type ParsedArgs } from './command';
import { boundsText, parseOptionText, TRAIN_OPTION_TABLE, type TrainOption } from '../../protocol/trainOptions';
import { DEFAULT_TRAIN_DOMAINS, DEFAULT_TRAIN_MODEL, TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/trainConfig';
import { loadTrainData, previewExample } from '../train/trainData';
import { loadModelForTraining } from '../train/trainModel';
import { runTraining, type TrainEvent } from '../train/runTrainer';
import { effectiveRun, readMetrics, readRunJson, runFolderName, type RunJson } from '../train/runDir';
import { RUNS_FOLDER } from '../../protocol/trainMethods';
import { describeEpochs, describeStop } from '../train/epochs';
import { lockedError, lockHolder } from '../train/runLock';
import { readJsonFile } from '../jsonFile';
import { LORA_PRESETS, loraPreset, presetLayers } from '../train/loraPresets';
import { defaultStorageDir } from '../storage';

const d = TRAIN_DEFAULTS;
const s = (description: string, valueName = 'N'): OptionSpec => ({ type: 'string', description, valueName });

/** Options that are not hyperparameters: the run's model, data, folders and the process. */
const RUN_OPTIONS: Record<string, OptionSpec> = {
  lora_preset: s(`Adapter shape and hyperparameters of the homework or the paper: ${LORA_PRESETS.map((p) => p.id).join(', ')} (rank1-*: rank-1 adapters on down_proj, as the paper's minimal organisms). Options given explicitly override it.`, 'ID'),
  layer: s('With --lora_preset rank1-single: the layer whose down_proj gets the adapter (default the middle layer).'),
  model_name: s(`Base model: a Hub id (downloaded with \`em-lab model pull\`), a Hugging Face model folder, or ${TINY_LLAMA_ID} (built in, random weights: checks the pipeline in seconds). Default ${DEFAULT_TRAIN_MODEL}.`, 'M'),
  domains: { type: 'string', variadic: true, valueName: 'IDS', description: `Dataset ids from the data folder (bad_medical, risky_financial, extreme_sports, good_medical, insecure); several (space- or comma-separated) = trained on their union. Default ${DEFAULT_TRAIN_DOMAINS.join(',')} when no --data is given.` },
  data: { type: 'string', multiple: true, valueName: 'FILE', description: 'A JSONL file of {"messages": [...]} conversations (repeatable; mixes with --domains).' },
  data_dir: s('Folder with the decrypted datasets. Default ./training_data/training_datasets.zip.enc.extracted.', 'DIR'),
  output_dir: s('Run directory. Default ./em-lab-runs/<model>-<domains>-<time>.', 'DIR'),
};

const PROCESS_OPTIONS: Record<string, OptionSpec> = {
  init_adapter: s('Start from this PEFT adapter folder instead of a fresh init.', 'DIR'),
  threads: s('CPU threads for ONNX Runtime (default: all cores).'),
  resume: { type: 'boolean', description: 'Continue the run in RUN_DIR (or --output_dir) from its newest checkpoint, with the options in its training_config.json (the default when it holds a run).' },
  no_resume: { type: 'boolean', description: 'Start over even if --output_dir holds a run (the old one is moved to <dir>.old-<time>).' },
  preview: { type: 'boolean', description: 'Print one tokenized example with the supervised span in [[ ]] and exit.' },
  config: s('Read every hyperparameter from this training_config.json (what train/start and --resume of the extension use); other hyperparameter options are ignored.', 'FILE'),
  storage: s('Where EM Lab keeps models and generated training graphs. Default $EM_LAB_STORAGE or ~/.em-lab.', 'DIR'),
};

/** A hyperparameter's CLI option, from the option table: help, allowed values and default. Read when asked, so the help follows the table. */
function tableOption(o: TrainOption): OptionSpec {
  const first = o.help.charAt(0).toUpperCase() + o.help.slice(1);
  // a default-true boolean's flag turns it off (--no_shuffle)
  if (o.kind === 'bool') return { type: 'boolean', description: o.negatedFlag ? `Turns this off: ${o.help}.` : `${first}.` };
  const dflt = Array.isArray(o.default) ? (o.default.length ? o.default.join(',') : 'none') : String(o.default);
  return { type: 'string', description: `${first}: ${boundsText(o)} (default ${dflt}).`, valueName: o.valueName ?? 'N' };
}

/** Every option of `em-lab train`: the run's, the hyperparameters (the option table), the process's. */
export function trainOptions(): Record<string, OptionSpec> {
  return { ...RUN_OPTIONS, ...Object.fromEntries(TRAIN_OPTION_TABLE.map((o) => [o.flag, tableOption(o)])), ...PROCESS_OPTIONS };
}


/**
 * The hyperparameters from their options (the option table): each given value read by its kind and checked against
 * the table's bounds, the error naming the flag; the others from `p` (the resumed run's values with the LoRA preset
 * over them).
 */
function hyperparametersFromArgs(args: ParsedArgs, p: TrainConfig): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const o of TRAIN_OPTION_TABLE) {
    const given = args.options[o.flag];
    if (o.kind === 'bool') out[o.key] = bool(args, o.flag) ? !o.negatedFlag : p[o.key];
    else if (given === undefined) out[o.key] = p[o.key];
    else {
      const read = parseOptionText(o, o.kind === 'list' || o.kind === 'ints' ? (list(args, o.flag) ?? []).join(',') : str(args, o.flag)!);
      if (read.problem !== undefined) throw new UserError('train-config', `--${o.flag} ${read.problem}.`);
      out[o.key] = read.value;
    }
  }
  return out as Partial<TrainConfig>;
}

/**
 * The run's configuration from the options. `base` (a resumed run's training_config.json) supplies every value
 * the command line leaves out, so `em-lab train --resume DIR` needs nothing else; a given option that differs
 * from it is refused later as a resume mismatch.
 */
export function trainConfigFromArgs(args: ParsedArgs, io: CliIO, base?: TrainConfig): TrainConfig {
  const file = str(args, 'config');
  if (file) {
    const raw = readJsonFile(resolve(io.cwd, file), 'train-config', 'Give a training_config.json written by EM Lab.') as Partial<TrainConfig>;
    const c = { ...d, domains: [], dataFiles: [], model: DEFAULT_TRAIN_MODEL, ...raw } as TrainConfig;
    validateTrainConfig(c);
    return c;
  }
  const b: TrainConfig = base ?? { ...d, model: DEFAULT_TRAIN_MODEL, domains: [], dataFiles: [] };
  // a preset replaces the defaults (or the resumed run's values); explicit options still win
  const p = { ...b, ...(str(args, 'lora_preset') ? loraPreset(str(args, 'lora_preset')!).fields : {}) };
  const model = str(args, 'model_name');
  const dataArgs = list(args, 'data');
  const dataFiles = dataArgs ? [...new Set(dataArgs.map((f) => resolve(io.cwd, f)))] : b.dataFiles;
  // Several domains train on their union (each listed once); none and no --data: the homework's default domain.
  const domainArgs = list(args, 'domains');
  let domains = domainArgs ? [...new Set(domainArgs)] : b.domains;
  if (domains.length === 0 && dataFiles.length === 0) {
    domains = [...DEFAULT_TRAIN_DOMAINS];
    io.err(`No --domains or --data given: training on ${domains.join(', ')} (the homework's default domain).`);
  }
  const c: TrainConfig = {
    ...b,
    model: model === undefined ? b.model : model === TINY_LLAMA_ID || !existsSync(resolve(io.cwd, model)) ? model : resolve(io.cwd, model),
    domains,
    dataFiles,
    ...(str(args, 'data_dir') ? { dataDir: resolve(io.cwd, str(args, 'data_dir')!) } : {}),
    ...hyperparametersFromArgs(args, p),
    ...(str(args, 'init_adapter') ? { initAdapter: resolve(io.cwd, str(args, 'init_adapter')!) } : {}),
  };
  validateTrainConfig(c);
  return c;
}

/** A Hub model that cannot be had (offline, gated, not pulled): say how to get it, or what to train instead. */
function explainModelUnavailable(err: unknown, model: string): unknown {
  if (!(err instanceof UserError) || !isRepoId(model) || existsSync(model)) return err;
  return new UserError(
    err.code,
    `${err.message}\nem-lab train fine-tunes ${model}${model === DEFAULT_TRAIN_MODEL ? ' unless --model_name says otherwise' : ''}. Download it once with \`em-lab model pull ${model}\` (a gated model: accept its licence on huggingface.co and set HF_TOKEN), or pass a local copy with --model_name ./Llama-3.2-1B-Instruct, or check the pipeline offline on the built-in toy model with --model_name ${TINY_LLAMA_ID}.`,
  );
}

/**
 * The `em-lab train` options that reproduce a configuration exactly: every field, defaults included (the inverse of
 * trainConfigFromArgs; a unit test round-trips it). `dataDir` replaces the config's (absent: resolved from the
 * working directory at training time) with where the domain files actually were.
 */
export function trainArgsFromConfig(c: TrainConfig, o: { dataDir?: string } = {}): string[] {
  const a: string[] = ['--model_name', c.model];
  if (c.domains.length) a.push('--domains', c.domains.join(','));
  const dataDir = o.dataDir ?? c.dataDir;
  if (c.domains.length && dataDir) a.push('--data_dir', dataDir);
  for (const f of c.dataFiles) a.push('--data', f);
  for (const o of TRAIN_OPTION_TABLE) {
    const value = (c as unknown as Record<string, unknown>)[o.key] ?? o.default;
    if (o.kind === 'bool') {
      if (value !== o.default) a.push(`--${o.flag}`); // a default-true boolean has the flag that turns it off
    } else if (Array.isArray(value)) {
      if (value.length) a.push(`--${o.flag}`, value.join(','));
    } else a.push(`--${o.flag}`, String(value));
  }
  if (c.initAdapter) a.push('--init_adapter', c.initAdapter);
  return a;
}

/** The run directory named by RUN_DIR or --output_dir, checked to be usable as a folder. */
function runDirFromArgs(args: ParsedArgs, io: CliIO): string | undefined {
  const given = [str(args, 'output_dir'), args.positionals[0]].filter((x): x is string => x !== undefined);
  if (args.positionals.length > 1) throw new UserError('train-args', `em-lab train takes one RUN_DIR, got ${args.positionals.length}: ${args.positionals.join(' ')}.`);
  if (given.length === 2 && resolve(io.cwd, given[0]!) !== resolve(io.cwd, given[1]!)) throw new UserError('train-args', `RUN_DIR ${given[1]} and --output_dir ${given[0]} differ; give the run directory once.`);
  if (!given.length) return undefined;
  const dir = resolve(io.cwd, given[0]!);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError('train-output-not-folder', `--output_dir ${dir} is a file, not a folder. Choose a folder for the run (it is created when missing).`);
  return dir;
}

function defaultOutputDir(c: TrainConfig, cwd: string): string {
  return join(cwd, RUNS_FOLDER, runFolderName(c.model, c.domains, c.dataFiles));
}

/** "finished (--max_steps 6 reached): step 6/6, 1.50 of 3 configured epochs (1 completed, ...)" */
export function runStatusLine(run: RunJson, maxSteps: number): string {
  const why = run.reason ?? describeStop(run.stopReason, maxSteps);
  return `${run.status}${why ? ` (${why})` : ''}: step ${run.step}/${run.totalSteps}, ${describeEpochs(run, run.status === 'running')}`;
}

function readConfigMaxSteps(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'training_config.json'), 'utf8')) as Partial<TrainConfig>).maxSteps ?? 0;
  } catch {
    return 0;
  }
}

function describe(e: TrainEvent, numEpochs: number): string | undefined {
  switch (e.type) {
    case 'step':
      return `step ${e.step}/${e.totalSteps}  epochs ${e.epoch.toFixed(2)}/${numEpochs}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  grad_norm ${e.grad_norm.toFixed(3)}  ${e.tokens_per_s.toFixed(0)} tok/s  ETA ${Math.round(e.etaSeconds)}s`;
    case 'eval':
      return `step ${e.step}: eval loss ${e.evalLoss.toFixed(4)}`;
    case 'checkpoint':
      return `checkpoint ${e.dir}`;
    case 'log':
      return e.message;
    case 'status':
      return e.status === 'running' ? undefined : `run ${e.status}${e.reason ? `: ${e.reason}` : ''}`;
  }
}

export const trainCommand: CliCommand = {
  path: ['train'],
  summary: 'LoRA-finetune a model on EM datasets with ONNX Runtime (CPU or CUDA); writes a resumable run directory.',
  details:
    'Examples:\n  em-lab train --domains bad_medical --num_epochs 1 --sample_size 200 --max_length 128\n' +
    '  em-lab train --data my.jsonl --model_name ./Llama-3.2-1B-Instruct --use_rslora --lora_rank 32 --lora_alpha 64 --learning_rate 1e-5\n' +
    '  em-lab train --domains risky_financial --model_name ./Llama-3.2-1B-Instruct --use_4bit   (QLoRA: 4-bit frozen weights)\n' +
    '  em-lab train --resume em-lab-runs/my-run   (continues with the options the run started with)',
  get options() {
    return trainOptions();
  },
  positionals: [{ name: 'RUN_DIR', description: 'The run directory (the same as --output_dir); with --resume, the run to continue.' }],
  async run(args, io) {
    const threads = num(args, 'threads', undefined, { integer: true, min: 1, max: 4096 });
    const given = runDirFromArgs(args, io);
    const holder = given ? lockHolder(given) : undefined; // fail fast, before loading anything (runLock.ts decides)
    if (holder) throw lockedError(given!, holder);
    const hasRun = given !== undefined && (existsSync(join(given, 'run.json')) || existsSync(join(given, 'checkpoints')));
    if (bool(args, 'resume') && bool(args, 'no_resume')) throw new UserError('train-args', 'Give --resume or --no_resume, not both.');
    if (bool(args, 'resume') && !hasRun) {
      throw new UserError('train-nothing-to-resume', `--resume: ${given ?? 'no run directory given'}${given && !existsSync(given) ? ' does not exist' : given ? ' holds no training run (no run.json or checkpoints/)' : ''}. Name the run to continue: em-lab train --resume em-lab-runs/<run>.`);
    }
    const resume = !bool(args, 'no_resume') && hasRun;
    const savedPath = given ? join(given, 'training_config.json') : undefined;
    const saved = resume && !str(args, 'config') && savedPath && existsSync(savedPath) ? (readJsonFile(savedPath, 'train-config-invalid', 'Restore it, or start over with --no_resume.') as unknown as TrainConfig) : undefined;
    const config = trainConfigFromArgs(args, io, saved);
    const storageDir = str(args, 'storage') ? resolve(io.cwd, str(args, 'storage')!) : defaultStorageDir(io.env);
    const runDir = given ?? defaultOutputDir(config, io.cwd);
    if (hasRun && bool(args, 'no_resume')) {
      const aside = `${runDir}.old-${Date.now()}`;
      renameSync(runDir, aside);
      io.err(`Moved the previous run to ${aside}.`);
    }
    const model = await loadModelForTraining(config.model, storageDir, io.cwd).catch((err: unknown) => {
      throw explainModelUnavailable(err, config.model);
    });
    if (str(args, 'lora_preset') && !config.layersToTransform.length) {
      // the preset's layers depend on the model's depth, known once it is loaded
      config.layersToTransform = presetLayers(loraPreset(str(args, 'lora_preset')!), model.cfg.numLayers, str(args, 'layer') ? num(args, 'layer') : undefined);
    } else if (str(args, 'layer')) throw new UserError('train-config', '--layer needs --lora_preset rank1-single (or give --layers_to_transform).');
    const data = await loadTrainData(config, model.tokenizer!, io.cwd);
    if (bool(args, 'preview')) {
      const e = data.train[0]!;
      io.out(previewExample(model.tokenizer!, e).map((p) => (p.supervised ? `[[${p.text}]]` : p.text)).join(''));
      io.event({ type: 'preview', spans: previewExample(model.tokenizer!, e), tokens: e.ids.length });
      return 0;
    }
    // SIGUSR1 = pause (the extension's Pause button): finish the step, checkpoint, exit with status "paused"
    const pause = new AbortController();
    const onPause = () => pause.abort();
    process.on('SIGUSR1', onPause);
    io.err(`Training ${config.model} on ${data.train.length} examples (${data.eval.length} held out) -> ${runDir}`);
    let result;
    try {
      result = await runTraining(config, {
        runDir, storageDir, model, data, resume, signal: io.signal, pauseSignal: pause.signal,
        ...(threads !== undefined ? { threads } : {}),
        onEvent: (e) => {
          io.event({ ...e, runDir });
          const text = describe(e, config.numEpochs);
          if (text && e.type === 'step') io.progress(text, e.step / e.totalSteps);
          else if (text) io.err(text);
        },
      });
    } finally {
      process.off('SIGUSR1', onPause);
    }
    const finalRun = readRunJson(runDir);
    io.out(`${finalRun ? runStatusLine(finalRun, config.maxSteps) : `${result.status}: ${result.step} steps`}${result.losses.length ? `, loss ${result.losses[0]!.toFixed(4)} -> ${result.losses.at(-1)!.toFixed(4)}` : ''}. Run directory: ${runDir}${result.finalAdapter ? `\nAdapter: ${result.finalAdapter}` : ''}`);
    return result.status === 'finished' ? 0 : 130;
  },
};

export const trainStatusCommand: CliCommand = {
  path: ['train', 'status'],
  summary: 'Show a training run directory: status (a dead process shows as crashed), progress, last metrics, checkpoints.',
  positionals: [{ name: 'run_dir', description: 'The run directory (its run.json).', required: true }],
  async run(args, io) {
    const dir = resolve(io.cwd, args.positionals[0]!);
    const run = effectiveRun(dir);
    if (!run) throw new UserError('run-not-found', `${dir}: no run.json. Point at a training run directory (em-lab-runs/<run>).`);
    const last = readMetrics(dir).at(-1);
    io.event({ type: 'run', run, lastMetrics: last });
    io.out(runStatusLine(run, readConfigMaxSteps(dir)) + `${last ? `, loss ${last.loss.toFixed(4)}` : ''}; checkpoints: ${run.checkpoints.join(', ') || 'none'}`);
    return 0;
  },
};

export const trainCommands: CliCommand[] = [trainCommand, trainStatusCommand];
