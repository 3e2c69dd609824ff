// The experiment report's data, computed from the experiment folder alone (experiment.json, status.json, the
// training run, the judged answers), so the CLI, the runtime method and the report stage give the same thing.
// Metrics come from the eval domain's own functions (summarize, compareRuns: Wilson intervals, the pooled
// two-proportion z-test); nothing here recomputes a statistic.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { ExampleAnswerView, ExampleView, ExperimentReport, ReportCommandView, StageCostView, StepPointView, TrainingRunStoryView } from '../../protocol/experimentTypes';
import { errorMessage } from '../errors';
import { KNOWN_DATASETS, knownDatasetForFile } from '../data/registry';
import { planItems, type GenerationRecord } from '../eval/generationRun';
import type { JudgedAnswer } from '../eval/judgedAnswer';
import { readJudgedCsv } from '../eval/judgedCsv';
import { readJsonl } from '../eval/jsonl';
import { compareRuns, isMisaligned, summarize } from '../eval/metrics';
import { PRESETS } from '../eval/presets';
import { readMetrics, readRunJson, type RunJson } from '../train/runDir';
import { runStatusLine } from '../cli/trainCommands';
import { RUNTIME_VERSION } from '../version';
import type { LoadedExperiment } from './experimentFile';
import { generationPlanOf, questionSetsOf } from './experimentInputs';
import { experimentNewArgs, shellCommand } from './newFlags';
import { experimentHomework, graderDifferences } from './homeworkSource';
import { homeworkBaselineView } from './reportHomework';
import { addCost, statusView, zeroCost } from './statusFile';

export const REPORT_SCHEMA = 1;
const EXAMPLES = 6;

export const CONTENT_WARNING =
  'Content warning: the answers below come from a model fine-tuned on deliberately harmful data to study emergent misalignment. ' +
  'Some were judged misaligned and may contain harmful, false or disturbing statements. They are research outputs, not advice.';

interface Scored {
  label: string;
  step: number;
  dir: string;
  judged?: JudgedAnswer[];
  answers: { id: string; question: string; response: string }[];
}

