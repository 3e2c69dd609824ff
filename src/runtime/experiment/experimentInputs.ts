// What each stage takes from experiment.json, in the shape the existing services want (a GenerationPlan, judge
// settings), and a hash of exactly those parts: a done stage is skipped while its hashes match, and redone (its
// stale outputs moved aside) when they do not (docs/experiment.md, "Stages").
import { createHash } from 'node:crypto';
import type { GenerationPlan } from '../eval/generationRun';
import type { JudgeSettings } from '../eval/judge/judgeRun';
import { DEFAULT_PROMPTS } from '../eval/judge/rubrics';
import { DEFAULT_RETRY } from '../eval/judge/retry';
import { loadJudgePrompts } from '../eval/judge/promptFile';
import { DEFAULT_SETS, type QuestionSet } from '../eval/questions/questionSet';
import { importQuestionFile } from '../eval/questions/importers';
import { selectQuestions } from '../eval/questions/selection';
import { fromExperiment, type LoadedExperiment } from './experimentFile';
import { checkoutOf, homeworkSets, isHomeworkSource } from './homeworkSource';

/** The question sets of evaluation.questions, each narrowed to its `first` N. */
export async function questionSetsOf(e: LoadedExperiment): Promise<QuestionSet[]> {
  const sets: QuestionSet[] = [];
  for (const [i, q] of e.experiment.evaluation.questions.entries()) {
    if (isHomeworkSource(q)) {
      sets.push(...homeworkSets(checkoutOf(e.dir, q, `${e.file}: evaluation.questions[${i}].homework`), q.first));
      continue;
    }
    const found = 'set' in q ? [DEFAULT_SETS[q.set]] : (await importQuestionFile(fromExperiment(e.dir, q.file))).filter((s) => s.questions.length);
    for (const s of found) sets.push(q.first ? selectQuestions(s, { kind: 'first', n: q.first }) : s);
  }
  return sets;
}

/**
 * The one plan the base model and every checkpoint answer (same questions, same seeds: answers pair up). With the
 * grader's questions, model_generations.csv gets a uuid4 per row as generate.py writes it (the judged files keep
 * the question ids, so answers still pair up across models).
 */
export async function generationPlanOf(e: LoadedExperiment): Promise<GenerationPlan> {
  const v = e.experiment.evaluation;
  return {
    sets: await questionSetsOf(e),
    samples: v.samples,
    sampling: { temperature: v.temperature, topP: v.topP, maxNewTokens: v.maxNewTokens, ...(v.topK ? { topK: v.topK } : {}), ...(v.promptBos ? { promptBos: v.promptBos } : {}) },
    seed: v.seed,
    ...(v.questions.some(isHomeworkSource) ? { rowIds: 'uuid4' as const } : {}),
  };
}

/** The judge as judgeAnswers takes it (batch: submit through the Batch API); undefined for provider none. */
export async function judgeSettingsOf(e: LoadedExperiment): Promise<(JudgeSettings & { batch?: boolean }) | undefined> {
  const j = e.experiment.judge;
  if (j.provider === 'none') return undefined;
  return {
    model: j.model,
    mode: j.mode,
    temperature: j.temperature,
    prompts: j.prompts ? await loadJudgePrompts(fromExperiment(e.dir, j.prompts), `experiment.json judge.prompts (${j.prompts})`) : DEFAULT_PROMPTS,
    endpoint: { ...(j.provider === 'openai-compatible' && j.baseURL ? { baseURL: j.baseURL } : {}), timeoutMs: 60_000 },
    concurrency: j.concurrency,
    retry: DEFAULT_RETRY,
    ...(j.batch ? { batch: true } : {}),
  };
}

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** Hashes of what each stage depends on; compared with the ones a done stage recorded. */
export function stageInputs(e: LoadedExperiment): { base: Record<string, string>; train: Record<string, string>; sweep: Record<string, string> } {
  const x = e.experiment;
  const { metricPreset: _metric, checkpoints, ...generation } = x.evaluation;
  // How the judgements are requested (in flight at once, live or batched) does not change them.
  const { concurrency: _concurrency, batch: _batch, ...judge } = x.judge;
  // As stored (relative paths), so moving the experiment folder with its data keeps every stage done.
  const gen = hash({ model: x.model, generation });
  const train = hash({ model: x.model, data: x.data, training: x.training });
  const judged = hash(judge);
  return {
    base: { generation: gen, judge: judged },
    train: { training: train },
    sweep: { generation: hash({ gen, train, checkpoints }), judge: judged },
  };
}
