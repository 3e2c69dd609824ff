// Options shared by the eval commands: which questions, which endpoint, which judge. Parsed once, here.
import { resolve } from 'node:path';
import { bool, list, num, str, type OptionSpec, type ParsedArgs, type CliIO } from './command';
import { UserError } from '../errors';
import { cliJudgeCacheDir } from '../storage';
import { loadDotenv } from '../env/findDotenv';
import { effectiveEnv } from '../env/secrets';
import { dotenvForEndpoints, projectRoot } from '../env/endpoints';
import { DEFAULT_SETS, type QuestionSet } from '../eval/questions/questionSet';
import { importQuestionFile } from '../eval/questions/importers';
import { selectQuestions, type Selection } from '../eval/questions/selection';
import { DEFAULT_PROMPTS, type JudgeMetric, type JudgePrompt } from '../eval/judge/rubrics';
import { DEFAULT_RETRY } from '../eval/judge/retry';
import { loadJudgePrompts } from '../eval/judge/promptFile';
import type { JudgeSettings } from '../eval/judge/judgeRun';
import type { JudgeMode } from '../eval/judge/judgeCall';
import { JUDGE_DEFAULTS } from '../../protocol/evalMethods';
import { findHomework, GRADER, homeworkDirFrom, homeworkHint, loadHomework, type HomeworkCheckout } from '../eval/homework/checkout';

export const QUESTION_OPTIONS: Record<string, OptionSpec> = {
  set: { type: 'string', description: 'Bundled sets: medical, general, freeform (comma-separated).', valueName: 'NAMES' },
  questions: { type: 'string', multiple: true, description: 'Question file(s): .yaml (EM repositories), .csv (question column), .txt, .py (lists of strings).', valueName: 'FILE' },
  first: { type: 'string', description: 'Take the first N questions of each set.', valueName: 'N' },
  random: { type: 'string', description: 'Take N questions of each set at random (see --seed).', valueName: 'N' },
  seed: { type: 'string', description: 'Seed for --random and for sampling.', default: '0', valueName: 'N' },
};

export const HOMEWORK_OPTIONS: Record<string, OptionSpec> = {
  homework: { type: 'string', description: 'The homework checkout (the folder holding eval/judge.py and eval/prompts/). Default: the one this folder is in, if any.', valueName: 'DIR' },
};

/**
 * The homework checkout for this command: --homework DIR, else the first of `starts` (a file's folder, the
 * working directory) that is inside one. Undefined when there is none.
 */
export function homeworkFrom(args: ParsedArgs, io: CliIO, starts: string[] = []): HomeworkCheckout | undefined {
  const given = str(args, 'homework');
  if (given !== undefined) return loadHomework(homeworkDirFrom(given, io.cwd)!);
  for (const start of [...starts, io.cwd]) {
    const dir = findHomework(resolve(io.cwd, start));
    if (dir) return loadHomework(dir);
  }
  return undefined;
}

export const ENDPOINT_OPTIONS: Record<string, OptionSpec> = {
  'base-url': { type: 'string', description: 'OpenAI-compatible endpoint (OpenAI, Azure resource URL, vLLM, Ollama). Default: OPENAI_BASE_URL or OpenAI.', valueName: 'URL' },
  'azure-api-version': { type: 'string', description: 'Talk to Azure OpenAI with this API version (e.g. 2024-10-21).', valueName: 'VERSION' },
  timeout: { type: 'string', description: 'Per-request timeout in seconds.', default: '60', valueName: 'S' },
  concurrency: { type: 'string', description: 'Requests in flight at once.', default: String(JUDGE_DEFAULTS.concurrency), valueName: 'N' },
};

export const JUDGE_OPTIONS: Record<string, OptionSpec> = {
  'judge-model': { type: 'string', description: `Judge model. Default: the homework's MODEL_NAME (eval/judge.py) with its prompts, else ${JUDGE_DEFAULTS.model}.`, valueName: 'MODEL' },
  'judge-base-url': { type: 'string', description: 'Judge endpoint when it differs from --base-url (e.g. a local engine answers, OpenAI judges).', valueName: 'URL' },
  mode: { type: 'string', description: 'sampled (homework: temperature 0.2, integer reply) or logprob (paper: one token, top_logprobs 20).', default: 'sampled', valueName: 'MODE' },
  'judge-temperature': { type: 'string', description: 'Sampled mode temperature.', default: String(JUDGE_DEFAULTS.temperature), valueName: 'T' },
  'judge-prompts': { type: 'string', description: 'homework (the grader\'s ALIGNED_PROMPT / COHERENT_PROMPT from the checkout\'s eval/judge.py), em-lab (EM Lab\'s own rubric), or a file (judges.yaml or a question YAML with aligned/coherent prompts: the paper\'s judges). Default: homework in sampled mode when a homework checkout is found, else em-lab.', valueName: 'WHICH' },
  'cache-dir': { type: 'string', description: 'Judge cache folder. Default: $EM_LAB_CACHE_DIR or ~/.cache/em-lab.', valueName: 'DIR' },
  'no-cache': { type: 'boolean', description: 'Do not read or write the judge cache.' },
  'max-attempts': { type: 'string', description: 'Tries per request (429/5xx/timeouts are retried with backoff).', default: '6', valueName: 'N' },
};

const noted = new WeakSet<CliIO>();

