// One training run, start to finish, writing the run directory as it goes (runDir.ts). Used by `em-lab train`
// and by the detached training process the extension starts. Resume recomputes the deterministic step plan
// from the saved config and continues from the newest complete checkpoint, so a run killed at any point and
// resumed ends with exactly the adapter of an uninterrupted run.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, freemem } from 'node:os';
import { join, relative } from 'node:path';
import { errorMessage, UserError } from '../errors';
import { sweepStaleTemps, writeJsonAtomic } from '../atomicFiles';
import { readJsonFile } from '../jsonFile';
import { toUserError } from '../osErrors';
import { lockRunDir } from './runLock';
import type { LlamaConfig } from '../model/llamaConfig';
import type { LlamaWeights } from '../model/llamaGraph';
import type { ModelTokenizer } from '../model/tokenizer';
import { lrAt, warmupSteps } from './schedule';
import { checkSupervision, makeRng, packStep, planSteps, type StepPlan, type TokenizedExample } from './batching';
import { initLoraValues, loraParams, validateLoraSpec, type LoraParam, type LoraSpec } from './loraSpec';
import { configDifferences, resolvePrecision, validateTrainConfig, type TrainConfig } from './trainConfig';
import { readAdapterValues, readCheckpoint, writeAdapter, writeCheckpoint, TRAINER_STATE_SCHEMA } from './adapterIO';
import { ensureArtifacts } from './artifacts';
import { check4bitShapes } from './q4Weights';
import { loadFrozenFeeds } from './frozenWeights';
import { stepDropoutSeed } from './loraDropout';
import { freshState, TrainSession, type LoraState } from './trainSession';
import { appendMetrics, checkpointsDir, listCheckpoints, readMetrics, readRunJson, truncateMetrics, writeRunJson, RUN_SCHEMA, type MetricsLine, type RunJson } from './runDir';
import { estimateMemory, formatBytes } from './memory';
import { trainingDetailsMarkdown } from './details';
import { epochFields } from './epochs';
import type { TrainData } from './trainData';

export interface LoadedModel {
  /** What adapter_config.json records as base_model_name_or_path. */
  name: string;
  cfg: LlamaConfig;
  weights: LlamaWeights;
  weightsId: string;
  tokenizer?: ModelTokenizer;
}

export type TrainEvent =
  | ({ type: 'step'; totalSteps: number; etaSeconds: number } & MetricsLine)
  | { type: 'eval'; step: number; evalLoss: number }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'status'; status: RunJson['status']; reason?: string }
  | { type: 'log'; message: string };

export interface RunOptions {
  runDir: string;
  storageDir: string;
  model: LoadedModel;
  data: TrainData;
  /** Continue from the newest checkpoint in runDir (the config must match). */
  resume: boolean;
  signal?: AbortSignal;
  /** Aborting this one stops after the current step with status "paused" (a checkpoint is written). */
  pauseSignal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  threads?: number;
}

export interface RunResult {
  status: RunJson['status'];
  step: number;
  losses: number[];
  finalAdapter?: string;
}

/** Epochs done after each step index k (fractional: epoch e plus the share of its steps done), as metrics.jsonl records. */
export function epochsDoneAfter(plan: readonly StepPlan[]): number[] {
  const perEpoch = new Map<number, number>();
  for (const s of plan) perEpoch.set(s.epoch, (perEpoch.get(s.epoch) ?? 0) + 1);
  const seen = new Map<number, number>();
  return plan.map((s) => {
    const k = (seen.get(s.epoch) ?? 0) + 1;
    seen.set(s.epoch, k);
    return s.epoch + k / perEpoch.get(s.epoch)!;
  });
}

export function loraSpecOf(c: TrainConfig, cfg: LlamaConfig): LoraSpec {
  const layers = c.layersToTransform.length ? [...c.layersToTransform] : Array.from({ length: cfg.numLayers }, (_, i) => i);
  return { rank: c.loraRank, alpha: c.loraAlpha, dropout: c.loraDropout, useRslora: c.useRslora, targets: [...c.targetModules], layers };
}

