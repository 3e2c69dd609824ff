// Every training hyperparameter, once: name, kind, bounds, default, help, CLI flag, form label and section. The
// CLI options of `em-lab train` (src/runtime/cli/trainCommands.ts), the runtime's defaults and range checks
// (src/runtime/train/trainConfig.ts), the training view's sanitiser (src/views/training/trainViewMessages.ts), its
// form (media/training/form.ts) and the options table in docs/training.md are all read from here, so a bound changed
// here changes all of them (test/unit/trainOptions.test.ts). Pure data and string functions: host, runtime and
// webviews import it. Paths (data, init_adapter) and the run's identity (model, domains) are not options here.
import type { TrainConfigView } from './trainMethods';

export type TrainOptionKind = 'int' | 'float' | 'bool' | 'enum' | 'list' | 'ints';

/** Where a message about an option is read: it names the option as the reader knows it there. */
export type OptionSurface = 'cli' | 'form' | 'file';

export type TrainOptionKey = Exclude<keyof TrainConfigView, 'model' | 'domains' | 'dataFiles' | 'dataDir' | 'initAdapter'>;

export interface TrainOption {
  key: TrainOptionKey;
  /** `em-lab train --<flag>`. For a default-true boolean, the flag that turns it off (`no_shuffle`). */
  flag: string;
  kind: TrainOptionKind;
  default: number | boolean | string | readonly string[] | readonly number[];
  /** Number bounds; inclusive unless the matching *Open is set. */
  min?: number;
  minOpen?: boolean;
  max?: number;
  maxOpen?: boolean;
  /** enum: the values; list: the items allowed. */
  values?: readonly string[];
  /** The form's label. */
  label: string;
  /** One line for the CLI help and under the form field. */
  help: string;
  /** The form section it sits in; absent: a CLI-only option (not in the form). */
  section?: 'lora' | 'optimiser' | 'examples' | 'hardware';
  /** CLI placeholder. */
  valueName?: string;
  /** A boolean whose CLI flag turns it off (`--no_shuffle` sets shuffle false). */
  negatedFlag?: boolean;
}

