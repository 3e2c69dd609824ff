// `em-lab experiment run`: the stages in order (base -> train -> sweep -> report), each skipped when status.json says
// it is done with the same inputs, each recorded there as it goes (status, progress, timings, costs), a blocked or
// failed stage recorded with why and what to do while the others still run. One runner per experiment folder.
import { createHash } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExperimentStageId, ExperimentStatusView, StageView } from '../../protocol/experimentTypes';
import { EXPERIMENT_STAGES } from '../../protocol/experimentTypes';
import { CancelledError, UserError } from '../errors';
import { readExperiment, type LoadedExperiment } from './experimentFile';
import { stageInputs } from './experimentInputs';
import { addCost, HEARTBEAT_MS, isThisProcess, readStatus, runnerEntry, runnerStillBeating, statusView, thisHost, writeStatus, zeroCost, type StageRecord, type StatusJson } from './statusFile';
import { classifyError, fixText, runBaseStage, runSweepStage, runTrainStage, type StageContext, type StageOutcome } from './stages';
import { writeReport } from './reportFiles';

export type RunnerEvent =
  | { type: 'stage'; stage: StageView }
  | { type: 'progress'; stage: ExperimentStageId; message: string; fraction?: number }
  | { type: 'log'; stage: ExperimentStageId; message: string };

export interface RunExperimentOptions {
  /** The experiment folder or its experiment.json. */
  path: string;
  cwd?: string;
  storageDir: string;
  cacheDir?: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  threads?: number;
  only?: ExperimentStageId[];
  redo?: ExperimentStageId[];
  /** How long to watch another host's runner heartbeat before taking over (default RUNNER_WATCH_MS). */
  watchOtherRunnerMs?: number;
  onEvent?(e: RunnerEvent): void;
}

/** The stage folder a changed input makes stale (moved aside, never deleted), and the input key that decides it. */
const STALE_BY: Partial<Record<ExperimentStageId, string>> = { base: 'generation', train: 'training', sweep: 'generation' };

async function reportStage(c: StageContext): Promise<StageOutcome> {
  c.progress('computing the report');
  const files = await writeReport(c.e);
  return { status: 'done', detail: `${files.length} files`, outputs: files.map((f) => relative(c.e.dir, f)), cost: {} };
}

const STAGE_FNS: Record<ExperimentStageId, (c: StageContext) => Promise<StageOutcome>> = {
  base: runBaseStage,
  train: runTrainStage,
  sweep: runSweepStage,
  report: reportStage,
};

/** The report is stale when any other stage changed after it (or the metric preset did). */
function reportInputs(s: StatusJson, e: LoadedExperiment): Record<string, string> {
  const upstream = EXPERIMENT_STAGES.filter((id) => id !== 'report').map((id) => [id, s.stages[id]?.status, s.stages[id]?.finishedAt]);
  return { upstream: createHash('sha256').update(JSON.stringify({ upstream, metric: e.experiment.evaluation.metricPreset })).digest('hex').slice(0, 16) };
}

const sameInputs = (a: Record<string, string> | undefined, b: Record<string, string>): boolean => !!a && Object.keys(b).every((k) => a[k] === b[k]);

export function checkStageIds(ids: readonly string[] | undefined, flag: string): ExperimentStageId[] | undefined {
  if (!ids) return undefined;
  for (const id of ids) if (!EXPERIMENT_STAGES.includes(id as ExperimentStageId)) throw new UserError('experiment-bad-stage', `${flag} ${id}: no such stage. Stages: ${EXPERIMENT_STAGES.join(', ')}.`);
  return ids as ExperimentStageId[];
}

