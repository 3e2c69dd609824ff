// An experiment grid: experiment.json plus "grid": {"<field path>": [values...], ...} (e.g. "data.domains":
// [["bad_medical"], ["risky_financial"]], "training.seed": [0, 1]). Cell K takes the K-th combination, row-major over
// the keys in file order (the first key varies slowest), and is an ordinary experiment written to
// <experiment>/cells/<K>/experiment.json: those values substituted, "grid" removed, its name suffixed -c<K>, and
// paths the file holds relative to the experiment folder rebased onto the cell folder. The runner (`em-lab experiment
// run`) runs a cell like any experiment, in its own folder, so cells never write to the same files.
import { posix } from 'node:path';
import { UserError } from '../errors';
import { isRepoId } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface GridSpec {
  /** Field paths, in file order, e.g. "training.seed". */
  keys: string[];
  /** values[i]: the values of keys[i]. */
  values: Json[][];
}

export interface GridCell {
  index: number;
  /** Key -> this cell's value. */
  values: Record<string, Json>;
  /** e.g. "data.domains=bad_medical training.seed=1". */
  label: string;
}

export const CELLS_DIR = 'cells';
/** Most cells one grid may have (one array task each; SLURM's MaxArraySize is 1001 by default). */
export const MAX_CELLS = 1000;

/** Fields a grid cannot vary: they name the file or the grid itself. */
const FIXED_FIELDS = new Set(['schemaVersion', 'kind', 'name', 'createdAt', 'emLabVersion', 'preset', 'grid', 'description']);

function kindOf(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function getPath(obj: JsonObject, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(part in cur)) return undefined;
    cur = (cur as JsonObject)[part];
  }
  return cur;
}

function setPath(obj: JsonObject, path: string, value: Json): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) cur = cur[part] as JsonObject;
  cur[parts.at(-1)!] = value;
}

function siblings(obj: JsonObject, path: string): string[] {
  const parent = path.includes('.') ? getPath(obj, path.slice(0, path.lastIndexOf('.'))) : obj;
  const prefix = path.includes('.') ? path.slice(0, path.lastIndexOf('.') + 1) : '';
  return parent && typeof parent === 'object' && !Array.isArray(parent) ? Object.keys(parent).map((k) => prefix + k) : [];
}