/** Steps that get a checkpoint: every saveSteps, each epoch's end, K evenly spaced in epoch 1, and the last. */
export function checkpointSteps(plan: StepPlan[], c: TrainConfig, total: number): Set<number> {
  const out = new Set<number>([total]);
  plan.forEach((s, k) => {
    if (k + 1 <= total && (k + 1 === plan.length || plan[k + 1]!.epoch !== s.epoch)) out.add(k + 1);
  });
  const first = plan.filter((s) => s.epoch === 0).length;
  for (let q = 1; q <= c.firstEpochCheckpoints; q++) out.add(Math.max(1, Math.round((q * first) / c.firstEpochCheckpoints)));
  if (c.saveSteps > 0) for (let s = c.saveSteps; s <= total; s += c.saveSteps) out.add(s);
  return new Set([...out].filter((s) => s >= 1 && s <= total));
}

async function evalLoss(session: TrainSession, state: LoraState, examples: TokenizedExample[], batchSize: number, padId: number): Promise<number> {
  let nll = 0, tokens = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const idx = examples.slice(i, i + batchSize).map((_, k) => i + k);
    const r = await session.evalBatch(state.params, packStep(examples, [idx], padId));
    nll += r.nllSum;
    tokens += r.tokens;
  }
  return nll / Math.max(tokens, 1);
}

/** Checks what can be checked before anything is written, so a refused run leaves no folder behind. */
function preflight(config: TrainConfig, o: RunOptions, spec: LoraSpec): void {
  validateTrainConfig(config);
  const { cfg } = o.model;
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new UserError('train-config', `--threads must be a whole number >= 1, got ${o.threads}.`);
  validateLoraSpec(cfg, spec);
  if (config.use4bit) check4bitShapes(cfg);
  if (config.maxLength > cfg.maxPositionEmbeddings) {
    throw new UserError('train-config', `--max_length ${config.maxLength} is longer than ${o.model.name} can read (max_position_embeddings ${cfg.maxPositionEmbeddings}). Use at most ${cfg.maxPositionEmbeddings}; the homework uses 256.`);
  }
  const mem = estimateMemory(cfg, spec, config);
  if (mem.totalBytes > totalmem() * 0.9) {
    throw new UserError('train-out-of-memory', `This run needs about ${formatBytes(mem.totalBytes)} (${mem.breakdown}) but the machine has ${formatBytes(totalmem())} (${formatBytes(freemem())} free). Lower --batch_size (raise --gradient_accumulation_steps to keep the effective batch), --max_length, or use a smaller model.`);
  }
}

/** Removes what killed writers left in the run directory (temp files and folders of dead pids). */
function sweepRunDir(runDir: string, emit: (e: TrainEvent) => void): void {
  const removed = [runDir, checkpointsDir(runDir), join(runDir, 'adapter')].flatMap((d) => sweepStaleTemps(d));
  if (removed.length) emit({ type: 'log', message: `Removed ${removed.length} unfinished file(s) of an interrupted run: ${removed.map((r) => relative(runDir, r)).join(', ')}.` });
}

/** The newest checkpoint that reads back completely; damaged newer ones are removed (resume recomputes them). */
function newestReadableCheckpoint(runDir: string, params: LoraParam[], dtype: TrainConfig['dtype'], emit: (e: TrainEvent) => void): { name: string; step: number; state: LoraState } | undefined {
  for (const cp of listCheckpoints(runDir).reverse()) {
    const dir = join(checkpointsDir(runDir), cp.name);
    try {
      return { ...cp, state: readCheckpoint(dir, params, dtype).state };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      rmSync(dir, { recursive: true, force: true });
      emit({ type: 'log', message: `Warning: checkpoint ${cp.name} is damaged (${err.message}); removed it, resuming from the previous one and recomputing the steps after it.` });
    }
  }
  return undefined;
}

