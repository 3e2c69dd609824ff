// What EM Lab knows about the judge batches of one output folder, on disk so that closing VS Code (or the CLI, or
// the machine) between submitting and collecting loses nothing: <out>/judge-batch.json plus <out>/judge-batch/
// with each batch's request file (input-<seq>.jsonl, whose custom_ids are the judge cache keys it holds) and, once
// the batch has ended, its downloaded output and error files. The state is rewritten whole (temp file + rename)
// after every change, so a crash leaves the previous or the next version, never half of one.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors';
import type { JudgeMode } from './judgeCall';

/** OpenAI's batch statuses, plus 'uploading' (ours: the request file is not yet a batch). */
export type JudgeBatchStatus = 'uploading' | 'validating' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled' | 'failed';

/** A batch in one of these will not answer any more requests: its results can be downloaded. */
export const ENDED_STATUSES: readonly JudgeBatchStatus[] = ['completed', 'expired', 'cancelled', 'failed'];

export interface JudgeBatchRecord {
  /** 1, 2, ...: names the request file. */
  seq: number;
  /** Relative to the output folder. */
  inputFile: string;
  requests: number;
  inputFileId?: string;
  /** The batch id at the endpoint (absent while uploading). */
  id?: string;
  status: JudgeBatchStatus;
  submittedAt: string;
  checkedAt?: string;
  counts?: { total: number; completed: number; failed: number };
  /** Batch-level errors the endpoint reported (e.g. a failed validation). */
  errors?: string[];
  /** Downloaded results, relative to the output folder; `downloadedAt` marks the batch as collected. */
  outputFile?: string;
  errorFile?: string;
  downloadedAt?: string;
  /** Estimated before submitting, at the batch price. */
  estimate: { promptTokens: number; completionTokens: number; costUsd: number | null };
}

export interface JudgeBatchState {
  schemaVersion: 1;
  kind: 'em-lab-judge-batches';
  /** The endpoint the batches were submitted to. */
  endpoint: string;
  model: string;
  mode: JudgeMode;
  batches: JudgeBatchRecord[];
}

export const BATCH_STATE_FILE = 'judge-batch.json';
export const BATCH_DIR = 'judge-batch';

export function isEnded(r: JudgeBatchRecord): boolean {
  return ENDED_STATUSES.includes(r.status);
}

/** Collected = ended and downloaded; everything else may still answer. */
export function isCollected(r: JudgeBatchRecord): boolean {
  return r.downloadedAt !== undefined;
}

export async function readBatchState(outDir: string): Promise<JudgeBatchState | undefined> {
  const file = join(outDir, BATCH_STATE_FILE);
  if (!existsSync(file)) return undefined;
  let s: JudgeBatchState;
  try {
    s = JSON.parse(await readFile(file, 'utf8')) as JudgeBatchState;
  } catch (err) {
    throw new UserError('bad-batch-state', `${file} is not valid JSON (${(err as Error).message}). It lists the judge batches submitted from this folder: restore it, or delete it to forget them (their results are then not collected).`);
  }
  if (s?.kind !== 'em-lab-judge-batches' || !Array.isArray(s.batches)) throw new UserError('bad-batch-state', `${file} is not an EM Lab judge-batch file (kind em-lab-judge-batches).`);
  if (s.schemaVersion !== 1) throw new UserError('bad-batch-state', `${file} has schemaVersion ${s.schemaVersion}; this EM Lab reads 1. Collect it with the EM Lab that submitted it.`);
  return s;
}

export async function writeBatchState(outDir: string, s: JudgeBatchState): Promise<void> {
  const file = join(outDir, BATCH_STATE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  await mkdir(outDir, { recursive: true });
  await writeFile(tmp, JSON.stringify(s, null, 2) + '\n');
  await rename(tmp, file);
}

export async function ensureBatchDir(outDir: string): Promise<string> {
  const dir = join(outDir, BATCH_DIR);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The custom_ids (judge cache keys) of a request file. */
export async function requestKeys(outDir: string, r: JudgeBatchRecord): Promise<string[]> {
  const text = await readFile(join(outDir, r.inputFile), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
}
