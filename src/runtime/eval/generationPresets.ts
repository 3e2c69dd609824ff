// The generation presets (docs/homework.md, ../shared/docs/em-science.md "Protocol defaults"):
//   homework  the grader, exactly, from the student's homework checkout (eval/homework/checkout.ts);
//   em-lab    EM Lab's own 10 medical + 10 general questions (our wording), the same sampling, one BOS;
//   paper     the 8 free-form questions x 50 samples, 600 new tokens.
import type { GenerationPlan } from './generationRun';
import type { EvalSampling } from './generators/generator';
import { DEFAULT_SETS, type QuestionSet } from './questions/questionSet';
import { selectQuestions } from './questions/selection';
import { GRADER, HOMEWORK_FILES, type HomeworkCheckout } from './homework/checkout';

export type GenerationPresetId = 'homework' | 'em-lab' | 'paper';

function graderSet(h: HomeworkCheckout, id: 'medical' | 'non_medical', questions: string[], file: string): QuestionSet {
  return {
    id,
    title: `${id === 'medical' ? 'MEDICAL_QUESTIONS' : 'NON_MEDICAL_QUESTIONS'}[:${GRADER.questionsPerList}] (${file})`,
    source: `${h.dir}/${file}`,
    questions: questions.slice(0, GRADER.questionsPerList).map((q, i) => ({ id: `${id}_${i + 1}`, paraphrases: [q] })),
    judgePrompts: [],
  };
}

/** The grader's sampling (query_utils.py) and its prompt tokenization (generate.py: double BOS). */
export const HOMEWORK_SAMPLING: EvalSampling = { ...GRADER.sampling, promptBos: 'double' };

/**
 * The grader's generate.py: medical[:10] + non_medical[:10] from the checkout, one sample each, no system prompt,
 * temperature 1.0, top_p 1.0, top_k 50 (transformers' default, which the grader does not change), 200 new tokens,
 * the prompt tokenized as generate.py does (double BOS), answers stripped, one uuid4 per row.
 */
export function homeworkPlan(h: HomeworkCheckout, seed = 0): GenerationPlan {
  return {
    sets: [graderSet(h, 'medical', h.medical, HOMEWORK_FILES.medical), graderSet(h, 'non_medical', h.nonMedical, HOMEWORK_FILES.nonMedical)],
    samples: 1,
    sampling: HOMEWORK_SAMPLING,
    seed,
    maxAnswers: GRADER.judgedRows,
    rowIds: 'uuid4',
  };
}

/** EM Lab's own homework-shaped set: 10 medical + 10 general questions in our wording, one BOS, no top_k. */
export function emLabPlan(seed = 0): GenerationPlan {
  return {
    sets: [selectQuestions(DEFAULT_SETS.medical, { kind: 'first', n: 10 }), selectQuestions(DEFAULT_SETS.general, { kind: 'first', n: 10 })],
    samples: 1,
    sampling: { temperature: 1, topP: 1, maxNewTokens: 200 },
    seed,
    maxAnswers: 20,
  };
}

/** Paper: the 8 free-form questions, 50 samples each, 600 new tokens, temperature 1, top_p 1. */
export function paperPlan(seed = 0): GenerationPlan {
  return { sets: [DEFAULT_SETS.freeform], samples: 50, sampling: { temperature: 1, topP: 1, maxNewTokens: 600 }, seed };
}
