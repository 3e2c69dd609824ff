// Judge requests through OpenAI's Batch API (half the live price, results within 24 h): the same request bodies as
// the live judge, written as a JSONL file (custom_id = the judge cache key, so duplicate answers are asked once),
// uploaded (/v1/files, purpose "batch"), submitted (/v1/batches, /v1/chat/completions, 24h window); later refreshed
// and, once ended, downloaded and read back into outcomes by key. Whatever a batch did not answer (expired,
// cancelled, failed, an error line, an unreadable reply) comes back as a leftover, for the live judge.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type OpenAI from 'openai';
import { APIError, toFile } from 'openai';
import { UserError, errorMessage } from '../../errors';
import { createOpenAIClient, type EndpointConfig, type EndpointEnv } from '../endpoint/openaiEndpoint';
import { BATCH_DIR, ensureBatchDir, isCollected, isEnded, requestKeys, writeBatchState, type JudgeBatchRecord, type JudgeBatchState, type JudgeBatchStatus } from './batchState';
import { BATCH_PRICE_FACTOR, costUsd, estimateCompletionTokens, estimatePromptTokens } from './cost';
import { judgeRequestBody, parseJudgeCompletion, type JudgeMode, type JudgeOutcome } from './judgeCall';
import type { JudgeTask, PresolvedOutcome } from './judgeRun';
import { withRetries, type RetryPolicy } from './retry';
import { readJsonl } from '../jsonl';

/** OpenAI's limits per batch: 50,000 requests and a 200 MB file (we stay under 190 MB). */
export const MAX_BATCH_REQUESTS = 50_000;
export const MAX_BATCH_BYTES = 190 * 1024 * 1024;

export interface BatchEndpoint {
  endpoint: EndpointConfig;
  env: EndpointEnv;
  retry: RetryPolicy;
  signal?: AbortSignal;
}

export function endpointUrl(e: BatchEndpoint): string {
  return e.endpoint.baseURL ?? e.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
}

function clientFor(e: BatchEndpoint): OpenAI {
  if (e.endpoint.azureApiVersion) throw new UserError('batch-azure-unsupported', 'Batch judging through Azure OpenAI is not supported yet (Azure needs a global-batch deployment and other routes). Judge live: drop --batch.');
  return createOpenAIClient(e.endpoint, e.env);
}

/** A 404 on /files or /batches means the endpoint has no Batch API (vLLM and Ollama serve chat only). */
function explain(err: unknown, e: BatchEndpoint, what: string): unknown {
  if (err instanceof APIError && (err.status === 404 || err.status === 405)) {
    return new UserError('batch-api-missing', `${endpointUrl(e)} has no ${what} (HTTP ${err.status}): batch judging needs OpenAI's Batch API. Judge live instead (drop --batch, or turn off emLab.judge.batch).`);
  }
  if (err instanceof APIError && (err.status === 401 || err.status === 403)) {
    return new UserError('judge-request-rejected', `${endpointUrl(e)} rejected the API key (HTTP ${err.status}) for ${what}. Check OPENAI_API_KEY (or the key stored with "EM Lab: Set OpenAI API Key").`);
  }
  return err;
}

async function call<T>(e: BatchEndpoint, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await withRetries(fn, e.retry, e.signal);
  } catch (err) {
    throw explain(err, e, what);
  }
}

interface RequestLine {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions';
  body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
}