/** The nearest known field name, for "did you mean" (edit distance, case-insensitive). */
function closest(name: string, known: string[]): string | undefined {
  const d = (a: string, b: string) => {
    const m = a.length, n = b.length;
    const row = Array.from({ length: n + 1 }, (_, j) => j);
    for (let i = 1; i <= m; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= n; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[n]!;
  };
  const best = known.map((k) => ({ k, dist: d(name.toLowerCase().replace(/_/g, ''), k.toLowerCase()) })).sort((a, b) => a.dist - b.dist)[0];
  return best && best.dist <= Math.max(2, Math.floor(name.length / 3)) ? best.k : undefined;
}

/** Reads and checks "grid" of an experiment file's JSON. Undefined when there is none. */
export function parseGrid(raw: JsonObject, file: string): GridSpec | undefined {
  const grid = raw.grid;
  if (grid === undefined) return undefined;
  const bad = (msg: string): never => {
    throw new UserError('grid-invalid', `${file}: grid${msg}`);
  };
  if (grid === null || typeof grid !== 'object' || Array.isArray(grid)) bad(' must be an object of field paths to lists of values, e.g. {"training.seed": [0, 1], "data.domains": [["bad_medical"], ["risky_financial"]]}.');
  const keys = Object.keys(grid as JsonObject);
  if (!keys.length) bad(' is empty: name at least one field to vary, e.g. "training.seed": [0, 1].');
  const values: Json[][] = [];
  let cells = 1;
  for (const key of keys) {
    const list = (grid as JsonObject)[key];
    const current = getPath(raw, key);
    if (FIXED_FIELDS.has(key.split('.')[0]!)) bad(`.${key}: ${key.split('.')[0]} cannot vary across cells.`);
    if (current === undefined) {
      const hint = closest(key.split('.').at(-1)!, siblings(raw, key).map((s) => s.split('.').at(-1)!));
      bad(`.${key}: experiment.json has no field ${key}${hint ? `; did you mean ${key.includes('.') ? key.slice(0, key.lastIndexOf('.') + 1) : ''}${hint}?` : ' (grid keys are field paths such as training.seed, training.loraRank, training.learningRate, data.domains)'}.`);
    }
    if (!Array.isArray(list) || list.length === 0) bad(`.${key} must be a non-empty list of values, e.g. [${JSON.stringify(current)}].`);
    const want = kindOf(current!);
    (list as Json[]).forEach((v, i) => {
      if (kindOf(v) !== want) bad(`.${key}[${i}] is ${kindOf(v)} ${JSON.stringify(v)}, but ${key} holds a${/^[aeio]/.test(want) ? 'n' : ''} ${want} (${JSON.stringify(current)}).`);
    });
    const seen = new Set((list as Json[]).map((v) => JSON.stringify(v)));
    if (seen.size !== (list as Json[]).length) bad(`.${key} lists a value twice: each combination would run twice.`);
    values.push(list as Json[]);
    cells *= (list as Json[]).length;
  }
  if (cells > MAX_CELLS) bad(` has ${cells} cells; at most ${MAX_CELLS} (one SLURM array task each). Split it into several experiments.`);
  return { keys, values };
}

export function expandGrid(spec: GridSpec): GridCell[] {
  const total = spec.values.reduce((n, v) => n * v.length, 1);
  const cells: GridCell[] = [];
  for (let index = 0; index < total; index++) {
    const values: Record<string, Json> = {};
    let rest = index;
    // Row-major: the last key varies fastest.
    for (let k = spec.keys.length - 1; k >= 0; k--) {
      const n = spec.values[k]!.length;
      values[spec.keys[k]!] = spec.values[k]![rest % n]!;
      rest = Math.floor(rest / n);
    }
    const ordered = Object.fromEntries(spec.keys.map((k) => [k, values[k]!]));
    cells.push({ index, values: ordered, label: spec.keys.map((k) => `${k}=${labelOf(values[k]!)}`).join(' ') });
  }
  return cells;
}

function labelOf(v: Json): string {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('+') : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Paths experiment.json stores relative to its folder: a cell folder is two levels below. */
function rebase(p: Json): Json {
  if (typeof p !== 'string' || !p || posix.isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p)) return p;
  return posix.join('..', '..', p.replace(/\\/g, '/'));
}

/** The experiment file of one cell. `raw` is the grid experiment's JSON; it is not changed. */
export function cellExperiment(raw: JsonObject, cell: GridCell): JsonObject {
  const x = JSON.parse(JSON.stringify(raw)) as JsonObject;
  delete x.grid;
  for (const [k, v] of Object.entries(cell.values)) setPath(x, k, JSON.parse(JSON.stringify(v)) as Json);
  x.name = `${String(raw.name)}-c${cell.index}`;
  x.description = `Cell ${cell.index} of the grid ${String(raw.name)}: ${cell.label}.${typeof raw.description === 'string' && raw.description ? ` ${raw.description}` : ''}`;
  // The path fields of experiment.json (docs/experiment.md): the model folder, data, question files, judge prompts.
  if (typeof x.model === 'string' && x.model !== TINY_LLAMA_ID && !isRepoId(x.model)) x.model = rebase(x.model);
  const data = x.data as JsonObject | undefined;
  if (data && typeof data === 'object') {
    if (data.dataDir !== undefined) data.dataDir = rebase(data.dataDir);
    if (Array.isArray(data.files)) data.files = data.files.map(rebase);
  }
  const judge = x.judge as JsonObject | undefined;
  if (judge && typeof judge === 'object' && judge.prompts !== undefined) judge.prompts = rebase(judge.prompts);
  const evaluation = x.evaluation as JsonObject | undefined;
  if (evaluation && Array.isArray(evaluation.questions)) {
    for (const q of evaluation.questions) if (q && typeof q === 'object' && !Array.isArray(q) && 'file' in q) (q as JsonObject).file = rebase((q as JsonObject).file!);
  }
  return x;
}

export function cellDir(index: number): string {
  return posix.join(CELLS_DIR, String(index));
}