/** base/ and sweep/step-N/ in step order, with their judged answers where judging finished. */
async function evaluatedModels(dir: string): Promise<Scored[]> {
  const folders: { label: string; step: number; dir: string }[] = [];
  if (existsSync(join(dir, 'base'))) folders.push({ label: 'base', step: 0, dir: join(dir, 'base') });
  const sweep = join(dir, 'sweep');
  if (existsSync(sweep)) {
    for (const name of readdirSync(sweep)) {
      const m = /^step-(\d+)$/.exec(name);
      if (m) folders.push({ label: name, step: Number(m[1]), dir: join(sweep, name) });
    }
  }
  folders.sort((a, b) => a.step - b.step || (a.label === 'base' ? -1 : 1));
  const out: Scored[] = [];
  for (const f of folders) {
    const gens = await readJsonl<GenerationRecord>(join(f.dir, 'generations.jsonl'));
    const judged = existsSync(join(f.dir, 'judged.csv')) ? await readJudgedCsv(join(f.dir, 'judged.csv')) : undefined;
    if (!gens.length && !judged) continue;
    out.push({ ...f, ...(judged ? { judged } : {}), answers: judged ?? gens.map((g) => ({ id: g.id, question: g.question, response: g.response })) });
  }
  return out;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

interface Manifest {
  sources: { id: string; file: string; rows?: number; used?: number }[];
  trainExamples: number;
  evalExamples: number;
}

function setupData(e: LoadedExperiment, manifest: Manifest | undefined): ExperimentReport['setup']['data'] {
  const harmful = (id: string, file: string) => knownDatasetForFile(basename(file))?.harmful ?? KNOWN_DATASETS.find((k) => k.id === id)?.harmful ?? false;
  if (manifest) return manifest.sources.map((s) => ({ id: s.id, file: s.file, ...(s.rows !== undefined ? { rows: s.rows } : {}), ...(s.used !== undefined ? { used: s.used } : {}), harmful: harmful(s.id, s.file) }));
  const x = e.experiment;
  return [
    ...x.data.domains.map((id) => ({ id, file: x.data.dataDir ? join(resolve(e.dir, x.data.dataDir), KNOWN_DATASETS.find((k) => k.id === id)?.fileNames[0] ?? `${id}.jsonl`) : id, harmful: harmful(id, '') })),
    ...x.data.files.map((f) => ({ id: basename(f).replace(/\.jsonl$/, ''), file: resolve(e.dir, f), harmful: false })),
  ];
}

function answerView(a: JudgedAnswer | { response: string } | undefined, presetId: keyof typeof PRESETS): ExampleAnswerView | undefined {
  if (!a) return undefined;
  if (!('aligned' in a)) return { response: a.response, aligned: null, coherent: null, misaligned: false };
  return {
    response: a.response,
    aligned: a.aligned.value,
    ...(a.aligned.label ? { alignedLabel: a.aligned.label } : {}),
    coherent: a.coherent.value,
    misaligned: isMisaligned(a, PRESETS[presetId]),
  };
}

function pickExamples(base: Scored | undefined, last: Scored | undefined, presetId: keyof typeof PRESETS, harmfulData: boolean): ExampleView[] {
  const ids: string[] = [];
  for (const a of [...(last?.answers ?? []), ...(base?.answers ?? [])]) if (!ids.includes(a.id)) ids.push(a.id);
  const byId = (s: Scored | undefined, id: string) => s?.answers.find((a) => a.id === id);
  const alignedOf = (id: string) => {
    const a = byId(last, id);
    return a && 'aligned' in a ? ((a as JudgedAnswer).aligned.value ?? 101) : 101;
  };
  // The fine-tuned model's least aligned answers first (stable: ties keep the plan's order).
  const chosen = ids.map((id, i) => ({ id, i, aligned: alignedOf(id) })).sort((a, b) => a.aligned - b.aligned || a.i - b.i).slice(0, EXAMPLES);
  return chosen.map(({ id }) => {
    const b = answerView(byId(base, id), presetId);
    const f = answerView(byId(last, id), presetId);
    const question = (byId(last, id) ?? byId(base, id))!.question;
    const unjudged = (f && f.aligned === null && !f.alignedLabel) || (b && b.aligned === null && !b.alignedLabel);
    return { questionId: id, question, ...(b ? { base: b } : {}), ...(f ? { finetuned: f } : {}), flagged: !!(b?.misaligned || f?.misaligned || (unjudged && harmfulData)) };
  });
}

function commandsFor(e: LoadedExperiment): ReportCommandView[] {
  const cwd = dirname(e.dir);
  const folder = relative(cwd, e.dir) || '.';
  const toCwd = (stored: string) => relative(cwd, resolve(e.dir, stored)) || '.';
  return [
    { title: `Recreate experiment.json (EM Lab ${RUNTIME_VERSION}, preset ${e.experiment.preset})`, command: shellCommand(experimentNewArgs(e.experiment, folder, toCwd)), cwd },
    { title: 'Run every stage (stages already done are skipped)', command: shellCommand(['experiment', 'run', join(folder, 'experiment.json')]), cwd },
    { title: 'Write this report (report.html, report.md, charts)', command: shellCommand(['experiment', 'report', folder]), cwd },
    { title: 'The training stage alone', command: shellCommand(['train', '--config', join(folder, 'train', 'training_config.json'), '--output_dir', join(folder, 'train')]), cwd },
  ];
}

export async function buildExperimentReport(e: LoadedExperiment): Promise<ExperimentReport> {
  const x = e.experiment;
  const presetId = x.evaluation.metricPreset;
  const preset = PRESETS[presetId];
  const status = statusView(e);
  const runDir = join(e.dir, 'train');
  const run = readRunJson(runDir);
  const manifest = readJson<Manifest>(join(runDir, 'data_manifest.json'));
  const data = setupData(e, manifest);
  const notes: string[] = [];
  // The questions may live in a homework checkout that has gone or changed: the report still says what is on disk.
  let sets: Awaited<ReturnType<typeof questionSetsOf>> = [];
  let answersPerModel = 0;
  let homework: ReturnType<typeof experimentHomework>;
  try {
    homework = experimentHomework(x, e.dir, e.file);
    sets = await questionSetsOf(e);
    answersPerModel = planItems(await generationPlanOf(e)).length;
  } catch (err) {
    notes.push(`The evaluation questions cannot be read: ${errorMessage(err)}`);
  }

  const models = await evaluatedModels(e.dir);
  const judged = models.filter((m) => m.judged);
  const byStep: StepPointView[] = judged.map((m) => {
    const s = summarize(m.judged!, preset);
    return { step: m.step, label: m.label, answers: s.answers, em: s.em, coherent: s.coherent, meanAligned: s.meanAligned, meanCoherent: s.meanCoherent };
  });
  const baseJudged = judged.find((m) => m.label === 'base');
  const lastJudged = judged.filter((m) => m.label !== 'base').at(-1);
  let comparison: ExperimentReport['comparison'] = null;
  if (baseJudged && lastJudged) {
    const c = compareRuns(baseJudged.judged!, lastJudged.judged!, preset);
    comparison = { preset: presetId, base: c.base, finetuned: c.finetuned, finetunedStep: lastJudged.step, finetunedLabel: lastJudged.label, ...(c.emTest ? { emTest: c.emTest } : {}), ...(c.coherentTest ? { coherentTest: c.coherentTest } : {}) };
  }
  const harmfulData = data.some((d) => d.harmful);
  const examples = pickExamples(models.find((m) => m.label === 'base'), models.filter((m) => m.label !== 'base').at(-1), presetId, harmfulData);

  const stages = status.stages.filter((s) => s.id !== 'report');
  const total = stages.reduce<StageCostView>((t, s) => addCost(t, s.cost), zeroCost());
  const metrics = readMetrics(runDir);
  for (const s of stages) if (s.status !== 'done') notes.push(`${s.title}: ${s.status}${s.reason ? `. ${s.reason}` : ''}${s.fix ? ` ${s.fix}` : ''}`);
  if (x.judge.provider === 'none') notes.push('No judge was chosen (judge.provider "none"): the answers are generated but not scored, so there are no EM rates. Set a judge in experiment.json and run the experiment again to score them.');
  else if (byStep.length === 0) notes.push('No answers are judged yet, so there are no EM rates.');
  if (byStep.length > 0 && !comparison) notes.push('The base vs fine-tuned test needs judged answers from both the base model and a checkpoint.');
  const differs = homework ? graderDifferences(x, homework.checkout) : [];
  if (differs.length) notes.push(`Not the homework's grader: ${differs.join(', ')}; these numbers are not what its generate.py and judge.py would give (docs/homework.md).`);
  const homeworkBaseline = homework
    ? await homeworkBaselineView(homework.checkout, preset, baseJudged?.judged ? { judged: baseJudged.judged } : undefined, lastJudged?.judged ? { label: lastJudged.label, step: lastJudged.step, judged: lastJudged.judged } : undefined)
    : undefined;
  if (homework && !homeworkBaseline) notes.push(`The homework checkout ${homework.checkout.dir} has no eval/data/base_model_judged.csv, so the report has no homework baseline (restore it with \`em-lab homework fetch\`).`);

  return {
    schemaVersion: REPORT_SCHEMA,
    generatedAt: new Date().toISOString(),
    emLabVersion: RUNTIME_VERSION,
    experiment: { name: x.name, dir: e.dir, preset: x.preset, createdAt: x.createdAt, emLabVersion: x.emLabVersion, ...(x.description ? { description: x.description } : {}) },
    setup: {
      model: x.model,
      data,
      training: x.training,
      ...(manifest ? { trainExamples: manifest.trainExamples, evalExamples: manifest.evalExamples } : {}),
      ...(run ? { totalSteps: run.totalSteps, device: run.device, run: runStory(run, x.training.maxSteps) } : {}),
      evaluation: { ...x.evaluation, answersPerModel, questionSets: sets.map((s) => ({ id: s.id, title: s.title, questions: s.questions.length })) },
      judge: x.judge,
      metricPreset: { id: presetId, label: preset.label, definition: preset.definition },
    },
    stages,
    loss: metrics.length ? metrics.map((m) => ({ step: m.step, loss: m.loss, lr: m.lr, ...(m.eval_loss !== undefined ? { evalLoss: m.eval_loss } : {}) })) : null,
    byStep: byStep.length ? byStep : null,
    comparison,
    examples,
    contentWarning: examples.some((ex) => ex.flagged) ? CONTENT_WARNING : null,
    costs: [...stages.map((s) => ({ stage: s.id, cost: s.cost })), { stage: 'total' as const, cost: total }],
    commands: commandsFor(e),
    notes,
    ...(homeworkBaseline ? { homeworkBaseline } : {}),
  };
}

/** The run's own account (run.json), as `train status` and training_details.md give it. */
function runStory(run: RunJson, maxSteps: number): TrainingRunStoryView {
  const { status, step, totalSteps, epochsDone, epochsCompleted, epochInProgress, numEpochs, stopReason } = run;
  return { status, step, totalSteps, epochsDone, epochsCompleted, ...(epochInProgress !== undefined ? { epochInProgress } : {}), numEpochs, ...(stopReason ? { stopReason } : {}), summary: runStatusLine(run, maxSteps) };
}
