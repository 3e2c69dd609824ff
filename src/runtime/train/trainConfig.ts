// A training run's configuration: the hyperparameters (their defaults and bounds are the option table,
// src/protocol/trainOptions.ts: the CS 2881 homework's train.py unless noted), the model and data, and the checks
// that combine options. The same object is written to <run>/training_config.json, shown in the webview form and compared on
// --resume (a resumed run must use the configuration it started with).
import { UserError } from '../errors';
import type { LoraTarget } from '../model/llamaConfig';
import type { LrScheduler } from './schedule';
import type { TrainConfigView } from '../../protocol/trainMethods';
import { precisionProblem, type HalfDType } from '../onnx/precision';
import { DEFAULT_MODEL_ID } from '../model/hub';
import { nameProblem } from '../../protocol/pathRules';
import { optionProblem, trainOptionDefaults, TRAIN_OPTION_TABLE } from '../../protocol/trainOptions';

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

/** Every option's default, from the one option table (src/protocol/trainOptions.ts). */
export const TRAIN_DEFAULTS: Omit<TrainConfig, 'model' | 'domains' | 'dataFiles'> = {
  schemaVersion: TRAIN_CONFIG_SCHEMA,
  ...(trainOptionDefaults() as unknown as Omit<TrainConfig, 'model' | 'domains' | 'dataFiles' | 'schemaVersion'>),
};

function bad(field: string, msg: string): never {
  throw new UserError('train-config', `--${field} ${msg}`);
}

/** Validates ranges (the option table's bounds) and combinations; every message names the CLI option. */
export function validateTrainConfig(c: TrainConfig): void {
  for (const o of TRAIN_OPTION_TABLE) {
    // absent (a training_config.json written before the option existed) = its default
    const problem = optionProblem(o, c[o.key] ?? o.default);
    if (problem) bad(o.flag, `${problem}.`);
  }
  if (c.use4bit && c.dtype !== 'float32') bad('use_4bit', `needs --dtype float32 (4-bit weights have no ${c.dtype} kernel); drop --dtype ${c.dtype} or --use_4bit.`);
  const precision = c.precision ?? 'auto';
  if (precision === 'fp16' || precision === 'bf16') {
    if (c.dtype !== 'float32') bad('precision', `${precision} needs --dtype float32 (the numerics mode is float64 throughout); drop one of them.`);
    if (c.use4bit) bad('precision', `${precision} cannot be combined with --use_4bit (the projections are already 4-bit); drop --precision or --use_4bit.`);
    const problem = precisionProblem(c.device, precision === 'bf16' ? 'bfloat16' : 'float16');
    if (problem) bad('precision', problem);
  }
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
