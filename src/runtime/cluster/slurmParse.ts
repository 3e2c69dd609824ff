// Reading SLURM's answers: `squeue` (jobs pending or running, one line per array task with -r) in the format
// SQUEUE_FORMAT asks for, and `scontrol show job --oneliner` (also jobs that ended recently, MinJobAge, default
// 300 s, with exit codes). sacct is not used: many clusters (and the CI's one-node cluster) run without accounting.

export interface SlurmTask {
  /** The array job's id (the id sbatch printed). */
  arrayJobId: string;
  /** The array task id (the grid cell). */
  taskId: number;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, REQUEUED, ... */
  state: string;
  /** Why it is pending or ended (Priority, Resources, BeginTime, None, ...). */
  reason?: string;
  nodes?: string;
  /** Elapsed time as SLURM prints it (D-HH:MM:SS). */
  elapsed?: string;
  /** "code:signal" of an ended task (scontrol only). */
  exitCode?: string;
}

/** `squeue -h -r -o <this>`: job id, array job id, array task id, state, reason, nodes, time used. */
export const SQUEUE_FORMAT = '%i|%F|%K|%T|%r|%N|%M';

/** Lines of `squeue -h -r -o SQUEUE_FORMAT`. Rows that are not array tasks (no task id) are skipped. */
export function parseSqueue(text: string): SlurmTask[] {
  const out: SlurmTask[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [jobId, arrayJobId, taskId, state, reason, nodes, elapsed] = line.split('|').map((s) => s.trim());
    // A pending array not yet split shows its task range ("2-3%1") in %K even with -r on some versions: expand it.
    const ids = /^\d+$/.test(taskId ?? '') ? [Number(taskId)] : expandRange(taskId ?? '');
    const array = arrayJobId && /^\d+$/.test(arrayJobId) ? arrayJobId : /^(\d+)_/.exec(jobId ?? '')?.[1];
    if (!array || !ids.length || !state) continue;
    for (const id of ids) out.push({ arrayJobId: array, taskId: id, state, ...(reason && reason !== 'None' ? { reason } : {}), ...(nodes ? { nodes } : {}), ...(elapsed ? { elapsed } : {}) });
  }
  return out;
}

function expandRange(s: string): number[] {
  const body = s.replace(/^\[|\]$/g, '').replace(/%\d+$/, '');
  if (!/^[\d,-]+$/.test(body)) return [];
  const out: number[] = [];
  for (const part of body.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isFinite(a)) continue;
    for (let k = a; k <= (b ?? a); k++) out.push(k);
  }
  return out;
}

/** Key=Value pairs of one `scontrol --oneliner` record (values may contain spaces only in a few free-text fields). */
export function parseScontrolRecord(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  // A key starts after a space (or at the start) and runs to '='; a value runs to the next " Key=".
  const re = /(?:^|\s)([A-Za-z][\w/:.]*)=(.*?)(?=\s[A-Za-z][\w/:.]*=|$)/g;
  for (let m = re.exec(line.trim()); m; m = re.exec(line.trim())) out[m[1]!] = m[2]!;
  return out;
}

/** `scontrol show job <id> --oneliner`: one line per array task (pending tasks of an array may share one line). */
export function parseScontrolJobs(text: string): SlurmTask[] {
  const out: SlurmTask[] = [];
  for (const line of text.split('\n')) {
    if (!/JobId=/.test(line)) continue;
    const r = parseScontrolRecord(line);
    const array = r.ArrayJobId;
    const task = r.ArrayTaskId;
    if (!array || !task || !r.JobState) continue;
    const ids = /^\d+$/.test(task) ? [Number(task)] : expandRange(task);
    for (const id of ids) {
      out.push({
        arrayJobId: array,
        taskId: id,
        state: r.JobState,
        ...(r.Reason && r.Reason !== 'None' ? { reason: r.Reason } : {}),
        ...(r.NodeList && r.NodeList !== '(null)' ? { nodes: r.NodeList } : {}),
        ...(r.RunTime ? { elapsed: r.RunTime } : {}),
        ...(r.ExitCode ? { exitCode: r.ExitCode } : {}),
      });
    }
  }
  return out;
}

/** squeue is current for live tasks; scontrol adds ended ones and exit codes. squeue wins where both know a task. */
export function mergeTasks(fromSqueue: readonly SlurmTask[], fromScontrol: readonly SlurmTask[]): SlurmTask[] {
  const key = (t: SlurmTask) => `${t.arrayJobId}_${t.taskId}`;
  const byKey = new Map(fromScontrol.map((t) => [key(t), t]));
  for (const t of fromSqueue) byKey.set(key(t), { ...byKey.get(key(t)), ...t });
  return [...byKey.values()].sort((a, b) => Number(a.arrayJobId) - Number(b.arrayJobId) || a.taskId - b.taskId);
}

/** States in which a task may still start or is running: a second task for the same cell must not be submitted. */
export const LIVE_STATES = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT']);
