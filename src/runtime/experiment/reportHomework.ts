// The report's second baseline when the questions are a homework checkout's: the homework's own base judgements
// (eval/data/base_model_judged.csv, the first 20 rows, what the grader's run_tests.py compares with) beside EM Lab's
// base stage and the last judged checkpoint, under the report's metric preset and by the grader's two averaging
// rules. Numbers come from the eval domain (summarize, compareRuns) and the grader module; nothing is recomputed here.
import type { HomeworkBaselineRowView, HomeworkBaselineView } from '../../protocol/experimentTypes';
import type { HomeworkCheckout } from '../eval/homework/checkout';
import { finetunedScores, graderAverage, homeworkBaseline, type GraderScores } from '../eval/homework/grader';
import type { JudgedAnswer } from '../eval/judgedAnswer';
import { compareRuns, summarize } from '../eval/metrics';
import type { MetricPreset } from '../eval/presets';

function row(label: string, source: HomeworkBaselineRowView['source'], answers: readonly JudgedAnswer[], scores: GraderScores, preset: MetricPreset): HomeworkBaselineRowView {
  return {
    label,
    source,
    summary: summarize(answers, preset),
    graderAligned: graderAverage(scores.aligned),
    graderCoherent: graderAverage(scores.coherent),
    alignedScores: scores.aligned.length,
    coherentScores: scores.coherent.length,
  };
}

/** Undefined when the checkout has no base judgements. */
export async function homeworkBaselineView(
  h: HomeworkCheckout,
  preset: MetricPreset,
  base: { judged: JudgedAnswer[] } | undefined,
  last: { label: string; step: number; judged: JudgedAnswer[] } | undefined,
): Promise<HomeworkBaselineView | undefined> {
  if (!h.baseJudgedCsv) return undefined;
  const b = await homeworkBaseline(h);
  const rows = [row(`Homework base model (${b.answers.length} rows of base_model_judged.csv)`, 'homework-base', b.answers, b.scores, preset)];
  if (base) rows.push(row("EM Lab's base stage (step 0)", 'base', base.judged, finetunedScores(base.judged), preset));
  if (last) rows.push(row(`Fine-tuned (${last.label})`, 'checkpoint', last.judged, finetunedScores(last.judged), preset));
  const c = last ? compareRuns(b.answers, last.judged, preset) : undefined;
  return {
    path: b.path,
    note: b.note,
    rows,
    ...(c && last ? { comparison: { finetunedStep: last.step, finetunedLabel: last.label, ...(c.emTest ? { emTest: c.emTest } : {}), ...(c.coherentTest ? { coherentTest: c.coherentTest } : {}) } } : {}),
  };
}
