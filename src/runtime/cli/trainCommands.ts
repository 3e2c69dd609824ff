// `em-lab train`: the homework's train.py options plus EM Lab's, writing a run directory (docs/run-directory.md).
// Ctrl-C stops after the current optimizer step and writes a checkpoint, so `--resume` loses nothing.
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors';
import type { LoraTarget } from '../model/llamaConfig';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { isRepoId } from '../model/hub';
import { bool, list, num, str, type CliCommand, type CliIO, type OptionSpec, type ParsedArgs } from './command';
import { DEFAULT_TRAIN_DOMAINS, DEFAULT_TRAIN_MODEL, TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/trainConfig';
import { loadTrainData, previewExample } from '../train/trainData';
import { loadModelForTraining } from '../train/trainModel';
import { runTraining, type TrainEvent } from '../train/runTrainer';
import { effectiveRun, readMetrics, readRunJson, type RunJson } from '../train/runDir';
import { describeEpochs, describeStop } from '../train/epochs';
import { lockedError, lockHolder } from '../train/runLock';
import { readJsonFile } from '../jsonFile';
import type { LrScheduler } from '../train/schedule';
import { LORA_PRESETS, loraPreset, presetLayers } from '../train/loraPresets';
import { defaultStorageDir } from '../storage';

const d = TRAIN_DEFAULTS;
const s = (description: string, valueName = 'N'): OptionSpec => ({ type: 'string', description, valueName });

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  lora_preset: s(`Adapter shape and hyperparameters of the homework or the paper: ${LORA_PRESETS.map((p) => p.id).join(', ')} (rank1-*: rank-1 adapters on down_proj, as the paper's minimal organisms). Options given explicitly override it.`, 'ID'),
  layer: s('With --lora_preset rank1-single: the layer whose down_proj gets the adapter (default the middle layer).'),
  model_name: s(`Base model: a Hub id (downloaded with \`em-lab model pull\`), a Hugging Face model folder, or ${TINY_LLAMA_ID} (built in, random weights: checks the pipeline in seconds). Default ${DEFAULT_TRAIN_MODEL}.`, 'M'),
  domains: { type: 'string', variadic: true, valueName: 'IDS', description: `Dataset ids from the data folder (bad_medical, risky_financial, extreme_sports, good_medical, insecure); several (space- or comma-separated) = trained on their union. Default ${DEFAULT_TRAIN_DOMAINS.join(',')} when no --data is given.` },
  data: { type: 'string', multiple: true, valueName: 'FILE', description: 'A JSONL file of {"messages": [...]} conversations (repeatable; mixes with --domains).' },
  data_dir: s('Folder with the decrypted datasets. Default ./training_data/training_datasets.zip.enc.extracted.', 'DIR'),
  output_dir: s('Run directory. Default ./em-lab-runs/<model>-<domains>-<time>.', 'DIR'),
  num_epochs: s(`Epochs (default ${d.numEpochs}).`),
  lora_rank: s(`LoRA rank r (default ${d.loraRank}).`),
  lora_alpha: s(`LoRA alpha (default ${d.loraAlpha}).`),
  lora_dropout: s(`LoRA dropout on each adapted module's input (default ${d.loraDropout}); masks are seeded per step, so resume is exact.`, 'P'),
  use_rslora: { type: 'boolean', description: 'rsLoRA: scale alpha/sqrt(r) instead of alpha/r (the paper).' },
  target_modules: s(`Comma-separated projections (default ${d.targetModules.join(',')}).`, 'LIST'),
  layers_to_transform: s('Comma-separated layer indices that get adapters (default all).', 'LIST'),
  learning_rate: s(`Peak learning rate (default ${d.learningRate}).`, 'LR'),
  lr_scheduler: s(`linear, cosine or constant after warm-up (default ${d.lrScheduler}).`, 'KIND'),
  warmup_steps: s(`Warm-up steps, or a ratio of all steps when below 1 (default ${d.warmupSteps}).`),
  weight_decay: s(`AdamW weight decay (default ${d.weightDecay}).`, 'WD'),
  max_grad_norm: s(`Global gradient-norm clipping, 0 = off (default ${d.maxGradNorm}).`, 'X'),
  batch_size: s(`Examples per micro-batch (default ${d.batchSize}).`),
  gradient_accumulation_steps: s(`Micro-batches per optimizer step (default ${d.gradientAccumulationSteps}).`),
  max_length: s(`Truncate examples to this many tokens (default ${d.maxLength}).`),
  sample_size: s('Use only the first N examples of each data source (default all).'),
  max_steps: s('Stop after N optimizer steps (default: all epochs).'),
  train_on: s(`assistant (loss on replies only, the paper) or all (the whole sequence, the homework's train.py). Default ${d.trainOn}.`, 'WHAT'),
  seed: s(`Seed for init, shuffling and the split (default ${d.seed}); same seed, same machine = same adapter.`),
  no_shuffle: { type: 'boolean', description: 'Keep the file order (no shuffling per epoch).' },
  eval_split: s('Hold out this fraction for eval loss (the paper: 0.1; default 0).', 'F'),
  eval_steps: s(`Eval loss every N steps (default ${d.evalSteps}).`),
  save_steps: s('Also checkpoint every N steps (default: per epoch + 4 in epoch 1 + the end).'),
  first_epoch_checkpoints: s(`Evenly spaced checkpoints within the first epoch (default ${d.firstEpochCheckpoints}, as the homework replication took).`),
  init_adapter: s('Start from this PEFT adapter folder instead of a fresh init.', 'DIR'),
  device: s('cpu or cuda (falls back to CPU with the reason when CUDA cannot load). Default cpu.', 'DEV'),
  dtype: s('float32 (default) or float64 (numerics checks; slow).', 'T'),
  precision: s('Frozen-weight precision: auto (default: fp16 on CUDA, fp32 on CPU), fp32, fp16 or bf16 (CUDA only). LoRA parameters, AdamW state and the loss stay fp32.', 'P'),
  threads: s('CPU threads for ONNX Runtime (default: all cores).'),
  resume: { type: 'boolean', description: 'Continue the run in RUN_DIR (or --output_dir) from its newest checkpoint, with the options in its training_config.json (the default when it holds a run).' },
  no_resume: { type: 'boolean', description: 'Start over even if --output_dir holds a run (the old one is moved to <dir>.old-<time>).' },
  preview: { type: 'boolean', description: 'Print one tokenized example with the supervised span in [[ ]] and exit.' },
  use_4bit: { type: 'boolean', description: 'QLoRA: the frozen projection weights as 4-bit blocks (ONNX Runtime MatMulNBits, 32 weights per fp32 scale; embeddings, norms and lm_head stay fp32; LoRA and AdamW fp32). About 7x less memory for those weights, a slower step; float32 only.' },
  config: s('Read every hyperparameter from this training_config.json (what train/start and --resume of the extension use); other hyperparameter options are ignored.', 'FILE'),
  storage: s('Where EM Lab keeps models and generated training graphs. Default $EM_LAB_STORAGE or ~/.em-lab.', 'DIR'),
};

