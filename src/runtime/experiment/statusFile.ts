// <experiment>/status.json: each stage's status, progress, timings, costs and the hash of the experiment.json parts
// it was run with, plus the runner's pid and heartbeat (docs/experiment.md). Written atomically by the one runner;
// read by anyone. A reader that finds a stage "running" while the runner's pid is gone shows it as interrupted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentStageId, ExperimentStatusView, StageCostView, StageFixAction, StageProgressView, StageStatus, StageView } from '../../protocol/experimentTypes';
import { EXPERIMENT_STAGES } from '../../protocol/experimentTypes';
import { writeJsonAtomic } from '../train/adapterIO';
import type { LoadedExperiment } from './experimentFile';

export const STATUS_FILE = 'status.json';
export const STATUS_SCHEMA = 1;

export const STAGE_TITLES: Record<ExperimentStageId, string> = {
  base: 'Base model: generate and judge',
  train: 'LoRA training with checkpoints',
  sweep: 'Checkpoint sweep: generate and judge',
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

export interface StatusJson {
  schemaVersion: number;
  runner?: { pid: number; startedAt: string; heartbeat: string };
  stages: Partial<Record<ExperimentStageId, StageRecord>>;
}

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

/** The runner recorded in status.json if its process is alive (another process than this one counts too). */
export function liveRunner(s: StatusJson): StatusJson['runner'] | undefined {
  return s.runner && pidAlive(s.runner.pid) ? s.runner : undefined;
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

export function statusView(e: LoadedExperiment, s: StatusJson = readStatus(e.dir)): ExperimentStatusView {
  const runner = liveRunner(s);
  const stages = EXPERIMENT_STAGES.map((id) => stageView(id, s.stages[id], runner !== undefined));
  return {
    dir: e.dir,
    file: e.file,
    name: e.experiment.name,
    preset: e.experiment.preset,
    model: e.experiment.model,
    running: runner !== undefined,
    ...(runner ? { pid: runner.pid, heartbeat: runner.heartbeat } : {}),
    stages,
    complete: stages.every((st) => st.status === 'done'),
  };
}
