// The run directory is the truth about a training run (docs/run-directory.md): run.json (status, pid, heartbeat,
// progress), training_config.json, data_manifest.json, metrics.jsonl (one line per optimizer step), checkpoints/
// and training_details.md. Readers (CLI status, the webview after a reload, the sidebar) never need the process
// that wrote it: a "running" run whose pid is gone, or whose heartbeat is stale, is reported as crashed.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, writeFileAtomic, writeJsonAtomic } from '../atomicFiles';
import { readJsonFile } from '../jsonFile';
import type { MetricsView, RunStatusView, RunView } from '../../protocol/trainMethods';
import { epochFields } from './epochs';

export const RUN_SCHEMA = 1;

/**
 * A new run's (or experiment's) folder name: `<model>-<data>[-<suffix>]-<UTC time>`, e.g.
 * `tiny-llama-bad_medical-2026-12-01T10-00-00`; several data sources are joined with '_'. The one naming rule for
 * `em-lab train`, the training view (train/start) and experiments (with the preset as suffix).
 */
export function runFolderName(model: string, domains: readonly string[], dataFiles: readonly string[], suffix?: string, now = new Date()): string {
  const what = [...domains, ...dataFiles.map((f) => f.split(/[\\/]/).pop()!.replace(/\.jsonl$/, ''))].join('+') || 'data';
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return [model.split(/[\\/]/).pop(), what, suffix, stamp].filter(Boolean).join('-').replace(/[^A-Za-z0-9._+-]/g, '_').replace(/\+/g, '_');
}

export type RunStatus = RunStatusView;

/** <run>/run.json: what the protocol's RunView shows (documented there), plus what only the disk keeps. */
export interface RunJson extends Omit<RunView, 'runDir'> {
  schemaVersion: number;
  kind: 'train';
  pid: number;
  finishedAt?: string;
  deviceNote?: string;
  finalAdapter?: string;
  wallSeconds: number;
}

/** One metrics.jsonl line: the protocol's MetricsView plus the step's supervised-token count. */
export interface MetricsLine extends MetricsView {
  supervised_tokens: number;
}

export const runJsonPath = (dir: string) => join(dir, 'run.json');
export const metricsPath = (dir: string) => join(dir, 'metrics.jsonl');
export const checkpointsDir = (dir: string) => join(dir, 'checkpoints');

export function writeRunJson(dir: string, run: RunJson): void {
  // in place when the disk is full: the failure status must reach the disk even then
  writeJsonAtomic(runJsonPath(dir), run, { inPlaceOnFullDisk: true });
}

/** run.json, or undefined when there is none; a damaged one is an error that says so (not "no run"). */
export function readRunJson(dir: string): RunJson | undefined {
  if (!existsSync(runJsonPath(dir))) return undefined;
  const run = readJsonFile(runJsonPath(dir), 'run-json-invalid', 'It was damaged outside EM Lab: restore it, or start over with `em-lab train --no_resume` (the checkpoints are kept in the moved-aside folder).') as unknown as RunJson;
  // run.json written before the epoch fields existed (a 0-based "epoch"): derive them from metrics.jsonl.
  if (typeof run.epochsDone !== 'number') Object.assign(run, epochFields(readMetrics(dir).filter((m) => m.step <= run.step).at(-1)?.epoch ?? 0, run.numEpochs));
  return run;
}

/** run.json as a reader should show it: a "running" run whose process is gone becomes failed (crashed). */
export function effectiveRun(dir: string): RunJson | undefined {
  const run = readRunJson(dir);
  if (!run || run.status !== 'running') return run;
  if (run.pid !== process.pid && !pidAlive(run.pid)) {
    return { ...run, status: 'failed', reason: `crashed: the training process (pid ${run.pid}) is gone; last heartbeat ${run.heartbeat}. Resume with \`em-lab train --resume ${dir}\`.` };
  }
  return run;
}

export function appendMetrics(dir: string, line: MetricsLine): void {
  appendFileSync(metricsPath(dir), JSON.stringify(line) + '\n');
}

export function readMetrics(dir: string): MetricsLine[] {
  if (!existsSync(metricsPath(dir))) return [];
  return readFileSync(metricsPath(dir), 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as MetricsLine];
    } catch {
      return []; // a torn last line from a kill mid-write
    }
  });
}

/** On resume from step N: keep only metric lines of steps <= N (later ones are recomputed identically). */
export function truncateMetrics(dir: string, step: number): void {
  const path = metricsPath(dir);
  if (!existsSync(path)) return;
  const keep = readMetrics(dir).filter((m) => m.step <= step);
  writeFileAtomic(path, keep.map((m) => JSON.stringify(m) + '\n').join(''));
}

/** Checkpoint folders step-<N> sorted by N, only complete ones (those with trainer_state.json). */
export function listCheckpoints(dir: string): { name: string; step: number }[] {
  const cp = checkpointsDir(dir);
  if (!existsSync(cp)) return [];
  return readdirSync(cp)
    .map((name) => ({ name, m: /^step-(\d+)$/.exec(name) }))
    .filter((x) => x.m && existsSync(join(cp, x.name, 'trainer_state.json')))
    .map((x) => ({ name: x.name, step: Number(x.m![1]) }))
    .sort((a, b) => a.step - b.step);
}