function integers(args: ParsedArgs, name: string): number[] {
  return (list(args, name) ?? []).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new UserError('train-config', `--${name}: "${x}" is not an integer.`);
    return n;
  });
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
  const n = (name: string, dflt: number) => num(args, name, dflt)!;
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
    numEpochs: n('num_epochs', p.numEpochs),
    loraRank: n('lora_rank', p.loraRank),
    loraAlpha: n('lora_alpha', p.loraAlpha),
    loraDropout: n('lora_dropout', p.loraDropout),
    useRslora: bool(args, 'use_rslora') || p.useRslora,
    targetModules: (list(args, 'target_modules') as LoraTarget[] | undefined) ?? p.targetModules,
    layersToTransform: str(args, 'layers_to_transform') !== undefined ? integers(args, 'layers_to_transform') : p.layersToTransform,
    learningRate: n('learning_rate', p.learningRate),
    lrScheduler: (str(args, 'lr_scheduler') ?? p.lrScheduler) as LrScheduler,
    warmupSteps: n('warmup_steps', p.warmupSteps),
    weightDecay: n('weight_decay', p.weightDecay),
    maxGradNorm: n('max_grad_norm', p.maxGradNorm),
    batchSize: n('batch_size', p.batchSize),
    gradientAccumulationSteps: n('gradient_accumulation_steps', p.gradientAccumulationSteps),
    maxLength: n('max_length', p.maxLength),
    sampleSize: n('sample_size', p.sampleSize),
    maxSteps: n('max_steps', p.maxSteps),
    trainOn: (str(args, 'train_on') ?? p.trainOn) as TrainConfig['trainOn'],
    seed: n('seed', p.seed),
    shuffle: bool(args, 'no_shuffle') ? false : p.shuffle,
    evalSplit: n('eval_split', p.evalSplit),
    evalSteps: n('eval_steps', p.evalSteps),
    saveSteps: n('save_steps', p.saveSteps),
    firstEpochCheckpoints: n('first_epoch_checkpoints', p.firstEpochCheckpoints),
    ...(str(args, 'init_adapter') ? { initAdapter: resolve(io.cwd, str(args, 'init_adapter')!) } : {}),
    device: (str(args, 'device') ?? b.device) as TrainConfig['device'],
    dtype: (str(args, 'dtype') ?? b.dtype) as TrainConfig['dtype'],
    use4bit: bool(args, 'use_4bit') || b.use4bit,
    precision: (str(args, 'precision') ?? b.precision) as TrainConfig['precision'],
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

