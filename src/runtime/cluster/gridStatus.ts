// `em-lab experiment status` of a grid (and the VS Code sidebar's grid section): each cell's stages from its own
// status.json, and its latest array task from SLURM (asked at most once per 30 s per grid, see slurm.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GridCellState, GridCellStatusView, GridStatusView } from '../../protocol/clusterTypes';
import { errorMessage } from '../errors';
import { cellDir } from './grid';
import { cellStatus, readGridFolder, readJsonFile, GRID_MANIFEST, SLURM_DIR, type GridManifest } from './gridFolder';
import { jobName, readJobs } from './gridSubmit';
import { queryTasks, type QueueSnapshot } from './slurm';
import { LIVE_STATES, type SlurmTask } from './slurmParse';

/** SLURM end states, as the cell view names them. */
const ENDED: Record<string, GridCellState> = {
  FAILED: 'failed',
  BOOT_FAIL: 'failed',
  DEADLINE: 'timeout',
  CANCELLED: 'cancelled',
  TIMEOUT: 'timeout',
  NODE_FAIL: 'node-fail',
  PREEMPTED: 'cancelled',
  OUT_OF_MEMORY: 'out-of-memory',
};

export function cellState(done: boolean, stages: readonly { status: string }[], task: SlurmTask | undefined, submitted: boolean, runnerAlive = false): GridCellState {
  if (done) return 'done';
  if (task && LIVE_STATES.has(task.state)) return task.state === 'PENDING' || task.state.startsWith('REQUEUE') ? 'pending' : 'running';
  // A runner at work in the folder (SLURM silent or unreachable, or the cell run by hand): the folder says running.
  if (runnerAlive) return 'running';
  if (task && ENDED[task.state]) return ENDED[task.state]!;
  // The task completed (or SLURM forgot it) but the cell is not done: a blocked stage (exit 3), or stopped.
  if (stages.some((s) => s.status === 'blocked')) return 'blocked';
  return submitted || task ? 'stopped' : 'not-submitted';
}

/** The task's output file (the sbatch script's --output=slurm/logs/%A_%a.out), when it is there. */
function logOf(dir: string, t: SlurmTask): { log?: string } {
  const file = join(dir, SLURM_DIR, 'logs', `${t.arrayJobId}_${t.taskId}.out`);
  return existsSync(file) ? { log: file } : {};
}

export interface GridStatusOptions {
  env?: NodeJS.ProcessEnv;
  /** Skip asking SLURM (no cluster here): the folders alone. */
  offline?: boolean;
  now?: number;
}

/** A grid folder's status: the folders always, SLURM's view when it answers. */
export async function gridStatus(path: string, cwd: string, o: GridStatusOptions = {}): Promise<GridStatusView> {
  const g = readGridFolder(path, cwd);
  const jobs = readJobs(g.dir);
  let queue: QueueSnapshot | undefined;
  let slurmError: string | undefined;
  if (!o.offline && jobs.jobs.length) {
    try {
      queue = await queryTasks(g.dir, jobName(g), jobs.jobs.map((j) => j.jobId), o.env ?? process.env, o.now !== undefined ? { now: o.now } : {});
      slurmError = queue.error;
    } catch (err) {
      slurmError = errorMessage(err);
    }
  }
  // The latest job that includes a cell is the one that counts for it (a resubmission supersedes the first try).
  const latest = new Map<number, SlurmTask>();
  for (const t of queue?.tasks ?? []) {
    const prev = latest.get(t.taskId);
    if (!prev || Number(t.arrayJobId) >= Number(prev.arrayJobId)) latest.set(t.taskId, t);
  }
  const submittedCells = new Set(jobs.jobs.flatMap((j) => j.cells));
  const manifest = readJsonFile<GridManifest>(join(g.dir, GRID_MANIFEST));
  const cells: GridCellStatusView[] = g.cells.map((c) => {
    const { stages, running } = cellStatus(g, c.index);
    const done = stages.every((s) => s.status === 'done');
    const task = latest.get(c.index);
    return {
      index: c.index,
      label: manifest?.cells[c.index]?.label ?? c.label,
      values: c.values,
      dir: cellDir(c.index),
      state: cellState(done, stages, task, submittedCells.has(c.index), running),
      stages: stages.map((s) => ({ id: s.id, status: s.status, ...(s.status === 'running' && s.progress?.message ? { message: s.progress.message } : s.reason ? { message: s.reason } : {}) })),
      ...(task ? { task: { jobId: `${task.arrayJobId}_${task.taskId}`, state: task.state, ...(task.reason ? { reason: task.reason } : {}), ...(task.nodes ? { nodes: task.nodes } : {}), ...(task.elapsed ? { elapsed: task.elapsed } : {}), ...(task.exitCode ? { exitCode: task.exitCode } : {}), ...logOf(g.dir, task) } } : {}),
    };
  });
  const counts: GridStatusView['counts'] = {};
  for (const c of cells) counts[c.state] = (counts[c.state] ?? 0) + 1;
  return {
    dir: g.dir,
    name: String(g.raw.name),
    keys: g.spec.keys,
    cells,
    jobs: jobs.jobs.map(({ jobId, script, cells: cs, submittedAt }) => ({ jobId, script, cells: cs, submittedAt })),
    ...(queue ? { queriedAt: queue.queriedAt } : {}),
    ...(slurmError ? { slurmError } : {}),
    counts,
  };
}