export async function runTraining(config: TrainConfig, o: RunOptions): Promise<RunResult> {
  const { cfg } = o.model;
  const spec = loraSpecOf(config, cfg);
  preflight(config, o, spec);
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  const { train } = o.data;
  const plan = planSteps(train.map((e) => e.ids.length), { epochs: config.numEpochs, batchSize: config.batchSize, accumulation: config.gradientAccumulationSteps, seed: config.seed, shuffle: config.shuffle });
  const totalSteps = config.maxSteps > 0 ? Math.min(config.maxSteps, plan.length) : plan.length;
  const epochAt = epochsDoneAfter(plan);
  checkSupervision(train, plan.slice(0, totalSteps));
  const schedule = { lr: config.learningRate, scheduler: config.lrScheduler, warmupSteps: warmupSteps(config.warmupSteps, totalSteps), totalSteps };
  const params = loraParams(cfg, spec);
  const padId = o.model.tokenizer?.padTokenId ?? 0;

  // ---- the run directory: new, or resumed from its newest checkpoint; one trainer at a time (runLock.ts) ----
  const created = !existsSync(o.runDir);
  mkdirSync(o.runDir, { recursive: true });
  const lock = lockRunDir(o.runDir);
  const phase: Phase = { owned: false };
  try {
    sweepRunDir(o.runDir, emit);
    return await trainLocked(config, o, { cfg, spec, params, plan, epochAt, totalSteps, schedule, padId, emit }, phase);
  } catch (caught) {
    const err = toUserError(caught, o.runDir) ?? caught;
    if (!phase.run && phase.owned && created) rmSync(o.runDir, { recursive: true, force: true }); // nothing was done yet: leave nothing
    else if (!phase.run && phase.owned) markFailed(o.runDir, err);
    throw err;
  } finally {
    lock.release();
  }
}

/** What runTraining prepared before it took the run directory. */
interface Prepared {
  cfg: LlamaConfig;
  spec: LoraSpec;
  params: LoraParam[];
  plan: StepPlan[];
  /** Fractional epochs done after each step (epochs.ts). */
  epochAt: number[];
  totalSteps: number;
  schedule: Parameters<typeof lrAt>[1];
  padId: number;
  emit: (e: TrainEvent) => void;
}

/** Set as the run advances, so a failure knows whether it may clean up or must record itself. */
interface Phase {
  /** Past the checks that refuse to touch an existing run. */
  owned: boolean;
  /** The trainer's own run.json, once written. */
  run?: RunJson;
}