export async function runExperiment(o: RunExperimentOptions): Promise<ExperimentStatusView> {
  const e = readExperiment(o.path, o.cwd);
  if (e.experiment.grid) throw new UserError('experiment-is-grid', gridRunHint(e.file));
  const status = readStatus(e.dir);
  const other = status.runner && !isThisProcess(status.runner) ? status.runner : undefined;
  if (other) {
    const elsewhere = other.host && other.host !== thisHost() ? other.host : undefined;
    if (elsewhere) o.onEvent?.({ type: 'log', stage: 'base', message: `status.json names a runner on ${elsewhere} (pid ${other.pid}); watching its heartbeat to see whether it is still at work` });
    if (await runnerStillBeating(e.dir, other, { signal: o.signal, ...(o.watchOtherRunnerMs !== undefined ? { watchMs: o.watchOtherRunnerMs } : {}) })) {
      throw new UserError('experiment-running', `${e.dir} is already being run by process ${other.pid}${elsewhere ? ` on ${elsewhere}` : ''} (started ${other.startedAt}). Wait for it to finish, or stop it first (${elsewhere ? `scancel its SLURM task, or stop it on ${elsewhere}` : `\`em-lab experiment cancel ${e.dir}\`, or Cancel in VS Code`}).`);
    }
    if (elsewhere) o.onEvent?.({ type: 'log', stage: 'base', message: `the runner on ${elsewhere} stopped beating (last heartbeat ${other.heartbeat}); continuing its work here` });
  }
  const write = () => writeStatus(e.dir, status);
  status.runner = runnerEntry();
  write();
  const heartbeat = setInterval(() => {
    if (status.runner) status.runner.heartbeat = new Date().toISOString();
    write();
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const inputs = stageInputs(e);
  const view = (id: ExperimentStageId) => statusView(e, status).stages.find((s) => s.id === id)!;
  try {
    for (const id of EXPERIMENT_STAGES) {
      if (o.signal.aborted) break;
      if (o.only && !o.only.includes(id)) continue;
      const now = id === 'report' ? reportInputs(status, e) : inputs[id];
      const prev = status.stages[id];
      const outputsThere = (prev?.outputs ?? []).every((f) => existsSync(join(e.dir, f)));
      if (prev?.status === 'done' && sameInputs(prev.inputs, now) && outputsThere && !o.redo?.includes(id)) {
        o.onEvent?.({ type: 'log', stage: id, message: `${id}: done already (${prev.detail ?? 'outputs on disk'}); skipped` });
        continue;
      }
      const staleKey = STALE_BY[id];
      let cost = prev?.cost ?? zeroCost();
      if (staleKey && prev?.inputs?.[staleKey] && prev.inputs[staleKey] !== now[staleKey] && existsSync(join(e.dir, id))) {
        const aside = `${id}.old-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
        renameSync(join(e.dir, id), join(e.dir, aside));
        cost = zeroCost();
        o.onEvent?.({ type: 'log', stage: id, message: `${id}: experiment.json changed what this stage depends on; the old outputs were moved to ${aside}/` });
      }
      const record: StageRecord = { status: 'running', startedAt: new Date().toISOString(), outputs: [], inputs: now, cost, progress: { message: 'starting' } };
      status.stages[id] = record;
      write();
      o.onEvent?.({ type: 'stage', stage: view(id) });
      let lastWrite = 0;
      const ctx: StageContext = {
        e,
        storageDir: o.storageDir,
        ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
        env: o.env,
        signal: o.signal,
        ...(o.threads ? { threads: o.threads } : {}),
        progress: (message, fraction) => {
          record.progress = { message, ...(fraction !== undefined ? { fraction } : {}) };
          o.onEvent?.({ type: 'progress', stage: id, message, ...(fraction !== undefined ? { fraction } : {}) });
          if (Date.now() - lastWrite > 500) {
            lastWrite = Date.now();
            write();
          }
        },
        log: (message) => o.onEvent?.({ type: 'log', stage: id, message: `${id}: ${message}` }),
      };
      const t0 = performance.now();
      let outcome: StageOutcome;
      try {
        outcome = await STAGE_FNS[id](ctx);
      } catch (err) {
        outcome =
          err instanceof CancelledError || o.signal.aborted
            ? { status: 'cancelled', reason: err instanceof Error ? err.message : 'Cancelled.', fix: fixText('run-again', ctx), fixAction: 'run-again', outputs: [], cost: {} }
            : classifyError(err, ctx);
      }
      const { status: result, cost: spent, outputs, ...words } = outcome;
      status.stages[id] = {
        status: result,
        startedAt: record.startedAt!,
        finishedAt: new Date().toISOString(),
        ...words,
        outputs,
        inputs: now,
        cost: addCost(cost, { ...spent, seconds: (performance.now() - t0) / 1000 }),
      };
      write();
      o.onEvent?.({ type: 'stage', stage: view(id) });
      if (result === 'cancelled') break;
    }
  } finally {
    clearInterval(heartbeat);
    delete status.runner;
    write();
  }
  return statusView(e, status);
}

/** What to do with a grid instead of running it as one experiment. */
export function gridRunHint(file: string): string {
  return `${file} is an experiment grid: its cells are ordinary experiments in cells/<K>/. Run them on SLURM with \`em-lab experiment submit ${file} --slurm\`, or here one by one with \`em-lab experiment run ${file} [--cell K]\`.`;
}

/** 0 every stage done; 3 something blocked (nothing failed); 1 a stage failed; 130 cancelled. */
export function exitCodeOf(s: ExperimentStatusView): number {
  const st = s.stages.map((x) => x.status);
  if (st.includes('cancelled')) return 130;
  if (st.includes('failed') || st.includes('interrupted')) return 1;
  if (s.complete) return 0;
  return 3;
}
