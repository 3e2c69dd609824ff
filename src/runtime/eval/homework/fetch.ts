// `em-lab homework fetch` / "EM Lab: Get Homework Files": the public homework repository's files, downloaded into
// a folder (the workspace) when the student has no checkout. Everything is downloaded before anything is written,
// so offline or a missing file leaves the folder as it was; a file the student already has with other content is
// kept (it may hold their work) and reported.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CancelledError, UserError } from '../../errors';
import { HOMEWORK_FILES, HOMEWORK_REPO } from './checkout';

/** Where raw files are served from: <base>/<ref>/<path>. */
export const HOMEWORK_RAW_URL = `https://raw.githubusercontent.com/${HOMEWORK_REPO}`;

/** The grader's files (required: the homework preset reads them) and the rest of the homework. */
const REQUIRED: readonly string[] = [HOMEWORK_FILES.medical, HOMEWORK_FILES.nonMedical, HOMEWORK_FILES.judge, HOMEWORK_FILES.baseJudged];
const OPTIONAL: readonly string[] = [HOMEWORK_FILES.runTests, HOMEWORK_FILES.baseGenerations, HOMEWORK_FILES.generate, HOMEWORK_FILES.trainingDetails, 'README.md', 'train.py', 'sandbox.py', 'eval/query_utils.py', 'eval/run_tests.sh'];

export interface FetchHomeworkOptions {
  destination: string;
  /** Branch, tag or commit. Default main. */
  ref?: string;
  /** Default HOMEWORK_RAW_URL (a mirror, or a local server in tests). */
  baseUrl?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction?: number) => void;
}

export interface FetchHomeworkResult {
  dir: string;
  written: string[];
  /** Already there with the same bytes. */
  unchanged: string[];
  /** Already there with other content: kept as they are. */
  kept: string[];
  /** Optional files the repository does not have (404). */
  missing: string[];
}

function manualHint(dest: string): string {
  return `Get the homework another way: git clone https://github.com/${HOMEWORK_REPO}, or download the ZIP from https://github.com/${HOMEWORK_REPO}, and open that folder. Nothing was written to ${dest}.`;
}

async function download(url: string, o: FetchHomeworkOptions): Promise<Buffer | 'missing'> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs ?? 30_000);
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort);
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (err) {
      if (o.signal?.aborted) throw new CancelledError('Download cancelled; nothing was written.');
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UserError('homework-download-failed', `Could not reach ${new URL(url).host} (${cause?.code ?? cause?.message ?? (err as Error).message}); are you offline? ${manualHint(o.destination)}`);
    }
    if (res.status === 404) return 'missing';
    if (!res.ok) throw new UserError('homework-download-failed', `${url}: HTTP ${res.status} ${res.statusText}. Try again later, or check --ref. ${manualHint(o.destination)}`);
    return Buffer.from(await res.arrayBuffer());
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

export async function fetchHomework(o: FetchHomeworkOptions): Promise<FetchHomeworkResult> {
  const base = (o.baseUrl ?? HOMEWORK_RAW_URL).replace(/\/+$/, '');
  const ref = o.ref ?? 'main';
  const files = [...REQUIRED, ...OPTIONAL];
  const got = new Map<string, Buffer>();
  const missing: string[] = [];
  for (const [i, file] of files.entries()) {
    o.onProgress?.(`Downloading ${file}`, i / files.length);
    const body = await download(`${base}/${encodeURIComponent(ref)}/${file}`, o);
    if (body !== 'missing') got.set(file, body);
    else if (REQUIRED.includes(file)) throw new UserError('homework-download-failed', `${base}/${ref}/${file} does not exist (HTTP 404): the homework preset needs it. Check --ref (a branch, tag or commit of ${HOMEWORK_REPO}). ${manualHint(o.destination)}`);
    else missing.push(file);
  }
  o.onProgress?.('Writing the files', 1);
  const result: FetchHomeworkResult = { dir: o.destination, written: [], unchanged: [], kept: [], missing };
  for (const [file, body] of got) {
    const path = join(o.destination, file);
    if (existsSync(path)) {
      (readFileSync(path).equals(body) ? result.unchanged : result.kept).push(file);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.download`, body);
    renameSync(`${path}.download`, path);
    result.written.push(file);
  }
  return result;
}
