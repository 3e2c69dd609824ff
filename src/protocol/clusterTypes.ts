// Experiment grids on SLURM (docs/scale-out.md): what `em-lab experiment status` / `collect` and the VS Code
// sidebar show. Types, and the two constants the runtime and the extension share.
import type { RateView } from './evalMethods';

/** The shortest interval between two questions to a cluster's controller about one grid (and between view polls). */
export const SLURM_POLL_MS = 30_000;
/** Relative to a grid folder: the jobs `experiment submit --slurm` made (its presence marks a submitted grid). */
export const GRID_JOBS_FILE = 'slurm/jobs.json';

/**
 * A cell as the folder and SLURM together say: done (every stage done), running / pending (its array task, or a
 * runner at work in its folder), failed, cancelled, timeout, node-fail, out-of-memory (the task ended so), blocked
 * (the task ended with a stage blocked, e.g. no judge key), stopped (no live task and not done: resubmit it),
 * not-submitted.
 */
export type GridCellState = 'done' | 'running' | 'pending' | 'failed' | 'cancelled' | 'timeout' | 'node-fail' | 'out-of-memory' | 'blocked' | 'stopped' | 'not-submitted';

export interface GridCellStatusView {
  index: number;
  label: string;
  values: Record<string, unknown>;
  /** Relative to the grid folder, e.g. cells/3. */
  dir: string;
  state: GridCellState;
  /** Each stage's status in the cell's status.json (base, train, sweep, report), with its progress message. */
  stages: { id: string; status: string; message?: string }[];
  /** The latest array task that ran or will run this cell. */
  task?: { jobId: string; state: string; reason?: string; nodes?: string; elapsed?: string; exitCode?: string; log?: string };
}

export interface GridJobView {
  jobId: string;
  /** Relative to the grid folder. */
  script: string;
  cells: number[];
  submittedAt: string;
}

export interface GridStatusView {
  /** Absolute grid folder. */
  dir: string;
  name: string;
  keys: string[];
  cells: GridCellStatusView[];
  jobs: GridJobView[];
  /** When SLURM was last asked (answers are reused for 30 s). */
  queriedAt?: string;
  /** What SLURM said when it could not answer. */
  slurmError?: string;
  counts: Partial<Record<GridCellState, number>>;
}

export interface GridRatesView {
  /** EM under the experiment's metric preset, with its Wilson 95% interval. */
  em: RateView;
  coherent: RateView;
  answers: number;
}

export interface GridCellResultView {
  index: number;
  label: string;
  values: Record<string, unknown>;
  /** The last judged checkpoint's step, when there is one. */
  finalStep?: number;
  base?: GridRatesView;
  final?: GridRatesView;
  /** What is not there yet (e.g. "no judged checkpoint"). */
  missing?: string;
}

export interface GridReportView {
  schemaVersion: 1;
  name: string;
  createdAt: string;
  metricPreset: string;
  definition: string;
  keys: string[];
  cells: GridCellResultView[];
  /** Every finished cell's answers together. */
  pooled: { cells: number; base?: GridRatesView; final?: GridRatesView };
  /** For each grid key and value: the cells with that value, pooled. */
  byValue: { key: string; value: unknown; cells: number; base?: GridRatesView; final?: GridRatesView }[];
}
