// The report's tables as rows of text, shared by the Markdown and the HTML export (each only renders them).
import type { ExperimentReport, StageCostView } from '../../protocol/experimentTypes';
import type { RateView, SummaryView } from '../../protocol/evalMethods';
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
      ['Steps', `${s.totalSteps ?? '?'} optimizer steps (${t.numEpochs} epochs${t.maxSteps ? `, at most ${t.maxSteps} steps` : ''}${t.sampleSize ? `, ${t.sampleSize} examples per source` : ''}), seed ${t.seed}, ${s.device ?? t.device}`],
      ['Questions', `${ev.questionSets.map((q) => `${q.title} (${q.questions})`).join(', ')}; ${ev.samples} sample(s) each = ${ev.answersPerModel} answers per model`],
      ['Sampling', `temperature ${ev.temperature}, top_p ${ev.topP}, at most ${ev.maxNewTokens} new tokens, seed ${ev.seed}; checkpoints: ${ev.checkpoints}`],
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

/** The significance test in one sentence. */
export function testSentence(r: ExperimentReport): string | null {
  const c = r.comparison;
  if (!c) return null;
  const one = (name: string, t: { difference: number; z: number; pValue: number } | undefined) =>
    t ? `${name}: fine-tuned minus base ${t.difference >= 0 ? '+' : ''}${(100 * t.difference).toFixed(1)} points, z = ${t.z.toFixed(2)}, two-sided p = ${t.pValue.toPrecision(3)}${t.pValue < 0.05 ? ' (significant at 5%)' : ' (not significant at 5%)'}.` : `${name}: no test (a rate has no denominator).`;
  return `Pooled two-proportion z-test. ${one('EM rate', c.emTest)} ${one('Coherent rate', c.coherentTest)}`;
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
