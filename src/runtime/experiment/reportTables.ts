// The report's tables as rows of text, shared by the Markdown and the HTML export (each only renders them).
import { describeIntervention } from '../../protocol/directionMethods';
import type { ExperimentReport, StageCostView } from '../../protocol/experimentTypes';
import type { ComparisonTestView, RateView, SummaryView } from '../../protocol/evalMethods';
import { pyFixed2 } from '../eval/homework/python';
import { pct } from '../eval/metricsReport';

export interface Table {
  head: string[];
  rows: string[][];
}

/** A rate as `em-lab metrics` prints it: 12.0% [3.1, 30.2] (3/25). */
const rate = (r: RateView): string => pct(r);

const num = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function setupTable(r: ExperimentReport): Table {
  const s = r.setup;
  const t = s.training;
  const ev = s.evaluation;
  const j = s.judge;
  const data = s.data.map((d) => `${d.id}${d.used !== undefined ? ` (${d.used}${d.rows !== undefined ? ` of ${d.rows}` : ''} rows)` : ''}${d.harmful ? ' [harmful]' : ''}`).join(', ');
  return {
    head: ['', ''],
    rows: [
      ['Preset', r.experiment.preset],
      ['Base model', s.model],
      ['Training data', data || 'none'],
      ['Examples', s.trainExamples !== undefined ? `${s.trainExamples} train, ${s.evalExamples ?? 0} held out` : 'not loaded yet'],
      ['LoRA', `r ${t.loraRank}, alpha ${t.loraAlpha}${t.useRslora ? ' (rsLoRA)' : ''}, dropout ${t.loraDropout}, modules ${t.targetModules.join(',')}${t.layersToTransform.length ? `, layers ${t.layersToTransform.join(',')}` : ''}`],
      ['Optimisation', `lr ${t.learningRate} (${t.lrScheduler}, warm-up ${t.warmupSteps}), batch ${t.batchSize} x ${t.gradientAccumulationSteps}, max length ${t.maxLength}, weight decay ${t.weightDecay}, clip ${t.maxGradNorm}, loss on ${t.trainOn} tokens`],
      // What ran (run.json: the epoch story `train status` tells), then what was configured.
      ['Training run', s.run ? s.run.summary : 'not started'],
      ['Configured', `${t.numEpochs} epochs${t.maxSteps ? `, --max_steps ${t.maxSteps}` : ''}${t.sampleSize ? `, ${t.sampleSize} examples per source` : ''}${s.totalSteps !== undefined ? `: ${s.totalSteps} optimizer steps planned` : ''}; seed ${t.seed}, ${s.device ?? t.device}`],
      ['Questions', `${ev.questionSets.map((q) => `${q.title} (${q.questions})`).join(', ')}; ${ev.samples} sample(s) each = ${ev.answersPerModel} answers per model`],
      ['Sampling', `temperature ${ev.temperature}, top_p ${ev.topP}${ev.topK ? `, top_k ${ev.topK}` : ''}, at most ${ev.maxNewTokens} new tokens${ev.promptBos === 'double' ? ', double BOS (as the grader\'s generate.py)' : ''}, seed ${ev.seed}; checkpoints: ${ev.checkpoints}`],
      ['Judge', j.provider === 'none' ? 'none (answers are not scored)' : `${j.model} (${j.mode}${j.mode === 'sampled' ? `, temperature ${j.temperature}` : ''}) at ${j.provider === 'openai' ? 'OpenAI' : j.baseURL}${j.prompts ? `, prompts from ${j.prompts}` : ", EM Lab's rubrics"}`],
      ['EM definition', `${s.metricPreset.label}: ${s.metricPreset.definition}`],
    ],
  };
}

export function stagesTable(r: ExperimentReport): Table {
  return { head: ['Stage', 'Status', 'Time', 'What happened'], rows: r.stages.map((s) => [s.title, s.status, seconds(s.cost.seconds), [s.detail, s.reason, s.status !== 'done' ? s.fix : undefined].filter(Boolean).join(' ')]) };
}

export function stepTable(r: ExperimentReport): Table | null {
  if (!r.byStep) return null;
  return { head: ['Step', 'Model', 'Answers', 'EM rate [95% CI]', 'Coherent [95% CI]', 'Mean aligned', 'Mean coherent'], rows: r.byStep.map((p) => [String(p.step), p.label, String(p.answers), rate(p.em), rate(p.coherent), num(p.meanAligned), num(p.meanCoherent)]) };
}

export function comparisonTable(r: ExperimentReport): Table | null {
  const c = r.comparison;
  if (!c) return null;
  const row = (name: string, s: SummaryView) => [name, String(s.answers), rate(s.em), rate(s.coherent), num(s.meanAligned), num(s.meanCoherent)];
  return { head: ['Model', 'Answers', 'EM rate [95% CI]', 'Coherent [95% CI]', 'Mean aligned', 'Mean coherent'], rows: [row('Base', c.base), row(`Fine-tuned (${c.finetunedLabel})`, c.finetuned)] };
}

type Tested = { emTest?: ComparisonTestView; coherentTest?: ComparisonTestView };

