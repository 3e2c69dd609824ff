// A grid experiment's folder: experiment.json (with "grid"), cells/<K>/ (one ordinary experiment each, filled by its
// own runner), grid.json (the cells and their values, rewritten on every submit), slurm/ (scripts, jobs.json, logs).
// Cell folders are only ever written by their own array task; this module writes cells/<K>/experiment.json before
// submitting, and only when its content changes.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StageView } from '../../protocol/experimentTypes';
import { UserError } from '../errors';
import { experimentPaths, readExperiment } from '../experiment/experimentFile';
import { liveRunner, readStatus, stageViews } from '../experiment/statusFile';
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

/**
 * An experiment folder or its experiment.json, with a grid, checked as the runner checks it (every cell included);
 * refuses a file without a grid, saying what to run instead.
 */
export function readGridFolder(path: string, cwd = process.cwd()): GridFolder {
  const e = readExperiment(path, cwd);
  const raw = e.experiment as unknown as JsonObject;
  const spec = parseGrid(raw, e.file);
  if (!spec) {
    throw new UserError('grid-missing', `${e.file} has no "grid": nothing to spread over a cluster. Add e.g. "grid": {"training.seed": [0, 1], "data.domains": [["bad_medical"], ["risky_financial"]]}, or run the single experiment with \`em-lab experiment run ${e.file}\`.`);
  }
  return { dir: e.dir, file: e.file, raw, spec, cells: expandGrid(spec) };
}

/** Whether experiment.json at `path` declares a grid (without checking the rest). */
export function isGridFile(file: string): boolean {
  const raw = readJsonFile<{ grid?: unknown }>(file);
  return !!raw && typeof raw === 'object' && raw.grid !== undefined;
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

/**
 * The cells `em-lab experiment run GRID [--cell K]` runs here, one by one: cells/<K>/experiment.json written first
 * (as submit writes them). Undefined when `path` is not a grid.
 */
export function localGridCells(path: string, cwd: string, only?: readonly number[]): { index: number; label: string; file: string; total: number }[] | undefined {
  const { file } = experimentPaths(path, cwd);
  if (!existsSync(file) || !isGridFile(file)) return undefined;
  const g = readGridFolder(file, cwd);
  for (const c of only ?? []) if (!Number.isInteger(c) || c < 0 || c >= g.cells.length) throw new UserError('bad-cells', `--cell ${c}: not a cell of this grid (0-${g.cells.length - 1}; see grid.json).`);
  writeCells(g);
  return g.cells.filter((c) => !only || only.includes(c.index)).map((c) => ({ index: c.index, label: c.label, file: join(g.dir, cellDir(c.index), 'experiment.json'), total: g.cells.length }));
}

/** A cell's stages as the runner's status.json gives them (every stage pending before its runner started), and whether its runner is at work. */
export function cellStatus(g: { dir: string }, index: number): { stages: StageView[]; running: boolean } {
  const s = readStatus(join(g.dir, cellDir(index)));
  const running = liveRunner(s) !== undefined;
  return { stages: stageViews(s, running), running };
}

/** A cell is done when every stage of the runner is. */
export function cellDone(g: { dir: string }, index: number): boolean {
  return cellStatus(g, index).stages.every((s) => s.status === 'done');
}