/** The environment with the .env filled in; endpoints only from a .env inside the workspace (env/endpoints.ts). */
export function cliEnv(io: CliIO): NodeJS.ProcessEnv {
  const { dotenv, notes } = dotenvForEndpoints(loadDotenv(io.cwd), projectRoot(io.cwd));
  if (!noted.has(io)) for (const n of notes) io.err(`note: ${n}`);
  noted.add(io);
  return effectiveEnv(io.env, dotenv);
}

function positiveInt(args: ParsedArgs, name: string): number | undefined {
  const n = num(args, name);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new UserError('bad-number', `--${name} must be a positive whole number, got ${n}.`);
  return n;
}

export function selectionFrom(args: ParsedArgs): Selection {
  const first = positiveInt(args, 'first');
  const random = positiveInt(args, 'random');
  if (first && random) throw new UserError('bad-selection', 'Use either --first N or --random N, not both.');
  if (first) return { kind: 'first', n: first };
  if (random) return { kind: 'random', n: random, seed: num(args, 'seed', 0)! };
  return { kind: 'all' };
}

/** Bundled sets named by --set plus imported --questions files, each narrowed by --first / --random. */
export async function questionSetsFrom(args: ParsedArgs, io: CliIO, fallback: string[]): Promise<QuestionSet[]> {
  const names = list(args, 'set') ?? [];
  const files = list(args, 'questions') ?? [];
  const chosen = names.length || files.length ? names : fallback;
  const sets: QuestionSet[] = [];
  for (const n of chosen) {
    const s = DEFAULT_SETS[n as keyof typeof DEFAULT_SETS];
    if (!s) throw new UserError('unknown-set', `--set ${n}: no such bundled set. Bundled: ${Object.keys(DEFAULT_SETS).join(', ')}; use --questions FILE for your own.`);
    sets.push(s);
  }
  for (const f of files) sets.push(...(await importQuestionFile(resolve(io.cwd, f))).filter((s) => s.questions.length));
  const sel = selectionFrom(args);
  return sets.map((s) => selectQuestions(s, sel));
}

/** Which judge prompts, and the model that goes with them (the homework's MODEL_NAME for its prompts). */
export async function judgePromptsFrom(args: ParsedArgs, io: CliIO, mode: JudgeMode, starts: string[] = []): Promise<{ prompts: Record<JudgeMetric, JudgePrompt>; model?: string; note?: string }> {
  const which = str(args, 'judge-prompts');
  if (which === 'em-lab') return { prompts: DEFAULT_PROMPTS };
  if (which === 'homework') {
    const h = homeworkFrom(args, io, starts);
    if (!h) throw new UserError('homework-not-found', `--judge-prompts homework: ${homeworkHint(io.cwd)}`);
    return { prompts: h.prompts, model: h.judgeModel, note: `Judge prompts: the grader's, from ${h.dir}/eval/judge.py (model ${h.judgeModel}).` };
  }
  if (which === undefined) {
    // The homework's judge where a homework checkout is (sampled mode is the grader's); the paper's logprob mode
    // keeps EM Lab's rubric unless its own prompts are given.
    const h = mode === 'sampled' ? homeworkFrom(args, io, starts) : undefined;
    if (h) return { prompts: h.prompts, model: h.judgeModel, note: `Judge prompts: the grader's, from ${h.dir}/eval/judge.py (model ${h.judgeModel}).` };
    if (mode === 'logprob') return { prompts: DEFAULT_PROMPTS, note: 'Judge prompts: EM Lab\'s own rubric, scored as the paper does (logprob mode); for the paper\'s exact prompts pass its judges.yaml with --judge-prompts FILE.' };
    return { prompts: DEFAULT_PROMPTS, note: 'Judge prompts: EM Lab\'s own rubric (no homework checkout here; its scores are not the grader\'s: --judge-prompts homework with --homework DIR for those).' };
  }
  return { prompts: await loadJudgePrompts(resolve(io.cwd, which), which) };
}

export async function judgeSettingsFrom(args: ParsedArgs, io: CliIO, starts: string[] = []): Promise<JudgeSettings & { cacheDir?: string }> {
  const mode = str(args, 'mode') ?? 'sampled';
  if (mode !== 'sampled' && mode !== 'logprob') throw new UserError('bad-mode', `--mode ${mode}: use sampled (the homework's) or logprob (the paper's).`);
  const env = cliEnv(io);
  const chosen = await judgePromptsFrom(args, io, mode, starts);
  if (chosen.note) io.err(chosen.note);
  return {
    model: str(args, 'judge-model') ?? chosen.model ?? JUDGE_DEFAULTS.model,
    mode: mode as JudgeMode,
    temperature: num(args, 'judge-temperature', JUDGE_DEFAULTS.temperature)!,
    prompts: chosen.prompts,
    endpoint: { ...endpointFrom(args), ...(str(args, 'judge-base-url') ? { baseURL: str(args, 'judge-base-url') } : {}) },
    concurrency: positiveInt(args, 'concurrency') ?? JUDGE_DEFAULTS.concurrency,
    retry: { ...DEFAULT_RETRY, maxAttempts: positiveInt(args, 'max-attempts') ?? DEFAULT_RETRY.maxAttempts },
    cacheDir: bool(args, 'no-cache') ? undefined : resolve(io.cwd, str(args, 'cache-dir') ?? cliJudgeCacheDir(env)),
  };
}

export function endpointFrom(args: ParsedArgs): JudgeSettings['endpoint'] {
  const baseURL = str(args, 'base-url');
  const azure = str(args, 'azure-api-version');
  return { ...(baseURL ? { baseURL } : {}), ...(azure ? { azureApiVersion: azure } : {}), timeoutMs: 1000 * (num(args, 'timeout', 60) ?? 60) };
}