/** The projections LoRA can adapt (the runtime's LORA_TARGETS). */
export const LORA_TARGET_NAMES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export const TRAIN_OPTION_TABLE: TrainOption[] = [
  { key: 'loraRank', flag: 'lora_rank', kind: 'int', default: 16, min: 1, label: 'Rank r', help: 'LoRA rank r (homework 16, paper 32)', section: 'lora' },
  { key: 'loraAlpha', flag: 'lora_alpha', kind: 'float', default: 32, min: 0, minOpen: true, label: 'Alpha', help: 'LoRA alpha: the update is scaled by alpha/r (alpha/sqrt(r) with rsLoRA)', section: 'lora' },
  { key: 'loraDropout', flag: 'lora_dropout', kind: 'float', default: 0.05, min: 0, max: 1, maxOpen: true, label: 'Dropout', help: "dropout on each adapted module's input; masks are seeded per step, so resume is exact", section: 'lora', valueName: 'P' },
  { key: 'useRslora', flag: 'use_rslora', kind: 'bool', default: false, label: 'rsLoRA', help: 'rank-stabilised LoRA: scale alpha/sqrt(r) instead of alpha/r (the paper)', section: 'lora' },
  { key: 'targetModules', flag: 'target_modules', kind: 'list', default: [...LORA_TARGET_NAMES], values: LORA_TARGET_NAMES, label: 'Target modules', help: 'comma-separated projections that get adapters', section: 'lora', valueName: 'LIST' },
  { key: 'layersToTransform', flag: 'layers_to_transform', kind: 'ints', default: [], min: 0, label: 'Layers', help: 'comma-separated layer indices that get adapters; empty = every layer', section: 'lora', valueName: 'LIST' },
  { key: 'numEpochs', flag: 'num_epochs', kind: 'int', default: 3, min: 1, label: 'Epochs', help: 'passes over the training set', section: 'optimiser' },
  { key: 'maxSteps', flag: 'max_steps', kind: 'int', default: 0, min: 0, label: 'Max steps', help: 'stop after this many optimizer steps; 0 = all epochs', section: 'optimiser' },
  { key: 'learningRate', flag: 'learning_rate', kind: 'float', default: 2e-4, min: 0, minOpen: true, max: 1, maxOpen: true, label: 'Learning rate', help: 'peak learning rate (homework 2e-4, paper 1e-5)', section: 'optimiser', valueName: 'LR' },
  { key: 'lrScheduler', flag: 'lr_scheduler', kind: 'enum', default: 'linear', values: ['linear', 'cosine', 'constant'], label: 'Schedule', help: 'learning-rate schedule after warm-up', section: 'optimiser', valueName: 'KIND' },
  { key: 'warmupSteps', flag: 'warmup_steps', kind: 'float', default: 100, min: 0, label: 'Warm-up', help: 'warm-up steps, or a ratio of all steps when below 1', section: 'optimiser' },
  { key: 'weightDecay', flag: 'weight_decay', kind: 'float', default: 0, min: 0, max: 1, maxOpen: true, label: 'Weight decay', help: 'AdamW weight decay', section: 'optimiser', valueName: 'WD' },
  { key: 'maxGradNorm', flag: 'max_grad_norm', kind: 'float', default: 1, min: 0, label: 'Max grad norm', help: 'global gradient-norm clipping; 0 = off', section: 'optimiser', valueName: 'X' },
  { key: 'batchSize', flag: 'batch_size', kind: 'int', default: 2, min: 1, label: 'Batch size', help: 'examples per micro-batch', section: 'optimiser' },
  { key: 'gradientAccumulationSteps', flag: 'gradient_accumulation_steps', kind: 'int', default: 8, min: 1, label: 'Grad accumulation', help: 'micro-batches per optimizer step', section: 'optimiser' },
  { key: 'seed', flag: 'seed', kind: 'int', default: 0, min: 0, max: 4294967295, label: 'Seed', help: 'seed for init, shuffling and the split; same seed, same machine = same adapter', section: 'optimiser' },
  { key: 'shuffle', flag: 'no_shuffle', kind: 'bool', default: true, negatedFlag: true, label: 'Shuffle', help: 'reshuffle the examples every epoch; off keeps the file order', section: 'optimiser' },
  { key: 'maxLength', flag: 'max_length', kind: 'int', default: 256, min: 1, label: 'Max length', help: 'tokens per example; longer examples are truncated', section: 'examples' },
  { key: 'sampleSize', flag: 'sample_size', kind: 'int', default: 0, min: 0, label: 'Sample size', help: 'use only the first N examples of each data source; 0 = all', section: 'examples' },
  { key: 'trainOn', flag: 'train_on', kind: 'enum', default: 'assistant', values: ['assistant', 'all'], label: 'Loss on', help: "assistant replies only (the paper) or the whole sequence (the homework's train.py)", section: 'examples', valueName: 'WHAT' },
  { key: 'evalSplit', flag: 'eval_split', kind: 'float', default: 0, min: 0, max: 1, maxOpen: true, label: 'Held-out split', help: 'fraction held out for the eval loss (the paper: 0.1)', section: 'examples', valueName: 'F' },
  { key: 'evalSteps', flag: 'eval_steps', kind: 'int', default: 50, min: 1, label: 'Eval every', help: 'eval loss every N optimizer steps (and at the end)', section: 'examples' },
  { key: 'saveSteps', flag: 'save_steps', kind: 'int', default: 0, min: 0, label: 'Checkpoint every', help: 'also checkpoint every N steps; 0 = per epoch, the first-epoch ones and the end', section: 'examples' },
  { key: 'firstEpochCheckpoints', flag: 'first_epoch_checkpoints', kind: 'int', default: 4, min: 0, label: 'First-epoch checkpoints', help: 'evenly spaced checkpoints within the first epoch (the homework replication took 4)', section: 'examples' },
  { key: 'device', flag: 'device', kind: 'enum', default: 'cpu', values: ['cpu', 'cuda'], label: 'Device', help: 'cpu or cuda (falls back to the CPU with the reason when CUDA cannot load)', section: 'hardware', valueName: 'DEV' },
  { key: 'precision', flag: 'precision', kind: 'enum', default: 'auto', values: ['auto', 'fp32', 'fp16', 'bf16'], label: 'Precision', help: 'frozen-weight precision: auto = fp16 on CUDA, fp32 on CPU; bf16 on CUDA only; LoRA, AdamW and the loss stay fp32', section: 'hardware', valueName: 'P' },
  { key: 'use4bit', flag: 'use_4bit', kind: 'bool', default: false, label: '4-bit base (QLoRA)', help: 'frozen projection weights as 4-bit blocks: about 7x less memory for them, a slower step; float32 only', section: 'hardware' },
  { key: 'dtype', flag: 'dtype', kind: 'enum', default: 'float32', values: ['float32', 'float64'], label: 'Numeric type', help: 'float32 trains; float64 is the numerics-check mode (slow)', valueName: 'T' },
];