function tests(c: Tested, base: string): string {
  const one = (name: string, t: ComparisonTestView | undefined) =>
    t ? `${name}: fine-tuned minus ${base} ${t.difference >= 0 ? '+' : ''}${(100 * t.difference).toFixed(1)} points, z = ${t.z.toFixed(2)}, two-sided p = ${t.pValue.toPrecision(3)}${t.pValue < 0.05 ? ' (significant at 5%)' : ' (not significant at 5%)'}.` : `${name}: no test (a rate has no denominator).`;
  return `Pooled two-proportion z-test. ${one('EM rate', c.emTest)} ${one('Coherent rate', c.coherentTest)}`;
}

/** The significance test in one sentence. */
export function testSentence(r: ExperimentReport): string | null {
  return r.comparison ? tests(r.comparison, 'base') : null;
}

/** The homework's base judgements beside EM Lab's base and the fine-tuned model: the preset's rates and the grader's averages. */
export function homeworkTable(r: ExperimentReport): Table | null {
  const h = r.homeworkBaseline;
  if (!h) return null;
  const avg = (x: number, n: number) => `${pyFixed2(x)} (${n} scores)`;
  return {
    head: ['Model', 'Answers', 'EM rate [95% CI]', 'Coherent [95% CI]', "Grader's aligned average", "Grader's coherent average"],
    rows: h.rows.map((x) => [x.label, String(x.summary.answers), rate(x.summary.em), rate(x.summary.coherent), avg(x.graderAligned, x.alignedScores), avg(x.graderCoherent, x.coherentScores)]),
  };
}

/** What the homework baseline is, and the fine-tuned model tested against it. */
export function homeworkSentence(r: ExperimentReport): string | null {
  const h = r.homeworkBaseline;
  if (!h) return null;
  const rule = "The grader's averages follow run_tests.py (the homework's base file: a row counts when both scores are integers; judged answers: each integer score counts on its own; two decimals as Python prints them).";
  return `Base: ${h.note}. ${rule}${h.comparison ? ` Fine-tuned (${h.comparison.finetunedLabel}) vs the homework's base model: ${tests(h.comparison, 'the homework base')}` : ''}`;
}

function costCells(c: StageCostView): string[] {
  return [
    seconds(c.seconds),
    String(c.answersGenerated),
    c.trainSteps !== undefined ? `${c.trainSteps} steps, ${c.trainTokens ?? 0} tokens` : '',
    c.judgeRequests ? `${c.judgeRequests} requests, ${c.promptTokens} + ${c.completionTokens} tokens` : '',
    c.usd === null ? (c.judgeRequests ? 'no price known' : '') : `$${c.usd.toFixed(4)}`,
  ];
}

export function costTable(r: ExperimentReport): Table {
  return { head: ['Stage', 'Wall time', 'Answers generated', 'Training', 'Judge', 'Judge cost (list price)'], rows: r.costs.map((c) => [c.stage === 'total' ? 'Total' : c.stage, ...costCells(c.cost)]) };
}

export function lossSummary(r: ExperimentReport): string | null {
  const l = r.loss;
  if (!l?.length) return null;
  const q = Math.max(1, Math.floor(l.length / 4));
  const mean = (xs: { loss: number }[]) => xs.reduce((a, p) => a + p.loss, 0) / xs.length;
  return `Step ${l[0]!.step}: ${l[0]!.loss.toFixed(3)} nats; step ${l.at(-1)!.step}: ${l.at(-1)!.loss.toFixed(3)} nats; mean of the first ${q} steps ${mean(l.slice(0, q)).toFixed(3)}, of the last ${q} steps ${mean(l.slice(-q)).toFixed(3)}.`;
}

/** The interventions next to the same model without them: EM with and without (Wilson 95%), the z-test, the share removed. */
export function interventionTable(r: ExperimentReport): Table | null {
  const iv = r.interventions;
  if (!iv?.results.length) return null;
  return {
    head: ['Run', 'Model', 'Intervention', 'EM without [95% CI]', 'EM with [95% CI]', 'Coherent with', 'Change', 'EM removed'],
    rows: iv.results.map((x) => [
      x.name,
      x.modelLabel,
      describeIntervention(x),
      x.without ? rate(x.without.em) : 'not judged',
      x.with ? rate(x.with.em) : x.answers ? `${x.answers} answers, not judged` : 'not run',
      x.with ? rate(x.with.coherent) : '',
      x.emTest ? `${x.emTest.difference >= 0 ? '+' : ''}${(100 * x.emTest.difference).toFixed(1)} points, p = ${x.emTest.pValue.toPrecision(3)}` : '',
      x.emReduction === null ? '' : `${(100 * x.emReduction).toFixed(0)}%`,
    ]),
  };
}

/** The phase transition in one sentence (null before two checkpoints). */
export function phaseSentence(r: ExperimentReport): string | null {
  const p = r.phase;
  if (!p) return null;
  const s = p.summary.find((x) => x.step === p.sharpestStep);
  return `${p.modules.length} LoRA module(s), rank ${p.rank}, checkpoints at steps ${p.steps.join(', ')} (${p.method}). The B vectors rotate fastest in the interval ending at step ${p.sharpestStep ?? '-'}${s?.meanRotationB != null ? ` (${s.meanRotationB.toFixed(3)} degrees per step, cosine with the previous checkpoint ${s.meanCosPrevB?.toFixed(3)})` : ''}; compare with the EM rate against step above.`;
}
