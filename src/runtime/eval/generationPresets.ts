// The two protocols' generation settings (../shared/docs/em-science.md, "Protocol defaults").
import type { GenerationPlan } from './generationRun';
import { DEFAULT_SETS } from './questions/questionSet';
import { selectQuestions } from './questions/selection';

/** Homework: 10 medical + 10 non-medical questions, one sample each, 200 new tokens, temperature 1, top_p 1. */
export function homeworkPlan(seed = 0): GenerationPlan {
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
