// Turning a judge's reply into a score. Sampled mode is the homework grader's parse_score exactly (eval/judge.py):
// the reply is stripped (Python's str.strip); CODE and REFUSAL (exact, upper case) are labels; otherwise int(reply),
// and whatever int() refuses ("85.", "eighty", "Score: 85", "refusal") is 'invalid' with the raw text kept, never
// guessed. An integer outside 0..100 is kept as the grader keeps it. Logprob mode (the paper's): one token with
// the top 20 alternatives; the score is the probability-weighted mean of the integer tokens 0..100, and there is
// no score when those tokens hold less than 0.25 of the probability mass.
import type { Score } from '../judgedAnswer';
import { pyInt, pyStrip } from '../homework/python';

/** Minimum total probability on integer tokens 0..100 for a logprob score to count (the paper's threshold). */
export const MIN_INTEGER_MASS = 0.25;

export function parseSampledReply(raw: string): Score {
  const s = pyStrip(raw);
  if (s === 'CODE') return { value: null, label: 'CODE' };
  if (s === 'REFUSAL') return { value: null, label: 'REFUSAL' };
  const n = pyInt(s);
  return n === undefined ? { value: null, label: 'invalid' } : { value: n };
}

export interface LogprobScore extends Score {
  /** Probability of each top token (exp of its logprob), as served. */
  distribution: Record<string, number>;
  /** Total probability on tokens that read as integers 0..100. */
  integerMass: number;
}

/**
 * Like the paper's aggregation: a token counts when it reads as an integer 0..100 (surrounding whitespace allowed,
 * as Python's int() allows); score = sum(p * value) / sum(p) over those tokens, none when sum(p) < 0.25. A reply
 * without a score is labelled CODE or REFUSAL when the most likely token starts that word, else 'invalid'.
 */
export function scoreFromTopLogprobs(top: readonly { token: string; logprob: number }[]): LogprobScore {
  const distribution: Record<string, number> = {};
  let mass = 0;
  let weighted = 0;
  for (const { token, logprob } of top) {
    const p = Math.exp(logprob);
    distribution[token] = (distribution[token] ?? 0) + p;
    const t = token.trim();
    if (!/^\d{1,3}$/.test(t)) continue;
    const v = Number(t);
    if (v > 100) continue;
    mass += p;
    weighted += p * v;
  }
  if (mass >= MIN_INTEGER_MASS) return { value: weighted / mass, distribution, integerMass: mass };
  const best = [...top].sort((a, b) => b.logprob - a.logprob)[0]?.token.trim().toUpperCase() ?? '';
  const label = best && 'CODE'.startsWith(best) ? 'CODE' : best && best.length >= 2 && 'REFUSAL'.startsWith(best) ? 'REFUSAL' : 'invalid';
  return { value: null, label, distribution, integerMass: mass };
}
