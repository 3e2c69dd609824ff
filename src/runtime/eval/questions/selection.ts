// Choosing questions from sets: all, the first N of each set, or N at random per set with a seed (reproducible:
// the same seed gives the same questions on every machine).
import type { QuestionSet } from './questionSet';

export type Selection = { kind: 'all' } | { kind: 'first'; n: number } | { kind: 'random'; n: number; seed: number };

/** mulberry32: a small, well-mixed 32-bit PRNG; enough for picking questions (not for cryptography). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
