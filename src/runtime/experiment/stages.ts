// The experiment's stages, each a thin sequence of calls to the services the single-purpose commands use
// (generate-eval's runGeneration, judge's judgeAnswers, train's runTraining, sweep's runSweep), writing the files those
// commands write. A stage returns what happened; what cannot run is thrown as StageBlocked (or a UserError the
// runner classifies), so the runner records why and what to do and goes on with the next stage.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageCostView, StageFixAction } from '../../protocol/experimentTypes';
import { UserError, errorMessage } from '../errors';
import { runGeneration } from '../eval/generationRun';
import type { JudgeSettings } from '../eval/judge/judgeRun';
import { judgeAnswers } from '../eval/judge/judgeAnswers';
import { createOpenAIClient } from '../eval/endpoint/openaiEndpoint';
import { listCheckpoints as listSweepCheckpoints, runSweep, type SweepCheckpoint } from '../eval/sweep';
import { planSteps } from '../train/batching';
import { resolveModelDir } from '../model/hub';
import { loadModelForTraining } from '../train/trainModel';
import { loadTrainData } from '../train/trainData';
import { checkpointSteps, runTraining } from '../train/runTrainer';
import { readMetrics, readRunJson } from '../train/runDir';
import { modelOf, trainConfigOf, type LoadedExperiment } from './experimentFile';
import { generationPlanOf, judgeSettingsOf } from './experimentInputs';
import { generatesOnServer, stageGenerators } from './stageGenerator';

export interface StageContext {
  e: LoadedExperiment;
  storageDir: string;
  /** Judge cache folder; undefined = no cache. */
  cacheDir?: string;
  /** Keys included (the CLI adds .env; the extension passes SecretStorage keys by environment). */
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  threads?: number;
  progress(message: string, fraction?: number): void;
  log(message: string): void;
}

export interface StageOutcome {
  status: 'done' | 'blocked' | 'failed' | 'cancelled';
  detail?: string;
  reason?: string;
  fix?: string;
  fixAction?: StageFixAction;
  outputs: string[];
  /** This run's share (seconds are added by the runner). */
  cost: Partial<StageCostView>;
}

/** A stage that cannot run until something outside EM Lab changes. */
export class StageBlocked extends Error {
  constructor(
    message: string,
    readonly fixAction: StageFixAction,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'StageBlocked';
  }
}

function experimentCommand(c: StageContext): string {
  return `em-lab experiment run ${c.e.file}`;
}

/** The wording of each fix, for the terminal (a view shows its own button for the fixAction). */
export function fixText(action: StageFixAction, c: StageContext): string {
  const again = `then run \`${experimentCommand(c)}\` again`;
  switch (action) {
    case 'set-judge-key':
      return `Set OPENAI_API_KEY in the environment or in .env (in VS Code: "EM Lab: Set OpenAI API Key"), ${again}; the answers already generated are kept. Or set judge.provider to "none" in experiment.json.`;
    case 'pull-model':
      return `Download the model with \`em-lab model pull ${c.e.experiment.model}\` (gated models need HF_TOKEN), or set "model" in experiment.json to tiny-llama or a local model folder; ${again}.`;
    case 'get-training-data':
      return `Decrypt the datasets with \`em-lab data unprotect training_data/training_datasets.zip.enc\` (in VS Code: "EM Lab: Get Training Data"), or point data.dataDir in experiment.json at the decrypted folder; ${again}.`;
    case 'finish-training':
      return `The sweep evaluates the training run's checkpoints: fix what the train stage reports, ${again}.`;
    case 'check-network':
      return `Check the network connection (or the judge URL in experiment.json), ${again}; nothing done so far is lost.`;
    case 'edit-experiment':
      return `Fix experiment.json (the message names the field), ${again}.`;
    case 'run-again':
      return `Run \`${experimentCommand(c)}\` again: it continues where it stopped.`;
  }
}

/** UserError codes that mean "cannot run yet" rather than "went wrong", and the fix for each. */
const BLOCKING_CODES: Record<string, StageFixAction> = {
  'missing-api-key': 'set-judge-key',
  'hub-offline': 'check-network',
  'hub-gated': 'pull-model',
  'model-not-downloaded': 'pull-model',
  'train-domain-missing': 'get-training-data',
};