export function trainOption(key: TrainOptionKey): TrainOption {
  const o = TRAIN_OPTION_TABLE.find((x) => x.key === key);
  if (!o) throw new Error(`no training option ${key}`);
  return o;
}

/** Every option's default, by key (the runtime's TRAIN_DEFAULTS add the file's schemaVersion). */
export function trainOptionDefaults(): Record<TrainOptionKey, TrainOption['default']> {
  return Object.fromEntries(TRAIN_OPTION_TABLE.map((o) => [o.key, Array.isArray(o.default) ? [...o.default] : o.default])) as Record<TrainOptionKey, TrainOption['default']>;
}

/** The option as the reader knows it: `--learning_rate` in a terminal, "Learning rate" in the form, `learningRate` in a file. */
export function optionName(o: TrainOption, surface: OptionSurface): string {
  return surface === 'cli' ? `--${o.flag}` : surface === 'form' ? o.label : o.key;
}

/** "a whole number >= 1", "a number in (0, 1)", "one of linear, cosine, constant". */
export function boundsText(o: TrainOption): string {
  if (o.kind === 'enum') return `one of ${o.values!.join(', ')}`;
  if (o.kind === 'bool') return 'true or false';
  if (o.kind === 'list') return `comma-separated, from ${o.values!.join(', ')}`;
  if (o.kind === 'int' && o.min === 1 && !o.minOpen && o.max === undefined) return 'a positive integer';
  const what = o.kind === 'float' ? 'a number' : o.kind === 'ints' ? 'comma-separated whole numbers' : 'a whole number';
  if (o.min !== undefined && o.max !== undefined) return `${what} in ${o.minOpen ? '(' : '['}${o.min}, ${o.max}${o.maxOpen ? ')' : ']'}`;
  if (o.min !== undefined) return `${what} ${o.minOpen ? '>' : '>='} ${o.min}`;
  if (o.max !== undefined) return `${what} ${o.maxOpen ? '<' : '<='} ${o.max}`;
  return what;
}

function numberProblem(o: TrainOption, n: unknown): boolean {
  if (typeof n !== 'number' || !Number.isFinite(n)) return true;
  if ((o.kind === 'int' || o.kind === 'ints') && !Number.isInteger(n)) return true;
  if (o.min !== undefined && (o.minOpen ? !(n > o.min) : !(n >= o.min))) return true;
  if (o.max !== undefined && (o.maxOpen ? !(n < o.max) : !(n <= o.max))) return true;
  return false;
}

