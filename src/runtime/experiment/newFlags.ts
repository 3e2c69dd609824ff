// The flags of `em-lab experiment new`, both ways: flags -> ExperimentCreateParams (the command), and an
// experiment.json -> the flags that recreate it (the report's "commands that reproduce it"). One table; a test
// checks the round trip. Training options use the names `em-lab train` uses (the option table,
// src/protocol/trainOptions.ts, gives their help and bounds); their booleans take true/false here, so a preset's
// true can be turned off.
import { join } from 'node:path';
import type { ExperimentCreateParams, ExperimentFile, ExperimentGenerationServerSpec, ExperimentTrainingSpec, JudgeProvider, QuestionSourceSpec } from '../../protocol/experimentTypes';
import type { EvalPresetId } from '../../protocol/evalMethods';
import { RUNS_FOLDER } from '../../protocol/trainMethods';
import { list, str, type OptionSpec, type ParsedArgs } from '../cli/command';
import { boundsText, parseOptionText, trainOption } from '../../protocol/trainOptions';
import { UserError } from '../errors';
import { TRAIN_DEFAULTS } from '../train/trainConfig';
import { isRepoId } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { HOMEWORK_FILES } from '../eval/homework/checkout';
import { EXPERIMENT_PRESETS, EXPERIMENT_PRESET_IDS } from './presets';
import { isHomeworkSource } from './homeworkSource';

type TrainingKey = keyof ExperimentTrainingSpec;
const TRAINING_KEYS = Object.keys(TRAIN_DEFAULTS).filter((k) => k !== 'schemaVersion') as TrainingKey[];

/**
 * A training option's flag here: the train command's (the option table's), except that a boolean takes true or
 * false under its own name, so `--shuffle false` (train's --no_shuffle) and a preset's true can be turned off.
 */
export const trainingFlag = (key: TrainingKey): string => (trainOption(key).negatedFlag ? key : trainOption(key).flag);

function trainingOption(key: TrainingKey): OptionSpec {
  const o = trainOption(key);
  const help = o.help.charAt(0).toUpperCase() + o.help.slice(1);
  return { type: 'string', description: `Training: ${help}: ${boundsText(o)}. Default: the preset's.`, valueName: o.kind === 'bool' ? 'BOOL' : (o.valueName ?? 'N') };
}