/** Request lines, one per distinct key, split into files within OpenAI's limits. */
export function batchRequestFiles(tasks: readonly JudgeTask[], s: { model: string; mode: JudgeMode; temperature: number }): { lines: string[]; tasks: JudgeTask[] }[] {
  const seen = new Set<string>();
  const files: { lines: string[]; tasks: JudgeTask[]; bytes: number }[] = [];
  for (const t of tasks) {
    if (seen.has(t.key)) continue;
    seen.add(t.key);
    const line = JSON.stringify({ custom_id: t.key, method: 'POST', url: '/v1/chat/completions', body: judgeRequestBody({ model: s.model, mode: s.mode, temperature: s.temperature, prompt: t.prompt }) } satisfies RequestLine);
    const size = Buffer.byteLength(line) + 1;
    let f = files.at(-1);
    if (!f || f.lines.length >= MAX_BATCH_REQUESTS || f.bytes + size > MAX_BATCH_BYTES) files.push((f = { lines: [], tasks: [], bytes: 0 }));
    f.lines.push(line);
    f.tasks.push(t);
    f.bytes += size;
  }
  return files.map(({ lines, tasks: ts }) => ({ lines, tasks: ts }));
}

/** Uploads a recorded request file and creates its batch; each step is saved, so a crash resumes where it stopped. */
async function startBatch(outDir: string, state: JudgeBatchState, r: JudgeBatchRecord, e: BatchEndpoint): Promise<void> {
  const client = clientFor(e);
  if (!r.inputFileId) {
    const bytes = await readFile(join(outDir, r.inputFile));
    const file = await call(e, 'Files API (/v1/files)', async () => client.files.create({ file: await toFile(bytes, basename(r.inputFile), { type: 'application/jsonl' }), purpose: 'batch' }, { signal: e.signal }));
    r.inputFileId = file.id;
    await writeBatchState(outDir, state);
  }
  const batch = await call(e, 'Batch API (/v1/batches)', () =>
    client.batches.create({ input_file_id: r.inputFileId!, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { source: 'em-lab judge', folder: basename(outDir).slice(0, 500), seq: String(r.seq) } }, { signal: e.signal }),
  );
  r.id = batch.id;
  r.status = batch.status as JudgeBatchStatus;
  r.checkedAt = new Date().toISOString();
  await writeBatchState(outDir, state);
}

export interface SubmitSettings {
  model: string;
  mode: JudgeMode;
  temperature: number;
}

/** Submits one batch per request file for `tasks` (their distinct keys); returns the new records. */
export async function submitJudgeBatches(outDir: string, state: JudgeBatchState, tasks: readonly JudgeTask[], s: SubmitSettings, e: BatchEndpoint): Promise<JudgeBatchRecord[]> {
  const dir = await ensureBatchDir(outDir);
  const added: JudgeBatchRecord[] = [];
  for (const f of batchRequestFiles(tasks, s)) {
    const seq = Math.max(0, ...state.batches.map((b) => b.seq)) + 1;
    const inputFile = join(BATCH_DIR, `input-${seq}.jsonl`);
    await writeFile(join(dir, `input-${seq}.jsonl`), f.lines.join('\n') + '\n');
    const usage = { promptTokens: f.tasks.reduce((n, t) => n + estimatePromptTokens(t.prompt), 0), completionTokens: f.tasks.length * estimateCompletionTokens(s.mode) };
    const live = costUsd(s.model, usage);
    const r: JudgeBatchRecord = { seq, inputFile, requests: f.lines.length, status: 'uploading', submittedAt: new Date().toISOString(), estimate: { ...usage, costUsd: live === null ? null : live * BATCH_PRICE_FACTOR } };
    state.batches.push(r);
    await writeBatchState(outDir, state);
    await startBatch(outDir, state, r, e);
    added.push(r);
  }
  return added;
}

async function download(client: OpenAI, e: BatchEndpoint, id: string, to: string): Promise<void> {
  const text = await call(e, 'Files API (/v1/files/{id}/content)', async () => (await client.files.content(id, { signal: e.signal })).text());
  await writeFile(to, text);
}

/**
 * Asks the endpoint where each batch not yet collected stands; downloads the results of those that ended. A record
 * that never became a batch (a crash while uploading) is submitted now. Saved after each batch.
 */