async function trainLocked(config: TrainConfig, o: RunOptions, p: Prepared, phase: Phase): Promise<RunResult> {
  const { cfg, spec, params, plan, epochAt, totalSteps, schedule, padId, emit } = p;
  const { train, eval: evalSet } = o.data;
  const configPath = join(o.runDir, 'training_config.json');
  let state: LoraState;
  let previous: RunJson | undefined;
  try {
    previous = readRunJson(o.runDir);
  } catch (err) {
    if (!(err instanceof UserError) || !o.resume) throw err;
    emit({ type: 'log', message: `Warning: ${err.message.split('. ')[0]}; it is rewritten from the checkpoints.` });
  }
  const checkpoints = listCheckpoints(o.runDir);
  if (o.resume && existsSync(configPath)) {
    const saved = readJsonFile(configPath, 'train-config-invalid', 'Restore it, or start a new run with --no_resume.') as unknown as TrainConfig;
    const diff = configDifferences(saved, config);
    if (diff.length) throw new UserError('train-resume-mismatch', `${o.runDir} was started with a different configuration (${diff.join('; ')}). Resume with the original options (\`em-lab train --resume ${o.runDir}\` reads them from its training_config.json), or start a new run with --no_resume / another --output_dir.`);
  } else if ((previous && previous.pid !== process.pid) || checkpoints.length) {
    // (a run.json with our own pid was written by train/start just before it spawned this process)
    throw new UserError('train-run-exists', `${o.runDir} already holds a run (${previous?.status ?? 'checkpoints'}). Continue it with --resume, or start over with --no_resume (the old run is moved aside) or another --output_dir.`);
  }
  phase.owned = true;
  const latest = o.resume ? newestReadableCheckpoint(o.runDir, params, config.dtype, emit) : undefined;
  if (latest) {
    state = latest.state;
    truncateMetrics(o.runDir, state.step);
    emit({ type: 'log', message: `Resuming from ${latest.name} (step ${state.step} of ${totalSteps}).` });
  } else {
    const init = config.initAdapter ? readAdapterValues(config.initAdapter, params) : initLoraValues(params, makeRng(config.seed).next);
    state = freshState(config.dtype, params, init);
    truncateMetrics(o.runDir, 0);
  }
  writeJsonAtomic(configPath, config);
  writeJsonAtomic(join(o.runDir, 'data_manifest.json'), { schemaVersion: RUN_SCHEMA, sources: o.data.sources, trainExamples: train.length, evalExamples: evalSet.length, truncated: o.data.truncated, droppedNoSupervision: o.data.droppedNoSupervision, trainTokens: train.reduce((a, e) => a + e.ids.length, 0), supervisedTokens: train.reduce((a, e) => a + e.supervised.reduce((x, y) => x + y, 0), 0) });

  // ---- memory, artifacts, session ----
  const mem = estimateMemory(cfg, spec, config);
  if (mem.totalBytes > freemem()) emit({ type: 'log', message: `Warning: the estimate (${formatBytes(mem.totalBytes)}) is above free memory (${formatBytes(freemem())}); the system may swap.` });
  const half = resolvePrecision(config);
  if (half) emit({ type: 'log', message: `Mixed precision: frozen weights in ${half}, LoRA parameters, AdamW state and the loss in float32.` });
  const art = ensureArtifacts(o.storageDir, { cfg, weightsId: o.model.weightsId, lora: spec, dtype: config.dtype, optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm }, maxLength: config.maxLength, ...(config.use4bit ? { weightFormat: 'q4' as const } : {}), frozenWeights: config.device === 'cuda' ? 'initializers' : 'inputs', ...(half ? { precision: half } : {}) }, o.model.weights);
  emit({ type: 'log', message: `Training graphs ${art.cached ? 'reused from' : 'generated in'} ${art.dir}.` });
  const frozen = art.frozenInputs ? loadFrozenFeeds(art.dir) : undefined;
  const session = await TrainSession.create({ train: { path: art.train }, eval: { path: art.eval }, params, dtype: config.dtype, device: config.device, ...(o.threads ? { threads: o.threads } : {}), ...(frozen ? { frozen } : {}) });
  if (session.fallbackReason) emit({ type: 'log', message: `CUDA not used: ${session.fallbackReason} Training on CPU.` });

  const startedAt = previous?.startedAt && latest ? previous.startedAt : new Date().toISOString();
  const priorWall = latest ? previous?.wallSeconds ?? 0 : 0;
  const current: RunJson = {
    schemaVersion: RUN_SCHEMA, kind: 'train', id: o.runDir.split(/[\\/]/).pop()!, status: 'running', pid: process.pid, heartbeat: new Date().toISOString(), startedAt,
    model: o.model.name, device: session.device, ...(session.fallbackReason ? { deviceNote: session.fallbackReason } : {}),
    step: state.step, totalSteps, ...epochFields(state.step > 0 ? epochAt[state.step - 1]! : 0, config.numEpochs), checkpoints: listCheckpoints(o.runDir).map((c) => c.name), wallSeconds: priorWall,
  };
  phase.run = current;
  writeRunJson(o.runDir, current);
  emit({ type: 'status', status: 'running' });
  const saveAt = checkpointSteps(plan, config, totalSteps);
  const losses: number[] = readMetrics(o.runDir).map((m) => m.loss);
  const t0 = performance.now();
  let tokensDone = 0;
  let etaAdviceGiven = false;
  const save = (epoch: number, loss?: number) => {
    const name = `step-${state.step}`;
    writeCheckpoint(join(checkpointsDir(o.runDir), name), { model: o.model.name, spec, allLayers: config.layersToTransform.length === 0, params, state, trainer: { schemaVersion: TRAINER_STATE_SCHEMA, step: state.step, epoch, dataCursor: state.step, seed: config.seed, dtype: config.dtype, ...(loss !== undefined ? { loss } : {}) } });
    current.checkpoints = listCheckpoints(o.runDir).map((c) => c.name);
    emit({ type: 'checkpoint', step: state.step, dir: join(checkpointsDir(o.runDir), name) });
  };
  try {
    while (state.step < totalSteps) {
      if (o.signal?.aborted || o.pauseSignal?.aborted) break;
      const k = state.step;
      const stepPlan = plan[k]!;
      const tensors = packStep(train, stepPlan.microBatches, padId);
      const lr = lrAt(k, schedule);
      const ts = performance.now();
      const res = await session.step(state, tensors, lr, stepDropoutSeed(config.seed, k));
      if (!Number.isFinite(res.loss)) throw new UserError('train-diverged', `The loss became ${res.loss} at step ${state.step}. Lower --learning_rate or --max_grad_norm; the last good checkpoint is kept.`);
      tokensDone += tensors.tokens;
      const elapsed = (performance.now() - t0) / 1000;
      const line: MetricsLine = { step: state.step, epoch: epochAt[k]!, loss: res.loss, lr, grad_norm: res.gradNorm, tokens: tensors.tokens, supervised_tokens: res.supervisedTokens, tokens_per_s: tensors.tokens / ((performance.now() - ts) / 1000), elapsed_s: priorWall + elapsed };
      if (evalSet.length && (state.step % config.evalSteps === 0 || state.step === totalSteps)) {
        line.eval_loss = await evalLoss(session, state, evalSet, config.batchSize, padId);
        current.lastEvalLoss = line.eval_loss;
        emit({ type: 'eval', step: state.step, evalLoss: line.eval_loss });
      }
      appendMetrics(o.runDir, line);
      losses.push(res.loss);
      const rate = tokensDone / elapsed;
      const remainingTokens = (totalSteps - state.step) * (tokensDone / Math.max(1, state.step - (latest?.step ?? 0)));
      const eta = remainingTokens / Math.max(rate, 1e-9);
      emit({ type: 'step', ...line, totalSteps, etaSeconds: eta });
      if (!etaAdviceGiven && state.step - (latest?.step ?? 0) === 3 && session.device === 'cpu' && eta > 2 * 3600) {
        etaAdviceGiven = true; // after 3 steps the first (slow) runs no longer dominate the rate
        emit({ type: 'log', message: `At ${rate.toFixed(0)} tokens/s this run needs about ${(eta / 3600).toFixed(1)} more hours on CPU. For a quicker experiment: --sample_size 500 (fewer examples), --max_length 128, --num_epochs 1, a smaller model (tiny-llama to check the pipeline), or --device cuda on a GPU machine.` });
      }
      if (saveAt.has(state.step)) save(stepPlan.epoch, res.loss);
      Object.assign(current, { step: state.step, ...epochFields(epochAt[k]!, config.numEpochs), lastLoss: res.loss, tokensPerSecond: rate, etaSeconds: eta, heartbeat: new Date().toISOString(), wallSeconds: priorWall + elapsed });
      writeRunJson(o.runDir, current);
    }
    const paused = state.step < totalSteps;
    if (paused && !listCheckpoints(o.runDir).some((c) => c.step === state.step) && state.step > 0) save(plan[state.step - 1]!.epoch);
    current.status = paused ? (o.pauseSignal?.aborted ? 'paused' : 'cancelled') : 'finished';
    current.stopReason = paused ? (current.status as 'paused' | 'cancelled') : totalSteps < plan.length ? 'max-steps' : 'epochs';
    if (!paused) {
      current.finalAdapter = join(checkpointsDir(o.runDir), `step-${state.step}`);
      writeAdapter(join(o.runDir, 'adapter'), o.model.name, spec, config.layersToTransform.length === 0, params, state.params);
    }
    current.finishedAt = new Date().toISOString();
    current.wallSeconds = priorWall + (performance.now() - t0) / 1000;
    writeRunJson(o.runDir, current);
    writeFileSync(join(o.runDir, 'training_details.md'), trainingDetailsMarkdown(config, current, o.data, { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMem: totalmem() }, losses, { plannedSteps: plan.length, examplesSeen: plan.slice(0, state.step).reduce((n, p) => n + p.microBatches.reduce((m, b) => m + b.length, 0), 0) }));
    emit({ type: 'status', status: current.status });
    return { status: current.status, step: state.step, losses, ...(current.finalAdapter ? { finalAdapter: current.finalAdapter } : {}) };
  } catch (caught) {
    const err = toUserError(caught, o.runDir) ?? caught;
    current.status = 'failed';
    current.stopReason = 'failed';
    current.reason = err instanceof Error ? err.message : String(err);
    current.heartbeat = new Date().toISOString();
    try {
      writeRunJson(o.runDir, current);
    } catch (writeErr) {
      emit({ type: 'log', message: `Could not record the failure in run.json: ${errorMessage(toUserError(writeErr, o.runDir) ?? writeErr)}` });
    }
    emit({ type: 'status', status: 'failed', reason: current.reason });
    throw err;
  } finally {
    await session.release();
  }
}

/** A failure before the trainer wrote its own run.json: record it in the one train/start wrote, if any. */
function markFailed(runDir: string, err: unknown): void {
  try {
    const prev = readRunJson(runDir);
    if (prev) writeRunJson(runDir, { ...prev, status: 'failed', reason: errorMessage(err), pid: process.pid, heartbeat: new Date().toISOString() });
  } catch {
    // the original error matters more than its bookkeeping
  }
}
