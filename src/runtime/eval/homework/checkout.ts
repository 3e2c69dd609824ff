// The homework checkout (the CS 2881 HW0 repository as a student has it): where EM Lab's homework preset reads the
// grader from. Nothing of the homework is bundled with EM Lab: the questions (eval/prompts/*.py), the judge's
// model and prompts (eval/judge.py, read as data, never executed), the submission's row limit (eval/run_tests.py)
// and the base model's judgements (eval/data/base_model_judged.csv) all come from the student's own files.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../errors';
import type { JudgeMetric, JudgePrompt } from '../judge/rubrics';
import { parsePythonStringConstants, parsePythonStringLists } from '../questions/pythonList';
import { checkFormatTemplate } from './python';

/** The public repository `em-lab homework fetch` downloads from. */
export const HOMEWORK_REPO = 'natalieabreu/c2881-hw0';

/** The grader's files, by role, at their paths in the checkout. */
export const HOMEWORK_FILES = {
  medical: 'eval/prompts/medical.py',
  nonMedical: 'eval/prompts/non_medical.py',
  judge: 'eval/judge.py',
  runTests: 'eval/run_tests.py',
  baseJudged: 'eval/data/base_model_judged.csv',
  baseGenerations: 'eval/data/base_model_generations.csv',
  generate: 'generate.py',
  trainingDetails: 'training_details.md',
} as const;

/**
 * What the grader's scripts fix in code rather than data (generate.py, eval/query_utils.py, eval/judge.py,
 * eval/run_tests.py; ../shared/reference/hw0-homework/README.md): docs/homework.md explains each.
 */
export const GRADER = {
  /** generate.py: MEDICAL_QUESTIONS[:10] + NON_MEDICAL_QUESTIONS[:10]. */
  questionsPerList: 10,
  /** run_tests.py judges the first 20 rows and compares with the first 20 rows of base_model_judged.csv. */
  judgedRows: 20,
  /** run_tests.py's row limit when its file cannot be read (the brief: at most 100 rows). */
  defaultMaxRows: 100,
  /** query_utils.py: do_sample, temperature 1.0, top_p 1.0, max_new_tokens 200; no top_k, so transformers' default 50. */
  sampling: { temperature: 1, topP: 1, topK: 50, maxNewTokens: 200 },
  /** judge.py: one user message, temperature 0.2, nothing else. */
  judgeTemperature: 0.2,
} as const;

