// An experiment's homework-checkout question source (experimentTypes.ts HomeworkQuestionSource): the grader's 20
// questions read from the student's CS 2881 HW0 checkout, its judge (eval/judge.py) and its base judgements. At
// creation the checkout is found and recorded (folder + a sha256 of its questions) in experiment.json; at run time
// it is read again from that folder and refused if its questions changed, so a rerun is the same experiment.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { ExperimentFile, HomeworkQuestionSource, QuestionSourceSpec } from '../../protocol/experimentTypes';
import { UserError } from '../errors';
import { HOMEWORK_SAMPLING, homeworkPlan } from '../eval/generationPresets';
import { findHomework, GRADER, graderQuestions, HOMEWORK_FILES, HOMEWORK_REPO, homeworkDirFrom, isHomeworkDir, loadHomework, type HomeworkCheckout } from '../eval/homework/checkout';
import type { QuestionSet } from '../eval/questions/questionSet';

export const isHomeworkSource = (q: QuestionSourceSpec): q is HomeworkQuestionSource => 'homework' in q;

/** The fingerprint a homework source records: the grader's 20 questions, in order. */
export function homeworkQuestionsSha(h: HomeworkCheckout): string {
  return createHash('sha256').update(JSON.stringify(graderQuestions(h))).digest('hex');
}

/** Why there is no checkout, and the ways to get one or to do without. */
export function noCheckoutMessage(what: string, looked: string[]): string {
  return (
    `${what}: the homework's questions and judge are the grader's, read from your homework checkout, and none was found in ${looked.join(' or ')} or a folder above ` +
    `(a checkout is a folder holding ${HOMEWORK_FILES.judge} and ${HOMEWORK_FILES.medical}). Get one with \`em-lab homework fetch --out DIR\` (VS Code: "EM Lab: Get Homework Files") ` +
    `or \`git clone https://github.com/${HOMEWORK_REPO}\`, then pass --homework DIR (VS Code: open it as the workspace folder) or create the experiment inside it. ` +
    `Or use EM Lab's own questions and rubric: --preset quick, or --questions medical:10 --questions general:10 (the homework preset's training with EM Lab's 10 medical + 10 general questions).`
  );
}

/**
 * The checkout a creation request means: --homework / homeworkDir (which must be one), else the experiment folder
 * or the workspace folder or a folder above either. Undefined when none; the caller words the refusal.
 */
export function findCheckoutForCreate(given: string | undefined, ws: string, experimentDir: string): string | undefined {
  if (given !== undefined) return homeworkDirFrom(given, ws);
  return findHomework(experimentDir) ?? findHomework(ws);
}

/** The checkout a stored source names, loaded; a clear error when it is gone or its questions changed. */
export function checkoutOf(dir: string, q: HomeworkQuestionSource, where: string): HomeworkCheckout {
  const path = resolve(dir, q.homework);
  if (!isHomeworkDir(path)) {
    throw new UserError('homework-not-found', `${where}: ${path} is not a homework checkout (no ${HOMEWORK_FILES.judge} or ${HOMEWORK_FILES.medical}), and this experiment reads the grader's questions from it. Put the checkout back there (\`em-lab homework fetch --out ${path}\` or git clone), or point "homework" in experiment.json at where it is now.`);
  }
  const h = loadHomework(path);
  if (q.sha256 && homeworkQuestionsSha(h) !== q.sha256) {
    throw new UserError(
      'homework-changed',
      `${where}: the grader's questions in ${h.dir}/eval/prompts/ are not the ones this experiment was created with (sha256 ${q.sha256.slice(0, 12)}..., now ${homeworkQuestionsSha(h).slice(0, 12)}...), so its answers would not pair with those already made. Restore the checkout's eval/prompts/ files, or recreate the experiment (\`em-lab experiment new ... --force\`) to use the new questions.`,
    );
  }
  return h;
}

