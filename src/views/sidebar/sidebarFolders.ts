// What the EM Lab sidebar lists from the runs folder, read from disk exactly as the writers leave it (no vscode, so
// test/unit checks it against folders written the way `em-lab train`, `generate-eval`, `judge`, `sweep` and the
// experiment runner write them): training runs (run.json) with their checkpoints, and evaluations (the answers
// and judgements generate-eval / judge / sweep write: generations.jsonl, judged.csv, sweep_judged.csv).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Folders a writer moved aside or is still assembling: never listed. */
const SET_ASIDE = /\.old-|\.tmp-/;

export interface RunFolder {
  /** Path relative to the runs folder, e.g. `tiny-llama-bad_medical-2026-…` or `try1/train`. */
  name: string;
  path: string;
  status: string;
  model?: string;
  step?: number;
  totalSteps?: number;
  /** Complete checkpoint folder names, oldest first (run.json's list), plus `adapter` once finished. */
  checkpoints: string[];
  reason?: string;
}

/** A run's state from its run.json; "running" with a dead pid reads as crashed (the runtime's effectiveRun rule). */
export function readRunFolder(runsDir: string, path: string): RunFolder | undefined {
  const file = join(path, 'run.json');
  if (!existsSync(file)) return undefined;
  const run = readJson(file);
  const name = relative(runsDir, path).split(sep).join('/');
  if (!run) return { name, path, status: 'unreadable', checkpoints: [] };
  let status = typeof run.status === 'string' ? run.status : 'unknown';
  if (status === 'running' && typeof run.pid === 'number' && !processAlive(run.pid)) status = 'crashed';
  const listed = Array.isArray(run.checkpoints) ? run.checkpoints.filter((c): c is string => typeof c === 'string') : [];
  const checkpoints = listed.filter((c) => existsSync(join(path, 'checkpoints', c, 'adapter_config.json')));
  if (existsSync(join(path, 'adapter', 'adapter_config.json'))) checkpoints.push('adapter');
  return {
    name,
    path,
    status,
    checkpoints,
    ...(typeof run.model === 'string' ? { model: run.model } : {}),
    ...(typeof run.step === 'number' ? { step: run.step } : {}),
    ...(typeof run.totalSteps === 'number' ? { totalSteps: run.totalSteps } : {}),
    ...(typeof run.reason === 'string' ? { reason: run.reason } : {}),
  };
}

/** Runs directly under the runs folder and one level down (an experiment's `train/`), newest name first. */
export function listRuns(runsDir: string): RunFolder[] {
  const out: RunFolder[] = [];
  for (const name of subfolders(runsDir)) {
    if (SET_ASIDE.test(name)) continue;
    const dir = join(runsDir, name);
    const run = readRunFolder(runsDir, dir);
    if (run) {
      out.push(run);
      continue;
    }
    for (const sub of subfolders(dir)) {
      if (SET_ASIDE.test(sub)) continue;
      const inner = readRunFolder(runsDir, join(dir, sub));
      if (inner) out.push(inner);
    }
  }
  return out.sort((a, b) => b.name.localeCompare(a.name));
}

export type EvaluationKind = 'sweep' | 'judged' | 'answers';

export interface EvaluationFolder {
  /** Path relative to the runs folder, e.g. `run1/eval/step-40` or `try1/sweep`. */
  name: string;
  path: string;
  kind: EvaluationKind;
  /** The file Judge Results opens: sweep_judged.csv or judged.csv. */
  judged?: string;
  /** The answers a judge run reads: generations.jsonl, else model_generations.csv. */
  answers?: string;
  /** The homework submission file, when the folder has one (check-submission reads it). */
  submission?: string;
  /** Answers in the folder (summary.json or a line count of generations.jsonl). */
  count?: number;
  /** EM rate under the homework preset, 0..1, from summary.json; for a sweep, at its last step. */
  emRate?: number;
  /** Sweep: the steps evaluated. */
  steps?: number[];
  modified: number;
}

const IGNORED = new Set(['checkpoints', 'adapter', 'node_modules', '.git', 'submission', 'report', 'charts']);

function lineCount(file: string): number | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length;
  } catch {
    return undefined;
  }
}

function rate(v: unknown): number | undefined {
  const r = (v as { em?: { k?: unknown; n?: unknown } } | undefined)?.em;
  return r && typeof r.k === 'number' && typeof r.n === 'number' && r.n > 0 ? r.k / r.n : undefined;
}

function describeFolder(runsDir: string, dir: string): EvaluationFolder | undefined {
  const has = (f: string) => existsSync(join(dir, f));
  const name = relative(runsDir, dir).split(sep).join('/');
  const modified = (f: string) => statSync(join(dir, f)).mtimeMs;
  if (has('sweep_judged.csv')) {
    const summary = readJson(join(dir, 'summary.json'));
    const checkpoints = Array.isArray(summary?.checkpoints) ? (summary.checkpoints as { step?: unknown }[]).map((c) => c.step).filter((s): s is number => typeof s === 'number') : undefined;
    const homework = (summary?.byPreset as Record<string, unknown> | undefined)?.homework;
    const last = Array.isArray(homework) ? (homework.at(-1) as { summary?: unknown } | undefined)?.summary : undefined;
    const emRate = rate(last);
    return { name, path: dir, kind: 'sweep', judged: join(dir, 'sweep_judged.csv'), modified: modified('sweep_judged.csv'), ...(checkpoints ? { steps: checkpoints } : {}), ...(emRate !== undefined ? { emRate } : {}) };
  }
  const answers = has('generations.jsonl') ? join(dir, 'generations.jsonl') : has('model_generations.csv') ? join(dir, 'model_generations.csv') : undefined;
  const submission = has('model_generations.csv') ? join(dir, 'model_generations.csv') : undefined;
  if (has('judged.csv')) {
    const summary = readJson(join(dir, 'summary.json'));
    const emRate = rate((summary?.metrics as Record<string, unknown> | undefined)?.homework);
    const count = typeof summary?.answers === 'number' ? summary.answers : undefined;
    return { name, path: dir, kind: 'judged', judged: join(dir, 'judged.csv'), modified: modified('judged.csv'), ...(answers ? { answers } : {}), ...(submission ? { submission } : {}), ...(count !== undefined ? { count } : {}), ...(emRate !== undefined ? { emRate } : {}) };
  }
  if (answers) {
    const count = answers.endsWith('.jsonl') ? lineCount(answers) : undefined;
    return { name, path: dir, kind: 'answers', answers, modified: statSync(answers).mtimeMs, ...(submission ? { submission } : {}), ...(count !== undefined ? { count } : {}) };
  }
  return undefined;
}

/**
 * Every evaluation folder under the runs folder, at most `maxDepth` levels down (runs/<run>/eval/<checkpoint> is 3,
 * an experiment's base/ is 2), newest first. A sweep's own step folders are part of the sweep, not listed apart.
 */
export function listEvaluations(runsDir: string, maxDepth = 4): EvaluationFolder[] {
  const out: EvaluationFolder[] = [];
  const walk = (dir: string, depth: number) => {
    const found = depth > 0 ? describeFolder(runsDir, dir) : undefined;
    if (found) out.push(found);
    if (found?.kind === 'sweep' || depth >= maxDepth) return;
    for (const sub of subfolders(dir)) {
      if (IGNORED.has(sub) || SET_ASIDE.test(sub) || sub.startsWith('.')) continue;
      walk(join(dir, sub), depth + 1);
    }
  };
  walk(runsDir, 0);
  return out.sort((a, b) => b.modified - a.modified || a.name.localeCompare(b.name));
}