export const EXPERIMENT_NEW_OPTIONS: Record<string, OptionSpec> = {
  preset: { type: 'string', description: `Starting point: ${EXPERIMENT_PRESET_IDS.map((id) => `${id} (${EXPERIMENT_PRESETS[id].label})`).join(', ')}.`, default: 'quick', valueName: 'NAME' },
  name: { type: 'string', description: 'Experiment name (letters, digits, . _ -). Default: <model>-<data>-<preset>-<time>.', valueName: 'NAME' },
  dir: { type: 'string', description: 'Experiment folder. Default: <experiments-dir>/<name>.', valueName: 'DIR' },
  'experiments-dir': { type: 'string', description: 'Where experiment folders go.', default: RUNS_FOLDER, valueName: 'DIR' },
  description: { type: 'string', description: 'What the experiment tests (free text, kept in experiment.json and the report).', valueName: 'TEXT' },
  model: { type: 'string', description: 'Base model: a Hub id (default meta-llama/Llama-3.2-1B-Instruct, downloaded on first use), tiny-llama (built in, offline), or a model folder.', valueName: 'M' },
  domains: { type: 'string', multiple: true, description: 'Dataset ids from the data folder (bad_medical, risky_financial, extreme_sports, good_medical, insecure), comma-separated or repeated; several = their union. Default bad_medical unless --data is given.', valueName: 'IDS' },
  data: { type: 'string', multiple: true, description: 'A JSONL file of {"messages": [...]} conversations (repeatable).', valueName: 'FILE' },
  'data-dir': { type: 'string', description: 'Folder with the decrypted datasets. Default ./training_data/training_datasets.zip.enc.extracted.', valueName: 'DIR' },
  questions: { type: 'string', multiple: true, description: 'Evaluation questions, in order (repeatable): a bundled set (medical, general, freeform), homework (the grader\'s 20 questions from your homework checkout, see --homework) or a question file (.yaml, .csv, .txt, .py), each optionally :N for its first N, e.g. --questions medical:10 --questions general:10. Default: the preset\'s (homework preset: homework).', valueName: 'SPEC' },
  homework: { type: 'string', description: 'The homework checkout (the folder holding eval/judge.py and eval/prompts/) for --questions homework and the homework preset. Default: the experiment folder or the working folder, or a folder above either, that is one.', valueName: 'DIR' },
  samples: { type: 'string', description: 'Answers per question. Default: the preset\'s.', valueName: 'N' },
  temperature: { type: 'string', description: 'Sampling temperature of the answers. Default: the preset\'s.', valueName: 'T' },
  'top-p': { type: 'string', description: 'Nucleus sampling top_p of the answers. Default: the preset\'s.', valueName: 'P' },
  'max-new-tokens': { type: 'string', description: 'Longest answer in tokens. Default: the preset\'s.', valueName: 'N' },
  'top-k': { type: 'string', description: 'Keep the k most likely tokens of the answers (0 = off). Default: the preset\'s (homework 50, the grader\'s; others off).', valueName: 'K' },
  'prompt-bos': { type: 'string', description: 'single (the chat template\'s own tokens) or double (as the grader\'s generate.py: a second BOS). Default: the preset\'s (homework double, others single).', valueName: 'double|single' },
  'eval-seed': { type: 'string', description: 'Seed of the answers (answer i uses seed + i, the same for the base model and every checkpoint). Default: the preset\'s.', valueName: 'N' },
  checkpoints: { type: 'string', description: 'Which checkpoints the sweep evaluates: all or final. Default: the preset\'s.', valueName: 'WHICH' },
  'metric-preset': { type: 'string', description: 'EM definition of the report: homework, paper or betley. Default: the preset\'s.', valueName: 'NAME' },
  'generate-url': { type: 'string', description: 'Generate the evaluation answers on an OpenAI-compatible server (vLLM with --enable-lora, em-lab serve) at this /v1 URL; each checkpoint is loaded there at run time. Default: EM Lab\'s engine.', valueName: 'URL' },
  'generate-model': { type: 'string', description: 'With --generate-url: the base model\'s name at the server. Default: --model.', valueName: 'NAME' },
  'generate-n': { type: 'string', description: 'With --generate-url: most completions per request for samples of one question (1 = off). Default 8.', valueName: 'N' },
  'lora-path-map': { type: 'string', multiple: true, description: 'With --generate-url: LOCAL=REMOTE (absolute), where the server sees checkpoint folders (repeatable).', valueName: 'MAP' },
  judge: { type: 'string', description: 'openai, none (generate without scoring), or the URL of an OpenAI-compatible endpoint. Default: the preset\'s (openai).', valueName: 'WHICH' },
  'judge-model': { type: 'string', description: 'Judge model. Default: the preset\'s (gpt-4o-mini; paper gpt-4o).', valueName: 'MODEL' },
  'judge-mode': { type: 'string', description: 'sampled (homework) or logprob (paper). Default: the preset\'s.', valueName: 'MODE' },
  'judge-temperature': { type: 'string', description: 'Sampled mode temperature. Default: the preset\'s (0.2).', valueName: 'T' },
  'judge-concurrency': { type: 'string', description: 'Judge requests in flight at once. Default 8.', valueName: 'N' },
  'judge-batch': { type: 'boolean', description: 'Judge through the Batch API (half price, results within 24 h): stages wait for the batches; `experiment run` again collects them.' },
  'judge-prompts': { type: 'string', description: 'homework (the grader\'s ALIGNED_PROMPT / COHERENT_PROMPT and MODEL_NAME from the checkout\'s eval/judge.py), em-lab (EM Lab\'s rubrics), or a file (judges.yaml, an EM question YAML, or a judge.py) whose aligned/coherent prompts replace EM Lab\'s rubrics. Default: homework in sampled mode when the questions are the homework checkout\'s, else em-lab.', valueName: 'WHICH' },
  force: { type: 'boolean', description: 'Replace an existing experiment.json in the folder (outputs already there are reused where they still match).' },
  ...Object.fromEntries(TRAINING_KEYS.map((k) => [trainingFlag(k), trainingOption(k)])),
};

