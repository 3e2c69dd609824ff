// `em-lab experiment submit experiment.json --slurm`: the grid's cells written as ordinary experiments, one sbatch
// array job for the cells that are neither done nor already queued or running (two runners never share a cell), the
// script kept as slurm/submit-<n>.sbatch and the job recorded in slurm/jobs.json. Submitting again later is how a
// cancelled, failed or timed-out cell is resumed: its runner continues from the last checkpoint and skips done stages.
import { writeFileSync, mkdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { GRID_JOBS_FILE, type GridJobView } from '../../protocol/clusterTypes';
import { UserError } from '../errors';
import type { JsonObject } from './grid';
import { cellDone, readGridFolder, readJsonFile, writeCells, writeJson, SLURM_DIR, type GridFolder } from './gridFolder';
import { checkSbatchOptions, parseSbatchOutput, sbatchScript } from './sbatch';
import { queryTasks, runSlurm } from './slurm';
import { LIVE_STATES } from './slurmParse';

export interface JobsFile {
  schemaVersion: 1;
  jobs: (GridJobView & { options: Record<string, unknown> })[];
}

export const JOBS_FILE = basename(GRID_JOBS_FILE);

export function readJobs(dir: string): JobsFile {
  return readJsonFile<JobsFile>(join(dir, SLURM_DIR, JOBS_FILE)) ?? { schemaVersion: 1, jobs: [] };
}

export function jobName(g: Pick<GridFolder, 'raw'>): string {
  return `em-lab-${String(g.raw.name)}`;
}

export interface SubmitOptions {
  path: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Cells to run; default every cell that is not done and has no live task. */
  cells?: number[];
  partition?: string;
  gpusPerTask?: number;
  time?: string;
  arrayParallel?: number;
  extraArgs: string[];
  /** How a task runs em-lab: absolute node and cli.js. */
  emLab: string[];
  /** Exported to every task: EM_LAB_STORAGE and EM_LAB_CACHE_DIR at least. */
  taskEnv: Record<string, string>;
  /** Checks a cell as the runner will (the experiment schema); throws UserError naming the field. */
  checkCell?: (cell: JsonObject, file: string) => void;
  /** Runs once before sbatch when something is submitted (e.g. exporting the model into the shared storage). */
  prepare?: () => Promise<void>;
  /** Write the cells and the script, do not call sbatch. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface SubmitResult {
  dir: string;
  jobId?: string;
  /** Relative to the grid folder. */
  script?: string;
  cells: number[];
  done: number[];
  live: { cell: number; jobId: string; state: string }[];
  changed: number[];
  orphans: string[];
}

export async function submitGrid(o: SubmitOptions): Promise<SubmitResult> {
  checkSbatchOptions({ extraArgs: o.extraArgs, ...(o.partition !== undefined ? { partition: o.partition } : {}), ...(o.gpusPerTask !== undefined ? { gpusPerTask: o.gpusPerTask } : {}), ...(o.time !== undefined ? { time: o.time } : {}), ...(o.arrayParallel !== undefined ? { arrayParallel: o.arrayParallel } : {}) });
  const g = readGridFolder(o.path, o.cwd);
  for (const c of o.cells ?? []) if (!Number.isInteger(c) || c < 0 || c >= g.cells.length) throw new UserError('bad-cells', `--cells: ${c} is not a cell of this grid (0-${g.cells.length - 1}; see grid.json).`);
  const { changed, orphans } = writeCells(g, o.checkCell);
  const jobs = readJobs(g.dir);
  const name = jobName(g);
  const queue = o.dryRun ? undefined : await queryTasks(g.dir, name, jobs.jobs.map((j) => j.jobId), o.env, { fresh: true });
  const liveByCell = new Map<number, { jobId: string; state: string }>();
  for (const t of queue?.tasks ?? []) if (LIVE_STATES.has(t.state)) liveByCell.set(t.taskId, { jobId: t.arrayJobId, state: t.state });
  const wanted = o.cells ?? g.cells.map((c) => c.index);
  const done = wanted.filter((c) => cellDone(g, c));
  const live = wanted.filter((c) => liveByCell.has(c)).map((c) => ({ cell: c, ...liveByCell.get(c)! }));
  if (o.cells && live.length) {
    throw new UserError('cell-running', `Cell${live.length > 1 ? 's' : ''} ${live.map((l) => `${l.cell} (job ${l.jobId}_${l.cell} ${l.state})`).join(', ')} already ${live.length > 1 ? 'have' : 'has'} a task in SLURM: two runners must not share a cell. Wait for it, or scancel ${live[0]!.jobId}_${live[0]!.cell} first.`);
  }
  const cells = wanted.filter((c) => !done.includes(c) && !liveByCell.has(c));
  const result: SubmitResult = { dir: g.dir, cells, done, live, changed, orphans };
  if (!cells.length) return result;

  const seq = jobs.jobs.length + 1;
  const scriptRel = join(SLURM_DIR, `submit-${seq}.sbatch`);
  mkdirSync(join(g.dir, SLURM_DIR, 'logs'), { recursive: true });
  const script = sbatchScript({
    name: String(g.raw.name),
    experimentDir: g.dir,
    cells,
    extraArgs: o.extraArgs,
    emLab: o.emLab,
    env: o.taskEnv,
    totalCells: g.cells.length,
    gridLabel: g.spec.keys.map((k, i) => `${k}: ${g.spec.values[i]!.length}`).join(' x '),
    createdAt: new Date().toISOString(),
    ...(o.arrayParallel !== undefined ? { arrayParallel: o.arrayParallel } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
    ...(o.gpusPerTask !== undefined ? { gpusPerTask: o.gpusPerTask } : {}),
    ...(o.time !== undefined ? { time: o.time } : {}),
  });
  writeFileSync(join(g.dir, scriptRel), script, { mode: 0o755 });
  result.script = scriptRel;
  if (o.dryRun) return result;
  await o.prepare?.();
  const r = await runSlurm('sbatch', ['--parsable', join(g.dir, scriptRel)], o.env);
  if (r.code !== 0) throw new UserError('sbatch-failed', `sbatch refused ${relative(o.cwd, join(g.dir, scriptRel))}: ${r.stderr.trim() || r.stdout.trim()}. The script is kept: fix the option (e.g. --partition, --time, --sbatch-arg=--mem=...) and submit again.`);
  const jobId = parseSbatchOutput(r.stdout);
  jobs.jobs.push({ jobId, script: scriptRel, cells, submittedAt: new Date().toISOString(), options: { partition: o.partition, gpusPerTask: o.gpusPerTask, time: o.time, arrayParallel: o.arrayParallel, extraArgs: o.extraArgs } });
  writeJson(join(g.dir, SLURM_DIR, JOBS_FILE), jobs);
  result.jobId = jobId;
  o.log?.(`submitted job ${jobId}: cells ${cells.join(', ')}`);
  return result;
}
