// Every hyperparameter of a training run, its default (the CS 2881 homework's train.py unless noted) and its
// validation. The same object is written to <run>/training_config.json, shown in the webview form and compared on
// --resume (a resumed run must use the configuration it started with).
import { UserError } from '../errors';
import { LORA_TARGETS, type LoraTarget } from '../model/llamaConfig';
import type { LrScheduler } from './schedule';
import type { TrainConfigView } from '../../protocol/trainMethods';
import { precisionProblem, type HalfDType } from '../onnx/precision';
import { DEFAULT_MODEL_ID } from '../model/hub';
import { nameProblem } from '../../protocol/pathRules';

export const TRAIN_CONFIG_SCHEMA = 1;

/**
 * The protocol's TrainConfigView (where each field is documented), narrowed to validated target names and
 * scheduler, plus the schema version of training_config.json.
 */
export interface TrainConfig extends Omit<TrainConfigView, 'targetModules' | 'lrScheduler'> {
  schemaVersion: number;
  targetModules: LoraTarget[];
  lrScheduler: LrScheduler;
}

/** The half type the frozen weights use, or undefined for the compute dtype throughout (precision.ts). */
export function resolvePrecision(c: Pick<TrainConfig, 'precision' | 'device' | 'use4bit' | 'dtype'>): HalfDType | undefined {
  if (c.precision === 'fp16') return 'float16';
  if (c.precision === 'bf16') return 'bfloat16';
  if (c.precision === 'fp32') return undefined;
  return c.device === 'cuda' && !c.use4bit && c.dtype === 'float32' ? 'float16' : undefined;
}

/** `em-lab train` without --model_name: the homework's model (downloaded with `em-lab model pull`). */
export const DEFAULT_TRAIN_MODEL = DEFAULT_MODEL_ID;
/** `em-lab train` without --domains or --data: the homework's train.py default domain. */
export const DEFAULT_TRAIN_DOMAINS: readonly string[] = ['risky_financial'];

export const TRAIN_DEFAULTS: Omit<TrainConfig, 'model' | 'domains' | 'dataFiles'> = {
  schemaVersion: TRAIN_CONFIG_SCHEMA,
  numEpochs: 3,
  loraRank: 16,
  loraAlpha: 32,
  loraDropout: 0.05,
  useRslora: false,
  targetModules: [...LORA_TARGETS],
  layersToTransform: [],
  learningRate: 2e-4,
  lrScheduler: 'linear',
  warmupSteps: 100,
  weightDecay: 0,
  maxGradNorm: 1,
  batchSize: 2,
  gradientAccumulationSteps: 8,
  maxLength: 256,
  sampleSize: 0,
  trainOn: 'assistant',
  seed: 0,
  shuffle: true,
  evalSplit: 0,
  evalSteps: 50,
  saveSteps: 0,
  firstEpochCheckpoints: 4,
  device: 'cpu',
  dtype: 'float32',
  maxSteps: 0,
  use4bit: false,
  precision: 'auto',
};

function bad(field: string, msg: string): never {
  throw new UserError('train-config', `--${field} ${msg}`);
}