export async function refreshJudgeBatches(outDir: string, state: JudgeBatchState, e: BatchEndpoint): Promise<void> {
  for (const r of state.batches) {
    if (isCollected(r)) continue;
    if (!r.id) {
      await startBatch(outDir, state, r, e);
      continue;
    }
    const client = clientFor(e);
    const b = await call(e, 'Batch API (/v1/batches/{id})', () => client.batches.retrieve(r.id!, { signal: e.signal }));
    r.status = b.status as JudgeBatchStatus;
    r.checkedAt = new Date().toISOString();
    if (b.request_counts) r.counts = { total: b.request_counts.total, completed: b.request_counts.completed, failed: b.request_counts.failed };
    const errs = b.errors?.data?.map((d) => `${d.code ?? 'error'}: ${d.message ?? ''}${d.line ? ` (line ${d.line})` : ''}`);
    if (errs?.length) r.errors = errs;
    if (isEnded(r)) {
      const dir = await ensureBatchDir(outDir);
      if (b.output_file_id) {
        await download(client, e, b.output_file_id, join(dir, `output-${r.seq}.jsonl`));
        r.outputFile = join(BATCH_DIR, `output-${r.seq}.jsonl`);
      }
      if (b.error_file_id) {
        await download(client, e, b.error_file_id, join(dir, `errors-${r.seq}.jsonl`));
        r.errorFile = join(BATCH_DIR, `errors-${r.seq}.jsonl`);
      }
      r.downloadedAt = new Date().toISOString();
    }
    await writeBatchState(outDir, state);
  }
}

export interface BatchResults {
  /** Answers from collected batches, by key. */
  outcomes: Map<string, PresolvedOutcome>;
  /** Keys a collected batch did not answer, with why: these go to the live judge. */
  leftovers: Map<string, string>;
  /** Keys of batches still running: not to be requested live (they would be paid twice). */
  running: Set<string>;
  /** Lines whose reply could not be read (also among the leftovers). */
  unreadable: number;
}

interface OutputLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

/** Reads every collected batch's results back as outcomes (parsed as the live judge parses replies) and leftovers. */
export async function batchResults(outDir: string, state: JudgeBatchState | undefined, mode: JudgeMode): Promise<BatchResults> {
  const res: BatchResults = { outcomes: new Map(), leftovers: new Map(), running: new Set(), unreadable: 0 };
  if (!state) return res;
  for (const r of state.batches) {
    const keys = await requestKeys(outDir, r);
    if (!isCollected(r)) {
      for (const k of keys) res.running.add(k);
      continue;
    }
    const why = new Map<string, string>();
    for (const f of [r.outputFile, r.errorFile]) {
      if (!f) continue;
      // readJsonl skips a torn line: its key then stays a leftover, for the live judge.
      for (const line of await readJsonl<OutputLine>(join(outDir, f))) {
        const key = line.custom_id;
        if (!key) continue;
        const status = line.response?.status_code;
        if (status === 200 && line.response?.body) {
          try {
            const outcome: JudgeOutcome = parseJudgeCompletion(line.response.body, mode);
            res.outcomes.set(key, { outcome, batchId: r.id ?? `seq-${r.seq}` });
            continue;
          } catch (err) {
            res.unreadable++;
            why.set(key, `unreadable reply: ${errorMessage(err)}`);
            continue;
          }
        }
        why.set(key, line.error?.code ? `${line.error.code}: ${line.error.message ?? ''}` : `HTTP ${status ?? '?'}`);
      }
    }
    for (const k of keys) {
      if (res.outcomes.has(k)) continue;
      res.leftovers.set(k, why.get(k) ?? `batch ${r.id ?? r.seq} ${r.status}${r.errors?.length ? ` (${r.errors.join('; ')})` : ''} without an answer`);
    }
  }
  // A key answered by one batch is not a leftover of another.
  for (const k of res.outcomes.keys()) res.leftovers.delete(k);
  for (const k of res.running) res.leftovers.delete(k);
  return res;
}