/** What is wrong with a value of this option, as "must be …, got …" (the caller puts the option's name first). */
export function optionProblem(o: TrainOption, value: unknown): string | undefined {
  const got = `got ${JSON.stringify(value)}`;
  const must = `must be ${boundsText(o)}, ${got}`;
  switch (o.kind) {
    case 'bool':
      return typeof value === 'boolean' ? undefined : must;
    case 'enum':
      return typeof value === 'string' && o.values!.includes(value) ? undefined : must;
    case 'list':
      if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) return must;
      if (value.length === 0) return `is empty; use some of ${o.values!.join(', ')}`;
      return value.every((x) => o.values!.includes(x as string)) ? undefined : must;
    case 'ints':
      return Array.isArray(value) && value.every((x) => !numberProblem(o, x)) ? undefined : must;
    default:
      return numberProblem(o, value) ? must : undefined;
  }
}

/**
 * A value typed as text (a CLI argument, a form field) read by the option's kind and checked against its bounds:
 * the value, or what is wrong ("must be …, got …"). Booleans are not typed as text (a CLI switch, a checkbox).
 */
export function parseOptionText(o: TrainOption, text: string): { value: unknown; problem?: undefined } | { value?: undefined; problem: string } {
  const t = text.trim();
  const items = () => t.split(',').map((x) => x.trim()).filter(Boolean);
  const asNumber = (x: string) => (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(x) ? Number(x) : NaN);
  let value: unknown;
  if (o.kind === 'enum') value = t;
  else if (o.kind === 'list') value = items();
  else if (o.kind === 'ints') {
    const parts = items();
    const bad = parts.find((x) => !Number.isInteger(asNumber(x)));
    if (bad !== undefined) return { problem: `must be ${boundsText(o)}, got ${JSON.stringify(t)}` };
    value = parts.map(asNumber);
  } else if (o.kind === 'bool') value = t === 'true' ? true : t === 'false' ? false : t;
  else {
    value = asNumber(t);
    if (!Number.isFinite(value as number)) return { problem: `must be ${boundsText(o)}, got ${JSON.stringify(t)}` };
  }
  const problem = optionProblem(o, value);
  return problem ? { problem } : { value };
}

/** The option of a CLI flag (`learning_rate`), or undefined. */
export function optionByFlag(flag: string): TrainOption | undefined {
  return TRAIN_OPTION_TABLE.find((o) => o.flag === flag);
}

/**
 * A message written for the terminal (naming `--learning_rate`) as the form reads it ("Learning rate"): every
 * option flag with a form field becomes its label in quotes; flags the form lacks stay as they are.
 */
export function messageForForm(message: string): string {
  return message.replace(/--(\w+)/g, (whole, flag: string) => {
    const o = optionByFlag(flag);
    return o?.section ? `"${o.label}"` : whole;
  });
}

/** The problems of every option present in `config`, each naming the option for the surface it is read on. */
export function trainOptionProblems(config: Partial<Record<TrainOptionKey, unknown>>, surface: OptionSurface): string[] {
  const out: string[] = [];
  for (const o of TRAIN_OPTION_TABLE) {
    if (config[o.key] === undefined) continue;
    const problem = optionProblem(o, config[o.key]);
    if (problem) out.push(`${optionName(o, surface)}${surface === 'form' ? ':' : ''} ${problem}.`);
  }
  return out;
}

/** The options table of docs/training.md (between its train-options markers). */
export function trainOptionsMarkdown(): string {
  const cell = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(',') : '(none)') : String(v));
  return [
    '| flag | form field | default | allowed | what |',
    '| --- | --- | --- | --- | --- |',
    ...TRAIN_OPTION_TABLE.map((o) => `| \`--${o.flag}\` | ${o.section ? o.label : '(CLI only)'} | ${o.negatedFlag ? `on (\`--${o.flag}\` turns it off)` : cell(o.default)} | ${boundsText(o)} | ${o.help} |`),
  ].join('\n');
}