/** Validates ranges and combinations; every message names the option. */
export function validateTrainConfig(c: TrainConfig): void {
  const posInt = (v: number, f: string) => (Number.isInteger(v) && v >= 1) || bad(f, `must be a positive integer, got ${v}.`);
  const nonNegInt = (v: number, f: string) => (Number.isInteger(v) && v >= 0) || bad(f, `must be a whole number >= 0, got ${v}.`);
  posInt(c.numEpochs, 'num_epochs');
  posInt(c.loraRank, 'lora_rank');
  posInt(c.batchSize, 'batch_size');
  posInt(c.gradientAccumulationSteps, 'gradient_accumulation_steps');
  posInt(c.maxLength, 'max_length');
  posInt(c.evalSteps, 'eval_steps');
  nonNegInt(c.sampleSize, 'sample_size');
  nonNegInt(c.saveSteps, 'save_steps');
  nonNegInt(c.maxSteps, 'max_steps');
  nonNegInt(c.firstEpochCheckpoints, 'first_epoch_checkpoints');
  if (!(c.loraAlpha > 0)) bad('lora_alpha', `must be positive, got ${c.loraAlpha}.`);
  if (!(c.loraDropout >= 0 && c.loraDropout < 1)) bad('lora_dropout', `must be in [0, 1), got ${c.loraDropout}.`);
  if (!(c.learningRate > 0 && c.learningRate < 1)) bad('learning_rate', `must be in (0, 1), got ${c.learningRate} (the homework uses 2e-4).`);
  if (!(c.warmupSteps >= 0)) bad('warmup_steps', `must be >= 0 (steps, or a ratio below 1), got ${c.warmupSteps}.`);
  if (!(c.weightDecay >= 0 && c.weightDecay < 1)) bad('weight_decay', `must be in [0, 1), got ${c.weightDecay}.`);
  if (!(c.maxGradNorm >= 0)) bad('max_grad_norm', `must be >= 0 (0 = no clipping), got ${c.maxGradNorm}.`);
  if (!(c.evalSplit >= 0 && c.evalSplit < 1)) bad('eval_split', `must be in [0, 1), got ${c.evalSplit} (the paper holds out 0.1).`);
  if (!['linear', 'cosine', 'constant'].includes(c.lrScheduler)) bad('lr_scheduler', `must be linear, cosine or constant, got "${c.lrScheduler}".`);
  if (c.trainOn !== 'assistant' && c.trainOn !== 'all') bad('train_on', `must be assistant or all, got "${c.trainOn}".`);
  if (c.device !== 'cpu' && c.device !== 'cuda') bad('device', `must be cpu or cuda, got "${c.device}".`);
  if (c.dtype !== 'float32' && c.dtype !== 'float64') bad('dtype', `must be float32 or float64, got "${c.dtype}".`);
  if (c.use4bit && c.dtype !== 'float32') bad('use_4bit', `needs --dtype float32 (4-bit weights have no ${c.dtype} kernel); drop --dtype ${c.dtype} or --use_4bit.`);
  const precision = c.precision ?? 'auto';
  if (!['auto', 'fp32', 'fp16', 'bf16'].includes(precision)) bad('precision', `must be auto, fp32, fp16 or bf16, got "${precision}".`);
  if (precision === 'fp16' || precision === 'bf16') {
    if (c.dtype !== 'float32') bad('precision', `${precision} needs --dtype float32 (the numerics mode is float64 throughout); drop one of them.`);
    if (c.use4bit) bad('precision', `${precision} cannot be combined with --use_4bit (the projections are already 4-bit); drop --precision or --use_4bit.`);
    const problem = precisionProblem(c.device, precision === 'bf16' ? 'bfloat16' : 'float16');
    if (problem) bad('precision', problem);
  }
  if (c.targetModules.length === 0) bad('target_modules', `is empty; use some of ${LORA_TARGETS.join(',')}.`);
  for (const t of c.targetModules) if (!LORA_TARGETS.includes(t)) bad('target_modules', `: "${t}" is not one of ${LORA_TARGETS.join(', ')}.`);
  for (const d of c.domains) {
    // ids name files in the data folder and, joined, the default run folder: a path here could climb out of both
    const problem = nameProblem(d, 'the dataset id');
    if (problem) throw new UserError('train-config', `--domains: ${problem} (use ids such as bad_medical; give files with --data FILE).`);
  }
  if (c.domains.length === 0 && c.dataFiles.length === 0) throw new UserError('train-no-data', 'No training data: give --domains (e.g. bad_medical) and/or --data FILE.jsonl.');
}

/** Fields that may differ between the original run and a resume (everything else must match). */
export const RESUMABLE_DIFFERENCES: readonly (keyof TrainConfig)[] = ['device'];

/** Differences that forbid a resume. A field absent from one side (a config written before it existed) counts as its default. */
export function configDifferences(a: TrainConfig, b: TrainConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof TrainConfig)[]);
  const value = (c: TrainConfig, k: keyof TrainConfig) => JSON.stringify(c[k] ?? (TRAIN_DEFAULTS as Partial<TrainConfig>)[k]);
  return [...keys].filter((k) => !RESUMABLE_DIFFERENCES.includes(k) && value(a, k) !== value(b, k)).map((k) => `${k}: ${value(a, k)} -> ${value(b, k)}`);
}
