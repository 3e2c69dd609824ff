// <experiment>/status.json: each stage's status, progress, timings, costs and the hash of the experiment.json parts
// it was run with, plus the runner's host, pid and heartbeat (docs/experiment.md). Written atomically by the one
// runner; read by anyone. A reader that finds a stage "running" while the runner is gone shows it as interrupted.
// "Gone": on this host, its pid no longer exists; on another host (a cluster node sharing the folder, e.g. a SLURM
// task requeued elsewhere), a pid means nothing here, so its heartbeat decides.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ExperimentStageId, ExperimentStatusView, StageCostView, StageFixAction, StageProgressView, StageStatus, StageView } from '../../protocol/experimentTypes';
import { EXPERIMENT_STAGES } from '../../protocol/experimentTypes';
import { writeJsonAtomic } from '../train/adapterIO';
import type { LoadedExperiment } from './experimentFile';

export const STATUS_FILE = 'status.json';
export const STATUS_SCHEMA = 1;

/** Short: the sidebar shows the title and then the stage's progress on one line of a narrow view. */
export const STAGE_TITLES: Record<ExperimentStageId, string> = {
  base: 'Base model answers',
  train: 'LoRA training',
  sweep: 'Checkpoint sweep',
  report: 'Report',
};

export interface StageRecord {
  status: StageStatus;
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
  reason?: string;
  fix?: string;
  fixAction?: StageFixAction;
  progress?: StageProgressView;
  outputs: string[];
  /** Hashes of the experiment.json parts the stage ran with (experimentInputs.ts). */
  inputs?: Record<string, string>;
  cost: StageCostView;
}

export interface RunnerEntry {
  pid: number;
  /** os.hostname() of the runner's machine; absent in files written before hosts were recorded (taken as this host). */
  host?: string;
  startedAt: string;
  heartbeat: string;
}

export interface StatusJson {
  schemaVersion: number;
  runner?: RunnerEntry;
  stages: Partial<Record<ExperimentStageId, StageRecord>>;
}

/** How often a runner rewrites its heartbeat. */
export const HEARTBEAT_MS = 10_000;
/** A view takes another host's runner as gone when its heartbeat is older than this by the two clocks (skew allowed). */
export const RUNNER_STALE_MS = 120_000;
/** A runner about to start watches another host's heartbeat this long: unchanged means that runner is gone. */
export const RUNNER_WATCH_MS = 45_000;

export const thisHost = (): string => hostname();

/** The runner entry for this process. */
export function runnerEntry(pid = process.pid, now = new Date().toISOString()): RunnerEntry {
  return { pid, host: thisHost(), startedAt: now, heartbeat: now };
}

const onThisHost = (r: RunnerEntry): boolean => (r.host ?? thisHost()) === thisHost();
export const isThisProcess = (r: RunnerEntry): boolean => onThisHost(r) && r.pid === process.pid;

export const zeroCost = (): StageCostView => ({ seconds: 0, answersGenerated: 0, judgeRequests: 0, promptTokens: 0, completionTokens: 0, usd: null });

export function addCost(a: StageCostView, b: Partial<StageCostView>): StageCostView {
  const usd = a.usd === null && (b.usd ?? null) === null ? null : (a.usd ?? 0) + (b.usd ?? 0);
  const out: StageCostView = {
    seconds: a.seconds + (b.seconds ?? 0),
    answersGenerated: a.answersGenerated + (b.answersGenerated ?? 0),
    judgeRequests: a.judgeRequests + (b.judgeRequests ?? 0),
    promptTokens: a.promptTokens + (b.promptTokens ?? 0),
    completionTokens: a.completionTokens + (b.completionTokens ?? 0),
    usd,
  };
  if (a.trainSteps !== undefined || b.trainSteps !== undefined) out.trainSteps = b.trainSteps ?? a.trainSteps;
  if (a.trainTokens !== undefined || b.trainTokens !== undefined) out.trainTokens = b.trainTokens ?? a.trainTokens;
  return out;
}

