// Running SLURM's own commands (sbatch, squeue, scontrol) and asking them about a grid's jobs, at most once per
// MIN_POLL_MS per folder: the answer is kept in slurm/queue.json and reused while younger, by the CLI and VS Code
// alike, so nothing in EM Lab polls a cluster's controller faster than that however often it is asked.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { SLURM_POLL_MS } from '../../protocol/clusterTypes';
import { UserError } from '../errors';
import { readJsonFile, writeJson, SLURM_DIR } from './gridFolder';
import { mergeTasks, parseScontrolJobs, parseSqueue, SQUEUE_FORMAT, type SlurmTask } from './slurmParse';

/** The shortest interval between two queries of the cluster about one grid. */
export const MIN_POLL_MS = SLURM_POLL_MS;

export interface SlurmRun {
  stdout: string;
  stderr: string;
  code: number;
}

export function runSlurm(tool: 'sbatch' | 'squeue' | 'scontrol', args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<SlurmRun> {
  return new Promise((resolveRun, reject) => {
    execFile(tool, args, { env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
      if (e && e.code === 'ENOENT') {
        reject(new UserError('slurm-missing', `${tool} is not on PATH: run this on a SLURM login node (where sbatch works), or start a one-node cluster here with scripts/slurm-local.sh start.`));
        return;
      }
      if (e && e.killed) {
        reject(new UserError('slurm-timeout', `${tool} ${args.join(' ')} did not answer in ${timeoutMs / 1000} s: is the SLURM controller up (sinfo)?`));
        return;
      }
      resolveRun({ stdout: String(stdout), stderr: String(stderr), code: e ? (typeof e.code === 'number' ? e.code : 1) : 0 });
    });
  });
}

export interface QueueSnapshot {
  schemaVersion: 1;
  queriedAt: string;
  jobName: string;
  /** Array jobs asked about: those EM Lab submitted plus any other job of the grid's name SLURM knows. */
  jobIds: string[];
  tasks: SlurmTask[];
  /** What SLURM said when it could not answer (kept so the status shows it). */
  error?: string;
}

/**
 * SLURM's view of a grid's array jobs: squeue for the live tasks of every job named `jobName` (so a script
 * re-submitted by hand is seen too), scontrol for the ended tasks it still remembers (MinJobAge). Reuses
 * slurm/queue.json while it is younger than MIN_POLL_MS and was asked about the same jobs.
 */
export async function queryTasks(experimentDir: string, jobName: string, knownJobIds: readonly string[], env: NodeJS.ProcessEnv = process.env, options: { now?: number; fresh?: boolean } = {}): Promise<QueueSnapshot & { cached: boolean }> {
  const now = options.now ?? Date.now();
  const file = join(experimentDir, SLURM_DIR, 'queue.json');
  // `fresh`: a user's submit must see the queue as it is (a task scancelled a second ago is gone); polling may not.
  const prev = options.fresh ? undefined : readJsonFile<QueueSnapshot>(file);
  const covers = prev && prev.jobName === jobName && knownJobIds.every((j) => prev.jobIds.includes(j));
  if (prev && covers && now - Date.parse(prev.queriedAt) >= 0 && now - Date.parse(prev.queriedAt) < MIN_POLL_MS) return { ...prev, cached: true };
  const sq = await runSlurm('squeue', ['-h', '-r', '-n', jobName, '-o', SQUEUE_FORMAT], env);
  const live = sq.code === 0 ? parseSqueue(sq.stdout) : [];
  const ids = [...new Set([...knownJobIds, ...live.map((t) => t.arrayJobId)])].sort((a, b) => Number(a) - Number(b));
  const ended: SlurmTask[] = [];
  for (const id of ids) {
    // Exits 1 ("Invalid job id specified") once the job has left the controller's memory: then the folder is the truth.
    const sc = await runSlurm('scontrol', ['show', 'job', id, '--oneliner'], env);
    if (sc.code === 0) ended.push(...parseScontrolJobs(sc.stdout));
  }
  const snapshot: QueueSnapshot = {
    schemaVersion: 1,
    queriedAt: new Date(now).toISOString(),
    jobName,
    jobIds: ids,
    tasks: mergeTasks(live, ended),
    ...(sq.code !== 0 ? { error: `squeue: ${sq.stderr.trim().slice(0, 300)}` } : {}),
  };
  writeJson(file, snapshot);
  return { ...snapshot, cached: false };
}