export interface HomeworkCheckout {
  dir: string;
  medical: string[];
  nonMedical: string[];
  /** judge.py's MODEL_NAME. */
  judgeModel: string;
  prompts: Record<JudgeMetric, JudgePrompt>;
  /** eval/data/base_model_judged.csv, when the checkout has it. */
  baseJudgedCsv?: string;
  /** run_tests.py's `if len(rows) > N`, and where that number came from. */
  maxRows: number;
  maxRowsSource: string;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/** A homework checkout is a folder holding eval/judge.py and eval/prompts/medical.py. */
export function isHomeworkDir(dir: string): boolean {
  return isFile(join(dir, HOMEWORK_FILES.judge)) && isFile(join(dir, HOMEWORK_FILES.medical));
}

/** `start` or the nearest folder above it that is a homework checkout. */
export function findHomework(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isHomeworkDir(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

export function homeworkHint(start: string): string {
  return `No homework checkout found in ${start} or the folders above it (a folder holding ${HOMEWORK_FILES.judge} and ${HOMEWORK_FILES.medical}, as the CS 2881 HW0 repository ${HOMEWORK_REPO} has). Work inside your homework checkout (or open it in VS Code), pass --homework DIR, or download its files with \`em-lab homework fetch\` ("EM Lab: Get Homework Files"). EM Lab's own questions and rubric stay available under their own name: --preset em-lab.`;
}

/** --homework DIR (which must be a checkout), else the checkout `start` is in; undefined when there is none. */
export function homeworkDirFrom(given: string | undefined, start: string): string | undefined {
  if (given === undefined) return findHomework(start);
  const dir = resolve(start, given);
  if (!isHomeworkDir(dir)) throw new UserError('homework-not-found', `--homework ${given}: ${dir} is not a homework checkout (no ${HOMEWORK_FILES.judge} or ${HOMEWORK_FILES.medical}). Point at the folder holding eval/ and generate.py, or get the files with \`em-lab homework fetch --out ${given}\`.`);
  return dir;
}

function readText(dir: string, file: string): string {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (err) {
    throw new UserError('homework-file-missing', `${join(dir, file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. The homework preset reads the grader from this file; restore it from the homework repository (\`em-lab homework fetch\`).`);
  }
}

function questionList(dir: string, file: string, name: string): string[] {
  const lists = parsePythonStringLists(readText(dir, file), join(dir, file));
  const list = lists.find((l) => l.name === name);
  if (!list) throw new UserError('homework-questions', `${join(dir, file)} defines ${lists.map((l) => l.name).join(', ')} but not ${name}, the list the grader's generate.py imports.`);
  if (list.items.length < GRADER.questionsPerList) throw new UserError('homework-questions', `${join(dir, file)}: ${name} has ${list.items.length} questions; the grader takes the first ${GRADER.questionsPerList}.`);
  return list.items;
}

/** run_tests.py's row limit (`if len(rows) > N:` in verify_model_generations_csv), read as data. */
function readMaxRows(dir: string): { maxRows: number; source: string } {
  const file = join(dir, HOMEWORK_FILES.runTests);
  if (!isFile(file)) return { maxRows: GRADER.defaultMaxRows, source: `the homework brief (no ${HOMEWORK_FILES.runTests} in ${dir})` };
  const m = /\bif\s+len\(\s*rows\s*\)\s*>\s*(\d+)\s*:/.exec(readFileSync(file, 'utf8'));
  if (!m) return { maxRows: GRADER.defaultMaxRows, source: `the homework brief (${file} has no "if len(rows) > N:" check)` };
  return { maxRows: Number(m[1]), source: file };
}

/**
 * The grader's judge from its eval/judge.py (MODEL_NAME, ALIGNED_PROMPT, COHERENT_PROMPT), read as data. Also what an
 * experiment's judge.prompts pointing at a judge.py reads (eval/judge/promptFile.ts).
 */
export function readGraderJudge(judgeFile: string): { judgeModel: string; prompts: Record<JudgeMetric, JudgePrompt> } {
  const constants = parsePythonStringConstants(readText(dirname(judgeFile), basename(judgeFile)), judgeFile, ['MODEL_NAME', 'ALIGNED_PROMPT', 'COHERENT_PROMPT']);
  const constant = (name: string) => {
    const c = constants.get(name);
    if (!c) throw new UserError('homework-judge', `${judgeFile} does not define ${name} as a string, which the grader's judge uses. Restore the file from the homework repository.`);
    return c;
  };
  const prompts = {} as Record<JudgeMetric, JudgePrompt>;
  for (const [metric, name] of [['aligned', 'ALIGNED_PROMPT'], ['coherent', 'COHERENT_PROMPT']] as const) {
    const c = constant(name);
    checkFormatTemplate(c.value, `${judgeFile}:${c.line} ${name}`);
    prompts[metric] = { name: metric, template: c.value, source: `${judgeFile}:${name}` };
  }
  return { judgeModel: constant('MODEL_NAME').value, prompts };
}

/** Reads everything the homework preset needs from a checkout; every problem names its file. */
export function loadHomework(dir: string): HomeworkCheckout {
  const { judgeModel, prompts } = readGraderJudge(join(dir, HOMEWORK_FILES.judge));
  const base = join(dir, HOMEWORK_FILES.baseJudged);
  const { maxRows, source } = readMaxRows(dir);
  return {
    dir,
    medical: questionList(dir, HOMEWORK_FILES.medical, 'MEDICAL_QUESTIONS'),
    nonMedical: questionList(dir, HOMEWORK_FILES.nonMedical, 'NON_MEDICAL_QUESTIONS'),
    judgeModel,
    prompts,
    ...(isFile(base) ? { baseJudgedCsv: base } : {}),
    maxRows,
    maxRowsSource: source,
  };
}

/** The checkout named by --homework or found from `start`, loaded; a clear error (how to get one) when there is none. */
export function requireHomework(given: string | undefined, start: string): HomeworkCheckout {
  const dir = homeworkDirFrom(given, start);
  if (!dir) throw new UserError('homework-not-found', homeworkHint(start));
  return loadHomework(dir);
}

/** The grader's 20 questions, in its order: medical[:10] + non_medical[:10]. */
export function graderQuestions(h: HomeworkCheckout): string[] {
  return [...h.medical.slice(0, GRADER.questionsPerList), ...h.nonMedical.slice(0, GRADER.questionsPerList)];
}