export function readStatus(dir: string): StatusJson {
  try {
    const s = JSON.parse(readFileSync(join(dir, STATUS_FILE), 'utf8')) as StatusJson;
    if (s && typeof s === 'object' && s.stages && typeof s.stages === 'object') return s;
  } catch {
    // absent or torn: nothing has run yet (status.json is rewritten atomically, so torn means hand-edited)
  }
  return { schemaVersion: STATUS_SCHEMA, stages: {} };
}

export function writeStatus(dir: string, s: StatusJson): void {
  writeJsonAtomic(join(dir, STATUS_FILE), s);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * The runner recorded in status.json if it is alive (this process counts too): on this host by its pid, on another
 * by a heartbeat younger than RUNNER_STALE_MS (a quick answer for views; a runner that wants to start uses
 * runnerStillBeating, which does not compare clocks).
 */
export function liveRunner(s: StatusJson, now = Date.now()): RunnerEntry | undefined {
  const r = s.runner;
  if (!r) return undefined;
  if (onThisHost(r)) return pidAlive(r.pid) ? r : undefined;
  const age = Math.abs(now - Date.parse(r.heartbeat));
  return age < RUNNER_STALE_MS ? r : undefined;
}

/**
 * Whether the runner recorded in `dir` (not this process) is still at work. On this host: its pid exists. On another
 * host: its heartbeat changes within `watchMs` (runners beat every HEARTBEAT_MS), read from the shared folder, so
 * the two machines' clocks never meet; an entry replaced by yet another runner counts as alive, one removed as gone.
 */
export async function runnerStillBeating(dir: string, r: RunnerEntry, o: { watchMs?: number; pollMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  if (onThisHost(r)) return pidAlive(r.pid);
  const until = Date.now() + (o.watchMs ?? RUNNER_WATCH_MS);
  while (Date.now() < until && !o.signal?.aborted) {
    await new Promise((done) => setTimeout(done, o.pollMs ?? 1000));
    const now = readStatus(dir).runner;
    if (!now) return false;
    if (now.pid !== r.pid || now.host !== r.host || now.heartbeat !== r.heartbeat) return true;
  }
  return false;
}

function stageView(id: ExperimentStageId, r: StageRecord | undefined, runnerAlive: boolean): StageView {
  if (!r) return { id, title: STAGE_TITLES[id], status: 'pending', outputs: [], cost: zeroCost() };
  const interrupted = r.status === 'running' && !runnerAlive;
  const { inputs: _inputs, ...rest } = r;
  return {
    id,
    title: STAGE_TITLES[id],
    ...rest,
    status: interrupted ? 'interrupted' : r.status,
    ...(interrupted ? { reason: 'The runner process stopped in the middle of this stage (killed, or the machine went down).', fix: 'Run the experiment again: the stage continues where it stopped.', fixAction: 'run-again' as const } : {}),
  };
}

/** Every stage in order, as views show it (a running stage whose runner is gone: interrupted). */
export function stageViews(s: StatusJson, runnerAlive = liveRunner(s) !== undefined): StageView[] {
  return EXPERIMENT_STAGES.map((id) => stageView(id, s.stages[id], runnerAlive));
}

export function statusView(e: LoadedExperiment, s: StatusJson = readStatus(e.dir)): ExperimentStatusView {
  const runner = liveRunner(s);
  const stages = stageViews(s, runner !== undefined);
  return {
    dir: e.dir,
    file: e.file,
    name: e.experiment.name,
    preset: e.experiment.preset,
    model: e.experiment.model,
    running: runner !== undefined,
    ...(runner ? { pid: runner.pid, heartbeat: runner.heartbeat, ...(runner.host ? { host: runner.host } : {}) } : {}),
    stages,
    complete: stages.every((st) => st.status === 'done'),
  };
}