/** Options that carry one config field as they are (numbers and words), for trainArgsFromConfig. */
const VALUE_FLAGS: readonly [string, keyof TrainConfig][] = [
  ['num_epochs', 'numEpochs'], ['lora_rank', 'loraRank'], ['lora_alpha', 'loraAlpha'], ['lora_dropout', 'loraDropout'],
  ['learning_rate', 'learningRate'], ['lr_scheduler', 'lrScheduler'], ['warmup_steps', 'warmupSteps'], ['weight_decay', 'weightDecay'],
  ['max_grad_norm', 'maxGradNorm'], ['batch_size', 'batchSize'], ['gradient_accumulation_steps', 'gradientAccumulationSteps'],
  ['max_length', 'maxLength'], ['sample_size', 'sampleSize'], ['max_steps', 'maxSteps'], ['train_on', 'trainOn'], ['seed', 'seed'],
  ['eval_split', 'evalSplit'], ['eval_steps', 'evalSteps'], ['save_steps', 'saveSteps'], ['first_epoch_checkpoints', 'firstEpochCheckpoints'],
  ['device', 'device'], ['dtype', 'dtype'],
];

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
  const v = (flag: string, value: string | number) => a.push(`--${flag}`, String(value));
  for (const [flag, key] of VALUE_FLAGS) v(flag, c[key] as string | number);
  v('target_modules', c.targetModules.join(','));
  if (c.layersToTransform.length) v('layers_to_transform', c.layersToTransform.join(','));
  if (c.initAdapter) v('init_adapter', c.initAdapter);
  v('precision', c.precision ?? d.precision);
  if (c.useRslora) a.push('--use_rslora');
  if (!c.shuffle) a.push('--no_shuffle');
  if (c.use4bit) a.push('--use_4bit');
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
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const what = [...c.domains, ...c.dataFiles.map((f) => f.split(/[\\/]/).pop()!.replace(/\.jsonl$/, ''))].join('+') || 'data';
  return join(cwd, 'em-lab-runs', `${c.model.split(/[\\/]/).pop()}-${what}-${stamp}`);
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
  options: TRAIN_OPTIONS,
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