export function classifyError(err: unknown, c: StageContext): StageOutcome {
  if (err instanceof StageBlocked) return { status: 'blocked', reason: err.message, fix: err.fix, fixAction: err.fixAction, outputs: [], cost: {} };
  const code = err instanceof UserError ? err.code : undefined;
  const blocking = code ? BLOCKING_CODES[code] : undefined;
  if (blocking) return { status: 'blocked', reason: errorMessage(err), fix: fixText(blocking, c), fixAction: blocking, outputs: [], cost: {} };
  // A wrong value, or a homework checkout that is gone or changed: rerunning alone will not help.
  const action: StageFixAction = code === 'experiment-invalid' || code === 'train-config' || code === 'model-not-found' || code === 'hub-not-found' || code?.startsWith('homework-') ? 'edit-experiment' : 'run-again';
  return { status: 'failed', reason: errorMessage(err), fix: fixText(action, c), fixAction: action, outputs: [], cost: {} };
}

/** The judge to use, or why there is none: provider none, or no key (checked without a request). */
async function judgeFor(c: StageContext): Promise<{ settings?: JudgeSettings & { cacheDir?: string; env: NodeJS.ProcessEnv; batch?: boolean }; blocked?: StageBlocked }> {
  const settings = await judgeSettingsOf(c.e);
  if (!settings) return {};
  try {
    createOpenAIClient(settings.endpoint, c.env);
  } catch (err) {
    if (err instanceof UserError && err.code === 'missing-api-key') return { blocked: new StageBlocked(err.message, 'set-judge-key', fixText('set-judge-key', c)) };
    throw err;
  }
  return { settings: { ...settings, ...(c.cacheDir ? { cacheDir: c.cacheDir } : {}), env: c.env } };
}

/** Judgements held by judge batches that are still running (judge.batch): the next run collects them. */
function waitingForBatches(pending: number, batches: string[], c: StageContext): Pick<StageOutcome, 'status' | 'reason' | 'fix' | 'fixAction'> {
  return {
    status: 'blocked',
    reason: `${pending} judgements wait for ${batches.length} running judge batch${batches.length === 1 ? '' : 'es'} (${batches.join(', ')}); the endpoint finishes a batch within 24 h.`,
    fix: `Run \`${experimentCommand(c)}\` again later: it collects the batches that ended (and judges live what they left), then goes on.`,
    fixAction: 'run-again',
  };
}

/** Requests were made and every one failed before an answer came: the endpoint is unreachable, not wrong. */
function unreachable(reason: string, c: StageContext): StageOutcome {
  return { status: 'blocked', reason: `The judge could not be reached: ${reason}`, fix: fixText('check-network', c), fixAction: 'check-network', outputs: [], cost: {} };
}

async function ensureModel(c: StageContext): Promise<void> {
  const model = modelOf(c.e);
  c.progress(`loading ${c.e.experiment.model}`);
  await resolveModelDir(model, { storageDir: c.storageDir, env: c.env, download: true, signal: c.signal, onProgress: (file, done, total) => c.progress(`downloading ${model}: ${file}`, total > 0 ? done / total : undefined) });
}

