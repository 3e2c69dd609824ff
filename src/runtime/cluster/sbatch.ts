// The sbatch script of a grid: one array job, task K runs cell K (`em-lab experiment run cells/K/experiment.json`).
// Written into the experiment folder (slurm/submit-<n>.sbatch) to be read, edited and re-submitted by hand; every
// choice is a #SBATCH line or an exported variable at the top, nothing is hidden in EM Lab's own process.
import { UserError } from '../errors';

export interface SbatchOptions {
  /** Experiment name: the job is em-lab-<name>. */
  name: string;
  /** Absolute experiment folder (holds cells/<K>/). */
  experimentDir: string;
  /** Cells to run (array task ids). */
  cells: number[];
  /** Most tasks running at once (%K), undefined = as many as the cluster allows. */
  arrayParallel?: number;
  partition?: string;
  gpusPerTask?: number;
  /** SLURM time limit, e.g. 04:00:00 or 1-00:00:00. */
  time?: string;
  /** More sbatch options, each like --mem=8G or --account=proj; one #SBATCH line each. */
  extraArgs: string[];
  /** The command that runs em-lab: absolute node and cli.js paths. */
  emLab: string[];
  /** Exported for every task (EM_LAB_STORAGE, EM_LAB_CACHE_DIR, ...). */
  env: Record<string, string>;
  /** For the header. */
  totalCells: number;
  gridLabel: string;
  createdAt: string;
}

/** 0,1,2,5,7,8 -> "0-2,5,7-8"; with %K when parallelism is limited. */
export function arraySpec(cells: readonly number[], parallel?: number): string {
  const sorted = [...new Set(cells)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (parallel ? `%${parallel}` : '');
}

/** "0-2,5%2" -> [0, 1, 2, 5]. */
export function parseArraySpec(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) throw new UserError('bad-array', `"${spec}" is not a SLURM array range (e.g. 0-3,5).`);
    const [a, b, step] = [Number(m[1]), m[2] ? Number(m[2]) : Number(m[1]), m[3] ? Number(m[3]) : 1];
    for (let k = a; k <= b; k += step) out.push(k);
  }
  return out;
}

/** SLURM's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;

/** Refuses what would break the script or be read as another option; messages name the flag. */
export function checkSbatchOptions(o: Pick<SbatchOptions, 'partition' | 'gpusPerTask' | 'time' | 'extraArgs' | 'arrayParallel'>): void {
  if (o.partition !== undefined && !/^[\w.,-]+$/.test(o.partition)) throw new UserError('bad-slurm-option', `--partition ${JSON.stringify(o.partition)}: a partition name (letters, digits, . _ - and commas for several).`);
  if (o.gpusPerTask !== undefined && !(Number.isInteger(o.gpusPerTask) && o.gpusPerTask >= 0)) throw new UserError('bad-slurm-option', `--gpus-per-task ${o.gpusPerTask}: a whole number (0 = no GPU).`);
  if (o.arrayParallel !== undefined && !(Number.isInteger(o.arrayParallel) && o.arrayParallel >= 1)) throw new UserError('bad-slurm-option', `--array-parallel ${o.arrayParallel}: a whole number >= 1 (tasks running at once).`);
  if (o.time !== undefined && !TIME.test(o.time)) throw new UserError('bad-slurm-option', `--time ${JSON.stringify(o.time)}: use SLURM's formats, e.g. 90 (minutes), 04:00:00, 1-12:00:00.`);
  for (const a of o.extraArgs) {
    if (!/^--?[A-Za-z][\w-]*(=\S.*)?$/.test(a) || /[\n\r]/.test(a)) throw new UserError('bad-slurm-option', `--sbatch-arg ${JSON.stringify(a)}: one sbatch option per --sbatch-arg, written as --name=value (e.g. --sbatch-arg=--mem=8G).`);
    if (/^--(array|output|error|job-name)\b/.test(a) || /^-[aoeJ]$/.test(a.split('=')[0]!)) throw new UserError('bad-slurm-option', `--sbatch-arg ${a}: EM Lab sets ${a.split('=')[0]} itself (one task per cell, logs in slurm/logs/); use --array-parallel to limit tasks at once.`);
  }
}

/** Single-quoted for bash. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function directiveValue(v: string): string {
  if (/["\n]/.test(v)) throw new UserError('bad-experiment-path', `${v}: a folder whose path holds a double quote or a line break cannot be named in an #SBATCH line; move the experiment.`);
  return /\s/.test(v) ? `"${v}"` : v;
}

export function sbatchScript(o: SbatchOptions): string {
  checkSbatchOptions(o);
  const dir = o.experimentDir;
  const lines = [
    '#!/bin/bash',
    `# EM Lab grid "${o.name}": ${o.totalCells} cells (${o.gridLabel}); array task K runs cell K.`,
    `# Written by \`em-lab experiment submit --slurm\` on ${o.createdAt}. Edit freely and submit it again by hand:`,
    `#   sbatch ${shellQuote(`${dir}/slurm/<this file>`)}              (the cells listed in --array below)`,
    `#   sbatch --array=2 ${shellQuote(`${dir}/slurm/<this file>`)}    (one cell; a later --array overrides this file's)`,
    '# A cell already done is skipped stage by stage; an interrupted one resumes from its last checkpoint.',
    `#SBATCH --job-name=em-lab-${o.name}`,
    `#SBATCH --array=${arraySpec(o.cells, o.arrayParallel)}`,
    // sbatch splits directives at spaces unless the value is in double quotes.
    `#SBATCH --output=${directiveValue(`${dir}/slurm/logs/%A_%a.out`)}`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    '#SBATCH --ntasks=1',
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.gpusPerTask ? [`#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...o.extraArgs.map((a) => `#SBATCH ${a}`),
    '',
    'set -euo pipefail',
    ...Object.entries(o.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `EXPERIMENT=${shellQuote(dir)}`,
    `EM_LAB=(${o.emLab.map(shellQuote).join(' ')})`,
    'CELL="${EXPERIMENT}/cells/${SLURM_ARRAY_TASK_ID:?submit this script with sbatch (it is an array job)}"',
    'echo "[em-lab] $(date -Is) job ${SLURM_JOB_ID} (array ${SLURM_ARRAY_JOB_ID:-} task ${SLURM_ARRAY_TASK_ID}, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname): ${CELL}"',
    '# scancel sends SIGTERM: em-lab stops after the current unit of work (a training step is checkpointed first).',
    '"${EM_LAB[@]}" experiment run "${CELL}/experiment.json" &',
    'pid=$!',
    'trap \'kill -TERM "$pid" 2>/dev/null; wait "$pid"\' TERM INT',
    'set +e',
    'wait "$pid"',
    'code=$?',
    'echo "[em-lab] $(date -Is) em-lab experiment run exited with ${code}"',
    '# 3 = some stage blocked (e.g. no judge key): the cell is not done, but retrying now would not help.',
    'exit "${code}"',
    '',
  ];
  return lines.join('\n');
}

/** `sbatch --parsable` prints "<jobid>" or "<jobid>;<cluster>". */
export function parseSbatchOutput(stdout: string): string {
  const m = /^(\d+)(?:;\S+)?\s*$/m.exec(stdout.trim());
  if (!m) throw new UserError('sbatch-output', `sbatch did not print a job id (got ${JSON.stringify(stdout.trim().slice(0, 200))}).`);
  return m[1]!;
}