/** The question sets of a homework source: the grader's medical[:10] + non_medical[:10] (homeworkPlan), cut to `first`. */
export function homeworkSets(h: HomeworkCheckout, first: number | undefined): QuestionSet[] {
  const sets = homeworkPlan(h).sets;
  if (first === undefined) return sets;
  let left = first;
  return sets.map((s) => {
    const take = Math.min(left, s.questions.length);
    left -= take;
    return { ...s, questions: s.questions.slice(0, take) };
  }).filter((s) => s.questions.length);
}

/** The experiment's (first) homework source and its checkout, for the judge's defaults and the report's baseline. */
export function experimentHomework(x: ExperimentFile, dir: string, where: string): { source: HomeworkQuestionSource; checkout: HomeworkCheckout } | undefined {
  const source = x.evaluation.questions.find(isHomeworkSource);
  return source ? { source, checkout: checkoutOf(dir, source, where) } : undefined;
}

/**
 * Where an experiment with the grader's questions does not generate or judge as the grader does (docs/homework.md),
 * each as "<what> <value> (the grader: <value>)"; empty when it is the grader exactly. Said when the experiment is
 * created and in the report, never silently.
 */
export function graderDifferences(x: ExperimentFile, h: HomeworkCheckout): string[] {
  const v = x.evaluation;
  const source = v.questions.find(isHomeworkSource);
  const out: string[] = [];
  if (v.questions.length > 1 || source?.first !== undefined) out.push(`questions ${v.questions.map((q) => ('set' in q ? q.set : isHomeworkSource(q) ? 'homework' : q.file) + (q.first ? `:${q.first}` : '')).join(', ')} (the grader: its 20 questions)`);
  const sampling: [string, unknown, unknown][] = [
    ['samples', v.samples, 1],
    ['temperature', v.temperature, HOMEWORK_SAMPLING.temperature],
    ['top_p', v.topP, HOMEWORK_SAMPLING.topP],
    ['max new tokens', v.maxNewTokens, HOMEWORK_SAMPLING.maxNewTokens],
    ['top_k', v.topK ?? 'off', HOMEWORK_SAMPLING.topK],
    ['prompt BOS', v.promptBos ?? 'single', HOMEWORK_SAMPLING.promptBos],
  ];
  for (const [what, got, grader] of sampling) if (got !== grader) out.push(`${what} ${got} (the grader: ${grader})`);
  const j = x.judge;
  const graderPrompts = j.prompts !== undefined && /(^|[\\/])eval[\\/]judge\.py$/.test(j.prompts);
  if (j.provider !== 'none') {
    if (j.mode !== 'sampled') out.push(`judge mode ${j.mode} (the grader: sampled)`);
    if (!graderPrompts) out.push(`judge prompts ${j.prompts ?? "EM Lab's rubric"} (the grader: ${h.dir}/${HOMEWORK_FILES.judge})`);
    if (j.model !== h.judgeModel) out.push(`judge model ${j.model} (the grader: ${h.judgeModel})`);
    if (j.temperature !== GRADER.judgeTemperature) out.push(`judge temperature ${j.temperature} (the grader: ${GRADER.judgeTemperature})`);
  }
  return out;
}

/** What `experiment new` says about a homework source: where the grader was read from, and any difference from it. */
export function homeworkCreateNotes(e: { dir: string; file: string; experiment: ExperimentFile }): string[] {
  const hw = experimentHomework(e.experiment, e.dir, e.file);
  if (!hw) return [];
  const h = hw.checkout;
  const j = e.experiment.judge;
  const judge = j.prompts && /(^|[\\/])eval[\\/]judge\.py$/.test(j.prompts) ? `the grader's judge from ${h.dir}/${HOMEWORK_FILES.judge} (${j.model})` : `judge prompts: ${j.prompts ?? "EM Lab's rubric"}`;
  const lines = [`Homework: the grader's questions from ${h.dir} (MEDICAL_QUESTIONS[:10] + NON_MEDICAL_QUESTIONS[:10], generated as its generate.py does); ${judge}${h.baseJudgedCsv ? `; its base judgements (${HOMEWORK_FILES.baseJudged}) are the report's second baseline` : ''}.`];
  const differs = graderDifferences(e.experiment, h);
  if (differs.length) lines.push(`note: ${differs.join(', ')}: not what the homework's grader does (docs/homework.md).`);
  return lines;
}