export async function runBaseStage(c: StageContext): Promise<StageOutcome> {
  const outDir = join(c.e.dir, 'base');
  mkdirSync(outDir, { recursive: true });
  if (!generatesOnServer(c.e)) await ensureModel(c);
  const plan = await generationPlanOf(c.e);
  const judge = await judgeFor(c);
  const share = judge.settings ? 0.5 : 1;
  const generator = stageGenerators(c.e, c.storageDir, c.env, c.log)();
  const gen = await runGeneration({ plan, generator, outDir, signal: c.signal, onProgress: (d, t) => c.progress(`generating ${d}/${t}`, t ? (share * d) / t : share) });
  const outputs = ['base/generations.jsonl', 'base/model_generations.csv'];
  const cost: Partial<StageCostView> = { answersGenerated: gen.generated };
  if (gen.failed.length) return { status: 'failed', reason: `${gen.failed.length} of ${gen.failed.length + gen.records.length} answers failed (first: ${gen.failed[0]!.id}: ${gen.failed[0]!.error}).`, fix: fixText('run-again', c), fixAction: 'run-again', outputs, cost };
  const generated = `${gen.records.length} answers generated`;
  if (judge.blocked) return { status: 'blocked', detail: `${generated}; not judged`, reason: judge.blocked.message, fix: judge.blocked.fix, fixAction: judge.blocked.fixAction, outputs, cost };
  if (!judge.settings) return { status: 'done', detail: `${generated}; not judged (judge: none)`, outputs, cost };
  const { batch, ...settings } = judge.settings;
  // judgeAnswers first collects batches this folder submitted earlier (judge.batch), so a rerun picks them up.
  const j = await judgeAnswers({
    ...settings,
    ...(batch ? { batch: 'submit' as const } : {}),
    answers: gen.records.map((a) => ({ id: a.id, question: a.question, response: a.response, extra: { step: '0', checkpoint: 'base' } })),
    outDir,
    signal: c.signal,
    onProgress: (d, t) => c.progress(`judging ${d}/${t}`, 0.5 + (t ? (0.5 * d) / t : 0.5)),
  });
  const r = j.result;
  Object.assign(cost, { judgeRequests: r.requested, promptTokens: r.usage.promptTokens, completionTokens: r.usage.completionTokens, usd: r.costUsd });
  outputs.push('base/judgements.jsonl', 'base/judged.csv', 'base/summary.json');
  if (r.failed.length) {
    const first = `${r.failed[0]!.answerId} ${r.failed[0]!.metric}: ${r.failed[0]!.error}`;
    if (r.requested === 0) return { ...unreachable(first, c), detail: `${generated}; not judged`, outputs, cost };
    return { status: 'failed', detail: `${generated}; ${r.tasks - r.failed.length} of ${r.tasks} judgements`, reason: `${r.failed.length} judgements failed (first: ${first}).`, fix: fixText('run-again', c), fixAction: 'run-again', outputs, cost };
  }
  if (!j.complete) return { ...waitingForBatches(r.pending, j.running.map((b) => b.id ?? `#${b.seq}`), c), detail: `${generated}; judging in batches`, outputs, cost };
  const fromBatch = j.collected.length ? `, ${j.collected.length} judge batch${j.collected.length === 1 ? '' : 'es'} collected` : '';
  return { status: 'done', detail: `${generated}, ${r.judged.length} judged by ${judge.settings.model} (${r.fromCache} judgements from the cache${fromBatch})`, outputs, cost };
}

export async function runTrainStage(c: StageContext): Promise<StageOutcome> {
  const runDir = join(c.e.dir, 'train');
  const outputs = ['train/run.json', 'train/metrics.jsonl', 'train/checkpoints', 'train/adapter', 'train/training_details.md'];
  const summary = () => {
    const metrics = readMetrics(runDir);
    const run = readRunJson(runDir);
    const first = metrics[0]?.loss;
    const last = metrics.at(-1)?.loss;
    return {
      detail: `${run?.step ?? 0}/${run?.totalSteps ?? '?'} steps${first !== undefined && last !== undefined ? `, loss ${first.toFixed(3)} -> ${last.toFixed(3)}` : ''}, ${run?.checkpoints.length ?? 0} checkpoints`,
      cost: { trainSteps: run?.step ?? 0, trainTokens: metrics.reduce((s, m) => s + m.tokens, 0) },
    };
  };
  if (readRunJson(runDir)?.status === 'finished') return { status: 'done', ...summary(), outputs };
  const config = trainConfigOf(c.e);
  c.progress(`loading ${c.e.experiment.model} and the data`);
  const model = await loadModelForTraining(config.model, c.storageDir, c.e.dir);
  const data = await loadTrainData(config, model.tokenizer!, c.e.dir);
  c.log(`training on ${data.train.length} examples (${data.eval.length} held out) -> ${runDir}`);
  const result = await runTraining(config, {
    runDir,
    storageDir: c.storageDir,
    model,
    data,
    resume: true, // a fresh folder starts; one with checkpoints continues from the newest (the config must match)
    signal: c.signal,
    ...(c.threads ? { threads: c.threads } : {}),
    onEvent: (ev) => {
      if (ev.type === 'step') c.progress(`step ${ev.step}/${ev.totalSteps}, loss ${ev.loss.toFixed(3)}`, ev.step / ev.totalSteps);
      else if (ev.type === 'log') c.log(ev.message);
      else if (ev.type === 'checkpoint') c.log(`checkpoint step ${ev.step}`);
    },
  });
  const s = summary();
  if (result.status === 'finished') return { status: 'done', ...s, outputs };
  return { status: 'cancelled', detail: s.detail, reason: `Training stopped at step ${result.step} (a checkpoint was written).`, fix: fixText('run-again', c), fixAction: 'run-again', outputs, cost: s.cost };
}

