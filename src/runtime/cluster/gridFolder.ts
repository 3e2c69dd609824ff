// A grid experiment's folder: experiment.json (with "grid"), cells/<K>/ (one ordinary experiment each, filled by its
// own runner), grid.json (the cells and their values, rewritten on every submit), slurm/ (scripts, jobs.json, logs).
// Cell folders are only ever written by their own array task; this module writes cells/<K>/experiment.json before
// submitting, and only when its content changes.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { cellDir, cellExperiment, expandGrid, parseGrid, type GridCell, type GridSpec, type JsonObject } from './grid';

export const GRID_MANIFEST = 'grid.json';
export const SLURM_DIR = 'slurm';

export interface GridManifest {
  schemaVersion: 1;
  kind: 'em-lab-grid';
  name: string;
  keys: string[];
  cells: { index: number; dir: string; label: string; values: Record<string, unknown> }[];
  writtenAt: string;
}

export interface GridFolder {
  dir: string;
  file: string;
  raw: JsonObject;
  spec: GridSpec;
  cells: GridCell[];
}

/** Atomic JSON write (temp file + rename): readers never see half a file. */
export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** An experiment folder or its experiment.json, with a grid; refuses a file without one, saying what to run instead. */
export function readGridFolder(path: string, cwd = process.cwd()): GridFolder {
  const p = resolve(cwd, path);
  const file = existsSync(join(p, 'experiment.json')) ? join(p, 'experiment.json') : p;
  if (!existsSync(file)) throw new UserError('experiment-not-found', `${p}: no experiment.json there. Create one with \`em-lab experiment new\` and add a "grid".`);
  let raw: JsonObject;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
  } catch (err) {
    throw new UserError('experiment-invalid', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw.kind !== 'em-lab-experiment') throw new UserError('experiment-invalid', `${file} is not an EM Lab experiment file (kind "em-lab-experiment").`);
  const spec = parseGrid(raw, file);
  if (!spec) {
    throw new UserError('grid-missing', `${file} has no "grid": nothing to spread over a cluster. Add e.g. "grid": {"training.seed": [0, 1], "data.domains": [["bad_medical"], ["risky_financial"]]}, or run the single experiment with \`em-lab experiment run ${file}\`.`);
  }
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(raw.name)) throw new UserError('experiment-invalid', `${file}: name must use letters, digits, ".", "_" and "-" (it names the SLURM job).`);
  return { dir: dirname(file), file, raw, spec, cells: expandGrid(spec) };
}

export interface WrittenCells {
  /** Cells whose experiment.json was new or changed. */
  changed: number[];
  /** Cell folders on disk that are not part of the grid now (left untouched). */
  orphans: string[];
}

/**
 * Writes cells/<K>/experiment.json for every cell (when its content changed; a changed cell's runner moves its stale
 * outputs aside itself) and grid.json. `check` validates each cell as the runner will (the experiment schema).
 */
export function writeCells(g: GridFolder, check?: (cell: JsonObject, file: string) => void): WrittenCells {
  const changed: number[] = [];
  for (const cell of g.cells) {
    const file = join(g.dir, cellDir(cell.index), 'experiment.json');
    const x = cellExperiment(g.raw, cell);
    check?.(x, file);
    const text = JSON.stringify(x, null, 2) + '\n';
    const old = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (old === text) continue;
    writeJson(file, x);
    changed.push(cell.index);
  }
  const manifest: GridManifest = {
    schemaVersion: 1,
    kind: 'em-lab-grid',
    name: String(g.raw.name),
    keys: g.spec.keys,
    cells: g.cells.map((c) => ({ index: c.index, dir: cellDir(c.index), label: c.label, values: c.values })),
    writtenAt: new Date().toISOString(),
  };
  writeJson(join(g.dir, GRID_MANIFEST), manifest);
  const cellsDir = join(g.dir, 'cells');
  const orphans = existsSync(cellsDir) ? readdirSync(cellsDir).filter((d) => /^\d+$/.test(d) && Number(d) >= g.cells.length).map((d) => join('cells', d)) : [];
  return { changed, orphans };
}

/** The stage statuses in cells/<K>/status.json (docs/experiment.md), or {} before the cell's runner started. */
export function cellStages(g: { dir: string }, index: number): Record<string, { status: string; progress?: { message: string; fraction?: number }; reason?: string }> {
  const s = readJsonFile<{ stages?: Record<string, { status: string }> }>(join(g.dir, cellDir(index), 'status.json'));
  return (s?.stages ?? {}) as Record<string, { status: string }>;
}

/** Stages every finished cell has (docs/experiment.md); a cell is done when each is done. */
export const CELL_STAGES = ['base', 'train', 'sweep', 'report'] as const;

export function cellDone(g: { dir: string }, index: number): boolean {
  const st = cellStages(g, index);
  return CELL_STAGES.every((s) => st[s]?.status === 'done');
}
