// Choosing questions from sets: all, the first N of each set, or N at random per set with a seed (reproducible:
// the same seed gives the same questions on every machine).
import type { QuestionSet } from './questionSet';

export type Selection = { kind: 'all' } | { kind: 'first'; n: number } | { kind: 'random'; n: number; seed: number };

import { mulberry32 as seededRandom } from '../../random';

export function selectQuestions(set: QuestionSet, sel: Selection): QuestionSet {
  if (sel.kind === 'all') return set;
  if (sel.kind === 'first') return { ...set, questions: set.questions.slice(0, sel.n) };
  // Partial Fisher-Yates, then back into file order so output reads naturally.
  const rand = seededRandom(sel.seed);
  const idx = set.questions.map((_, i) => i);
  const n = Math.min(sel.n, idx.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const chosen = idx.slice(0, n).sort((a, b) => a - b);
  return { ...set, questions: chosen.map((i) => set.questions[i]!) };
}
