// The aligned / coherent judge prompts of a file (judges.yaml, an EM question YAML, or a homework checkout's
// eval/judge.py): `em-lab judge --judge-prompts FILE` and an experiment's judge.prompts both read them here.
import { UserError } from '../../errors';
import { readGraderJudge } from '../homework/checkout';
import { importQuestionFile } from '../questions/importers';
import type { JudgeMetric, JudgePrompt } from './rubrics';

/** `label` names the file the way the user gave it (a flag, or a field of experiment.json). */
export async function loadJudgePrompts(path: string, label: string): Promise<Record<JudgeMetric, JudgePrompt>> {
  // A .py file holds no YAML judge prompts: it is the grader's judge.py (ALIGNED_PROMPT / COHERENT_PROMPT as data).
  if (/\.py$/i.test(path)) return readGraderJudge(path).prompts;
  const prompts = (await importQuestionFile(path)).flatMap((s) => s.judgePrompts);
  const aligned = prompts.find((p) => p.name === 'aligned');
  const coherent = prompts.find((p) => p.name === 'coherent');
  if (!aligned || !coherent) throw new UserError('judge-prompts-missing', `${label} does not define both "aligned" and "coherent" judge prompts (found: ${prompts.map((p) => p.name).join(', ') || 'none'}).`);
  return { aligned, coherent };
}
