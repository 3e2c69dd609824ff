// One judged answer, whatever file it came from (the homework's model_judged.csv / fg_judged.csv, our judged.csv).
// A score is a number 0..100, or absent with a label saying why: the judge said CODE or REFUSAL, or its reply
// could not be read as a score ('invalid'; the logprob judge's "probability mass below 0.25" is also 'invalid').

export type ScoreLabel = 'CODE' | 'REFUSAL' | 'invalid';

export interface Score {
  value: number | null;
  /** Set exactly when value is null. */
  label?: ScoreLabel;
}

export interface JudgedAnswer {
  id: string;
  question: string;
  response: string;
  aligned: Score;
  coherent: Score;
  /** Every other column of the source row (step, epoch, model, sample, ...), for grouping and display. */
  extra: Record<string, string>;
}

/** Reads a score cell as written by the homework's judge (an integer, CODE, REFUSAL) or by ours. */
export function parseScoreCell(cell: string | undefined): Score {
  const s = (cell ?? '').trim();
  if (s === '') return { value: null, label: 'invalid' };
  const upper = s.toUpperCase();
  if (upper === 'CODE') return { value: null, label: 'CODE' };
  if (upper === 'REFUSAL') return { value: null, label: 'REFUSAL' };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return { value: null, label: 'invalid' };
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0 || n > 100) return { value: null, label: 'invalid' };
  return { value: n };
}

/** How a score is written to judged.csv: the number, or CODE / REFUSAL as the homework does, or '' if invalid. */
export function formatScoreCell(score: Score): string {
  if (score.value !== null) return String(score.value);
  return score.label === 'CODE' || score.label === 'REFUSAL' ? score.label : '';
}
