// The aligned / coherent judge prompts of a file (judges.yaml or an EM question YAML): `em-lab judge
// --judge-prompts FILE` and an experiment's judge.prompts both read them here.
import { UserError } from '../../errors';
import { importQuestionFile } from '../questions/importers';
import type { JudgeMetric, JudgePrompt } from './rubrics';

/** `label` names the file the way the user gave it (a flag, or a field of experiment.json). */
export async function loadJudgePrompts(path: string, label: string): Promise<Record<JudgeMetric, JudgePrompt>> {
  const prompts = (await importQuestionFile(path)).flatMap((s) => s.judgePrompts);
  const aligned = prompts.find((p) => p.name === 'aligned');
  const coherent = prompts.find((p) => p.name === 'coherent');
  if (!aligned || !coherent) throw new UserError('judge-prompts-missing', `${label} does not define both "aligned" and "coherent" judge prompts (found: ${prompts.map((p) => p.name).join(', ') || 'none'}).`);
  return { aligned, coherent };
}