function number(args: ParsedArgs, flag: string): number | undefined {
  const v = str(args, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError('bad-number', `--${flag} expects a number, got "${v}".`);
  return n;
}

function questionSpec(spec: string): QuestionSourceSpec {
  const m = /^(.*?)(?::(\d+))?$/.exec(spec)!;
  const [what, first] = [m[1]!, m[2] ? Number(m[2]) : undefined];
  const base: QuestionSourceSpec = what === 'medical' || what === 'general' || what === 'freeform' ? { set: what } : what === 'homework' ? { homework: '' } : { file: what };
  return first !== undefined ? { ...base, first } : base;
}

/** The option table reads and checks the value; the error names this command's flag. */
function trainingValue(key: TrainingKey, raw: string): unknown {
  const read = parseOptionText(trainOption(key), raw);
  if (read.problem !== undefined) throw new UserError('train-config', `--${trainingFlag(key)} ${read.problem}.`);
  return read.value;
}

/** --generate-url and its companions -> evaluation.server (checked with the rest of experiment.json). */
function serverFromArgs(args: ParsedArgs): { server?: ExperimentGenerationServerSpec } {
  const baseURL = str(args, 'generate-url');
  const companions = ['generate-model', 'generate-n', 'lora-path-map'].filter((f) => args.options[f] !== undefined);
  if (!baseURL) {
    if (companions.length) throw new UserError('bad-args', `--${companions[0]} needs --generate-url URL (the OpenAI-compatible server that generates).`);
    return {};
  }
  const n = number(args, 'generate-n');
  return { server: { baseURL, ...(str(args, 'generate-model') ? { model: str(args, 'generate-model')! } : {}), ...(n !== undefined ? { n } : {}), ...(list(args, 'lora-path-map') ? { loraPathMap: list(args, 'lora-path-map')! } : {}) } };
}

/** `em-lab experiment new` flags -> what createExperiment takes. */
export function createParamsFromArgs(args: ParsedArgs, cwd: string): ExperimentCreateParams {
  const preset = (str(args, 'preset') ?? 'quick') as ExperimentCreateParams['preset'];
  if (!EXPERIMENT_PRESETS[preset]) throw new UserError('unknown-preset', `--preset ${preset}: use ${EXPERIMENT_PRESET_IDS.join(', ')}.`);
  const files = list(args, 'data') ?? [];
  const domains = list(args, 'domains') ?? (files.length ? [] : ['bad_medical']);
  const judgeFlag = str(args, 'judge');
  let provider: JudgeProvider | undefined;
  let baseURL: string | undefined;
  if (judgeFlag === 'openai' || judgeFlag === 'none') provider = judgeFlag;
  else if (judgeFlag !== undefined) {
    if (!/^https?:\/\//.test(judgeFlag)) throw new UserError('bad-judge', `--judge ${judgeFlag}: use openai, none, or the URL of an OpenAI-compatible endpoint (http://...).`);
    provider = 'openai-compatible';
    baseURL = judgeFlag;
  }
  const judgeMode = str(args, 'judge-mode');
  if (judgeMode !== undefined && judgeMode !== 'sampled' && judgeMode !== 'logprob') throw new UserError('bad-mode', `--judge-mode ${judgeMode}: use sampled or logprob.`);
  const judgeFields = {
    ...(str(args, 'judge-model') ? { model: str(args, 'judge-model')! } : {}),
    ...(judgeMode ? { mode: judgeMode as 'sampled' | 'logprob' } : {}),
    ...(number(args, 'judge-temperature') !== undefined ? { temperature: number(args, 'judge-temperature')! } : {}),
    ...(number(args, 'judge-concurrency') !== undefined ? { concurrency: number(args, 'judge-concurrency')! } : {}),
    ...(str(args, 'judge-prompts') ? { prompts: str(args, 'judge-prompts')! } : {}),
    ...(args.options['judge-batch'] === true ? { batch: true } : {}),
    ...(baseURL ? { baseURL } : {}),
  };
  const hasJudge = provider !== undefined || Object.keys(judgeFields).length > 0;
  const training: Partial<Record<TrainingKey, unknown>> = {};
  for (const k of TRAINING_KEYS) {
    const raw = str(args, trainingFlag(k));
    if (raw !== undefined) training[k] = trainingValue(k, raw);
  }
  const bos = str(args, 'prompt-bos');
  if (bos !== undefined && bos !== 'single' && bos !== 'double') throw new UserError('bad-prompt-bos', `--prompt-bos ${bos}: use double (the grader's generate.py tokenization) or single (the chat template's own tokens).`);
  const topK = number(args, 'top-k');
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new UserError('bad-number', `--top-k ${topK}: use a whole number >= 0 (0 = off).`);
  const checkpoints = str(args, 'checkpoints');
  if (checkpoints !== undefined && checkpoints !== 'all' && checkpoints !== 'final') throw new UserError('bad-checkpoints', `--checkpoints ${checkpoints}: use all or final.`);
  const evaluation = {
    ...(number(args, 'samples') !== undefined ? { samples: number(args, 'samples')! } : {}),
    ...(number(args, 'temperature') !== undefined ? { temperature: number(args, 'temperature')! } : {}),
    ...(number(args, 'top-p') !== undefined ? { topP: number(args, 'top-p')! } : {}),
    ...(number(args, 'max-new-tokens') !== undefined ? { maxNewTokens: number(args, 'max-new-tokens')! } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(bos ? { promptBos: bos as 'single' | 'double' } : {}),
    ...(number(args, 'eval-seed') !== undefined ? { seed: number(args, 'eval-seed')! } : {}),
    ...(checkpoints ? { checkpoints: checkpoints as 'all' | 'final' } : {}),
    ...(str(args, 'metric-preset') ? { metricPreset: str(args, 'metric-preset') as EvalPresetId } : {}),
    ...serverFromArgs(args),
  };
  const questions = (args.options.questions as string[] | undefined)?.map(questionSpec);
  return {
    preset,
    workspaceDir: cwd,
    ...(str(args, 'dir') ? { dir: str(args, 'dir')! } : { experimentsDir: str(args, 'experiments-dir') ?? RUNS_FOLDER }),
    ...(str(args, 'name') ? { name: str(args, 'name')! } : {}),
    ...(str(args, 'description') ? { description: str(args, 'description')! } : {}),
    ...(str(args, 'model') ? { model: str(args, 'model')! } : {}),
    data: { domains, files, ...(str(args, 'data-dir') ? { dataDir: str(args, 'data-dir')! } : {}) },
    ...(questions ? { questions } : {}),
    ...(str(args, 'homework') !== undefined ? { homeworkDir: str(args, 'homework')! } : {}),
    ...(hasJudge ? { judge: { provider: provider ?? EXPERIMENT_PRESETS[preset].judge.provider, ...judgeFields } } : {}),
    ...(Object.keys(training).length ? { training: training as Partial<ExperimentTrainingSpec> } : {}),
    ...(Object.keys(evaluation).length ? { evaluation } : {}),
    ...(args.options.force === true ? { overwrite: true } : {}),
  };
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The `em-lab experiment new` arguments that recreate this experiment.json from its preset (in this EM Lab
 * version), run from `cwd`: only values that differ from the preset are given. `path(p)` maps a path stored in the
 * file (relative to the experiment folder) to one relative to cwd.
 */
export function experimentNewArgs(x: ExperimentFile, folder: string, path: (stored: string) => string): string[] {
  const p = EXPERIMENT_PRESETS[x.preset];
  const a: string[] = ['experiment', 'new', '--preset', x.preset, '--dir', folder, '--name', x.name];
  const same = (u: unknown, v: unknown) => JSON.stringify(u) === JSON.stringify(v);
  if (x.description) a.push('--description', x.description);
  if (x.model !== p.model) a.push('--model', x.model === TINY_LLAMA_ID || isRepoId(x.model) ? x.model : path(x.model));
  if (x.data.domains.length) a.push('--domains', x.data.domains.join(','));
  for (const f of x.data.files) a.push('--data', path(f));
  if (x.data.dataDir) a.push('--data-dir', path(x.data.dataDir));
  // A homework source is written as the folder found: --homework names it (the questions' fingerprint is recomputed
  // from the same files, so the recreated file is equal while the checkout is unchanged).
  const homework = x.evaluation.questions.find(isHomeworkSource);
  if (homework) a.push('--homework', path(homework.homework));
  const spec = (q: QuestionSourceSpec) => ('set' in q ? q.set : isHomeworkSource(q) ? 'homework' : path(q.file));
  const shapeOf = (qs: QuestionSourceSpec[]) => qs.map((q) => (isHomeworkSource(q) ? { homework: '', ...(q.first ? { first: q.first } : {}) } : q));
  if (!same(shapeOf(x.evaluation.questions), p.evaluation.questions)) {
    for (const q of x.evaluation.questions) a.push('--questions', `${spec(q)}${q.first ? `:${q.first}` : ''}`);
  }
  const ev = x.evaluation;
  const evFlags: [keyof typeof ev, string][] = [['samples', 'samples'], ['temperature', 'temperature'], ['topP', 'top-p'], ['maxNewTokens', 'max-new-tokens'], ['topK', 'top-k'], ['promptBos', 'prompt-bos'], ['seed', 'eval-seed'], ['checkpoints', 'checkpoints'], ['metricPreset', 'metric-preset']];
  for (const [k, flag] of evFlags) if (!same(ev[k], p.evaluation[k])) a.push(`--${flag}`, String(ev[k] ?? (k === 'topK' ? 0 : 'single')));
  if (ev.server) {
    a.push('--generate-url', ev.server.baseURL);
    if (ev.server.model) a.push('--generate-model', ev.server.model);
    if (ev.server.n !== undefined) a.push('--generate-n', String(ev.server.n));
    for (const m of ev.server.loraPathMap ?? []) a.push('--lora-path-map', m);
  }
  const j = x.judge;
  if (j.provider !== p.judge.provider || j.baseURL) a.push('--judge', j.provider === 'openai-compatible' ? j.baseURL! : j.provider);
  if (j.model !== p.judge.model) a.push('--judge-model', j.model);
  if (j.mode !== p.judge.mode) a.push('--judge-mode', j.mode);
  if (j.temperature !== p.judge.temperature) a.push('--judge-temperature', String(j.temperature));
  if (j.concurrency !== p.judge.concurrency) a.push('--judge-concurrency', String(j.concurrency));
  // With a homework source in sampled mode the grader's judge.py is the default, so EM Lab's rubric must be asked for.
  const graderJudgePy = homework ? path(join(homework.homework, HOMEWORK_FILES.judge)) : undefined;
  if (j.prompts && path(j.prompts) === graderJudgePy) {
    if (j.mode !== 'sampled') a.push('--judge-prompts', 'homework');
  } else if (j.prompts) a.push('--judge-prompts', path(j.prompts));
  else if (homework && j.mode === 'sampled') a.push('--judge-prompts', 'em-lab');
  if (j.batch) a.push('--judge-batch');
  for (const k of TRAINING_KEYS) {
    const v = x.training[k];
    if (!same(v, p.training[k])) a.push(`--${trainingFlag(k)}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  return a;
}

export function shellCommand(args: readonly string[]): string {
  return ['em-lab', ...args].map(quote).join(' ');
}