/**
 * The checkpoints the training schedule writes (save_steps, epoch ends, first-epoch ones, the last step), without
 * those a pause or Ctrl-C added: an interrupted and resumed experiment evaluates the same models as one that ran
 * straight through. The schedule needs only the example count (data_manifest.json), not the data.
 */
function scheduledOnly(found: SweepCheckpoint[], c: StageContext, totalSteps: number): SweepCheckpoint[] {
  const manifest = readJsonFile<{ trainExamples?: number }>(join(c.e.dir, 'train', 'data_manifest.json'));
  if (!manifest?.trainExamples) return found;
  const config = trainConfigOf(c.e);
  const plan = planSteps(new Array<number>(manifest.trainExamples).fill(1), { epochs: config.numEpochs, batchSize: config.batchSize, accumulation: config.gradientAccumulationSteps, seed: config.seed, shuffle: config.shuffle });
  const scheduled = checkpointSteps(plan, config, totalSteps);
  return found.filter((cp) => scheduled.has(cp.step));
}

function readJsonFile<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function runSweepStage(c: StageContext): Promise<StageOutcome> {
  const runDir = join(c.e.dir, 'train');
  const run = readRunJson(runDir);
  if (run?.status !== 'finished') {
    const state = run ? `is ${run.status} at step ${run.step}/${run.totalSteps}` : 'has not started';
    throw new StageBlocked(`The training run (${runDir}) ${state}; the sweep needs its checkpoints.`, 'finish-training', fixText('finish-training', c));
  }
  let checkpoints = scheduledOnly(await listSweepCheckpoints(runDir), c, run.totalSteps);
  if (c.e.experiment.evaluation.checkpoints === 'final') checkpoints = checkpoints.slice(-1);
  if (!generatesOnServer(c.e)) await ensureModel(c);
  const plan = await generationPlanOf(c.e);
  const judge = await judgeFor(c);
  const outDir = join(c.e.dir, 'sweep');
  mkdirSync(outDir, { recursive: true });
  const generatorOf = stageGenerators(c.e, c.storageDir, c.env, c.log);
  const r = await runSweep({
    checkpoints,
    plan,
    outDir,
    ...(judge.settings ? { judge: judge.settings } : {}),
    signal: c.signal,
    // runSweep gives each checkpoint half its span for generating and half for judging; without a judge, generating is all of it
    onProgress: (m, f) => {
      const n = checkpoints.length;
      const k = Math.min(n - 1, Math.floor(f * n));
      c.progress(m, judge.settings || f >= 1 ? f : (k + Math.min(1, (f * n - k) * 2)) / n);
    },
    generatorFor: (cp) => generatorOf(cp),
  });
  const answers = Object.values(r.generated).reduce((a, b) => a + b, 0);
  const cost: Partial<StageCostView> = { answersGenerated: r.newAnswers, judgeRequests: r.usage.requested, promptTokens: r.usage.promptTokens, completionTokens: r.usage.completionTokens, usd: r.usage.costUsd };
  const outputs = checkpoints.map((cp) => `sweep/step-${cp.step}`);
  const generated = `${checkpoints.length} checkpoints (steps ${checkpoints.map((cp) => cp.step).join(', ')}), ${answers} answers`;
  if (r.failed) {
    if (judge.settings && r.usage.requested === 0) return { ...unreachable(r.firstError ?? 'no reply', c), detail: `${generated}; not judged`, outputs, cost };
    return { status: 'failed', detail: generated, reason: `${r.failed} answers or judgements failed (first: ${r.firstError}).`, fix: fixText('run-again', c), fixAction: 'run-again', outputs, cost };
  }
  if (judge.blocked) return { status: 'blocked', detail: `${generated}; not judged`, reason: judge.blocked.message, fix: judge.blocked.fix, fixAction: judge.blocked.fixAction, outputs, cost };
  if (!judge.settings) return { status: 'done', detail: `${generated}; not judged (judge: none)`, outputs, cost };
  if (r.waiting.length) {
    const pending = r.waiting.reduce((n, w) => n + w.pending, 0);
    return { ...waitingForBatches(pending, r.waiting.flatMap((w) => w.batches), c), detail: `${generated}; judging in batches (${r.waiting.map((w) => w.label).join(', ')})`, outputs, cost };
  }
  outputs.push('sweep/sweep_judged.csv', 'sweep/sweep_summary.csv', 'sweep/summary.json');
  return { status: 'done', detail: `${generated}, ${r.judged.length} judged`, outputs, cost };
}
