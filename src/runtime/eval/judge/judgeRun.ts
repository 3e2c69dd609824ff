// Judging a set of answers for alignment and coherence: every (answer, metric) pair is one task. Results go to
// judgements.jsonl as they arrive (append-only), so a crash or cancel loses nothing and a rerun skips what is
// done; a persistent cache makes re-judging the same answer with the same judge free; at the end judged.csv
// (the homework's columns plus ours) and summary.json (metrics under all three presets, usage, cost) are written.
import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { CancelledError, UserError, errorMessage } from '../../errors';
import { createOpenAIClient, resolveEndpoint, type EndpointConfig, type EndpointEnv } from '../endpoint/openaiEndpoint';
import type { JudgedAnswer, Score } from '../judgedAnswer';
import { formatJudgedCsv } from '../judgedCsv';
import { JsonlAppender, readJsonl } from '../jsonl';
import { summarize, type MetricSummary } from '../metrics';
import { runPool } from '../pool';
import { PRESETS } from '../presets';
import { JudgeCache, judgeCacheKey } from './cache';
import { addUsage, costUsd, totalCost, estimateCompletionTokens, estimatePromptTokens, type TokenUsage } from './cost';
import { callJudge, type JudgeMode, type JudgeOutcome } from './judgeCall';
import { parseSampledReply } from './scoring';
import { withRetries, type RetryLog, type RetryPolicy } from './retry';
import { AdaptiveLimiter } from './adaptiveLimiter';
import { fillPrompt, type JudgeMetric, type JudgePrompt } from './rubrics';

export interface AnswerToJudge {
  id: string;
  question: string;
  response: string;
  /** Carried to judged.csv (step, model, sample, ...). */
  extra: Record<string, string>;
}

export interface JudgeSettings {
  model: string;
  mode: JudgeMode;
  temperature: number;
  prompts: Record<JudgeMetric, JudgePrompt>;
  endpoint: EndpointConfig;
  concurrency: number;
  retry: RetryPolicy;
}

export interface JudgeRunOptions extends JudgeSettings {
  answers: readonly AnswerToJudge[];
  /** Folder for judgements.jsonl, judged.csv and summary.json. */
  outDir: string;
  /** Persistent cache folder; undefined disables the cache. */
  cacheDir?: string;
  env: EndpointEnv;
  signal?: AbortSignal;
  /** Called after each task completes (from the run file, the cache or the endpoint). */
  onProgress?: (done: number, total: number) => void;
  /** Called once before any request with what the run will cost. */
  onEstimate?: (e: JudgeEstimate) => void;
  /** Outcomes that came back from a batch (judgeBatch.ts), by cache key: used before the cache and the endpoint. */
  presolved?: ReadonlyMap<string, PresolvedOutcome>;
  /** Keys a running batch will answer: their tasks are left pending, not requested live (not paid twice). */
  defer?: ReadonlySet<string>;
  /** false: request nothing live; what the run file, the cache and `presolved` do not give stays pending. Default true. */
  live?: boolean;
}

export interface PresolvedOutcome {
  outcome: JudgeOutcome;
  batchId: string;
}

export interface JudgeEstimate {
  tasks: number;
  alreadyDone: number;
  cached: number;
  /** Answered by batch results now at hand. */
  fromBatch: number;
  /** Left pending (a running batch holds them, or live requests are off). */
  waiting: number;
  toRequest: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
}

export interface JudgementRecord {
  schemaVersion: 1;
  answerId: string;
  metric: JudgeMetric;
  key: string;
  model: string;
  mode: JudgeMode;
  promptSource: string;
  outcome: JudgeOutcome;
  cached: boolean;
  /** 'batch' when the outcome came from a batch (batchId); absent for the live endpoint and the cache. */
  via?: 'batch';
  batchId?: string;
  attempts: number;
  failures: string[];
  at: string;
}

export interface JudgeRunResult {
  judged: JudgedAnswer[];
  /** The judge's reply text per answer id and metric (absent where no reply came: the grader's ERROR). */
  replies: Record<string, Partial<Record<JudgeMetric, string>>>;
  tasks: number;
  fromRunFile: number;
  fromCache: number;
  /** Judgements taken from batch results in this run. */
  fromBatch: number;
  /** Tasks left unjudged because a running batch holds them (`defer`) or live requests were off; 0 = complete. */
  pending: number;
  requested: number;
  /** HTTP attempts made (requests plus retries). */
  attempts: number;
  failed: { answerId: string; metric: JudgeMetric; error: string }[];
  usage: TokenUsage;
  /** Tokens of the batch results merged in this run (billed at BATCH_PRICE_FACTOR). */
  batchUsage: TokenUsage;
  costUsd: number | null;
  estimate: JudgeEstimate;
  summary: SummaryJson;
}

export interface SummaryJson {
  schemaVersion: 1;
  createdAt: string;
  judge: { model: string; mode: JudgeMode; temperature: number; baseURL: string | null; prompts: Record<JudgeMetric, string> };
  answers: number;
  failedTasks: number;
  usage: TokenUsage;
  /** Batch results merged in this run: their tokens (costUsd counts them at the batch price). */
  batchUsage?: TokenUsage;
  costUsd: number | null;
  metrics: Record<'homework' | 'paper' | 'betley', MetricSummary>;
}

const METRICS: JudgeMetric[] = ['aligned', 'coherent'];

export interface JudgeTask {
  answer: AnswerToJudge;
  metric: JudgeMetric;
  key: string;
  prompt: string;
}

function taskId(answerId: string, metric: JudgeMetric): string {
  return `${answerId}\u0000${metric}`;
}

/**
 * A sampled reply stored by an earlier run or the cache is read again from its raw text, so scores always follow
 * the current rule (the grader's parse_score) whichever EM Lab version stored them.
 */
function reread(o: JudgeOutcome, mode: JudgeMode): JudgeOutcome {
  if (mode !== 'sampled') return o;
  const { label: _old, ...rest } = o;
  const s = parseSampledReply(o.raw);
  return { ...rest, score: s.value, ...(s.label ? { label: s.label } : {}) };
}

function toScore(o: JudgeOutcome | undefined): Score {
  if (!o) return { value: null, label: 'invalid' };
  return o.score !== null ? { value: o.score } : { value: null, label: o.label ?? 'invalid' };
}

export function checkUniqueIds(answers: readonly AnswerToJudge[], source: string): void {
  const seen = new Set<string>();
  for (const a of answers) {
    if (!a.id) throw new UserError('empty-id', `${source}: an answer has an empty id (question "${a.question.slice(0, 60)}"). Give every answer a unique id.`);
    if (seen.has(a.id)) throw new UserError('duplicate-id', `${source}: the id "${a.id}" appears twice. Ids must be unique so results can be matched and resumed.`);
    seen.add(a.id);
  }
}

/** Every (answer, metric) pair with its cache key and filled-in prompt: what the live judge and a batch both send. */
export function judgeTasks(answers: readonly AnswerToJudge[], o: Pick<JudgeSettings, 'model' | 'mode' | 'prompts'>): JudgeTask[] {
  return answers.flatMap((answer) =>
    METRICS.map((metric) => {
      const template = o.prompts[metric].template;
      return { answer, metric, key: judgeCacheKey(o.model, o.mode, template, answer.question, answer.response), prompt: fillPrompt(template, answer.question, answer.response) };
    }),
  );
}

/** Tasks already recorded in <outDir>/judgements.jsonl with the same key (the latest record per task wins). */
export async function readJudgementRecords(outDir: string): Promise<Map<string, JudgementRecord>> {
  const done = new Map<string, JudgementRecord>();
  for (const r of await readJsonl<JudgementRecord>(join(outDir, 'judgements.jsonl'))) if (r && r.answerId !== undefined && r.metric) done.set(taskId(r.answerId, r.metric), r);
  return done;
}

export function isTaskDone(done: ReadonlyMap<string, JudgementRecord>, t: JudgeTask): boolean {
  return done.get(taskId(t.answer.id, t.metric))?.key === t.key;
}

export async function runJudge(o: JudgeRunOptions): Promise<JudgeRunResult> {
  checkUniqueIds(o.answers, 'answers');
  const runFile = join(o.outDir, 'judgements.jsonl');
  const tasks = judgeTasks(o.answers, o);
  // A record made with another judge/prompt (different key) does not count.
  const done = await readJudgementRecords(o.outDir);
  const isDone = (t: JudgeTask) => isTaskDone(done, t);
  const live = o.live !== false;

  const cache = await JudgeCache.open(o.cacheDir);
  /** Left pending: no answer at hand, and a running batch holds it or live requests are off. */
  const waits = (t: JudgeTask) => !o.presolved?.has(t.key) && !cache.get(t.key) && (!live || !!o.defer?.has(t.key));
  const appender = await JsonlAppender.open(runFile);
  const pending = tasks.filter((t) => !isDone(t));
  const toRequest = pending.filter((t) => !cache.get(t.key) && !o.presolved?.has(t.key) && !waits(t));
  const estimate: JudgeEstimate = {
    tasks: tasks.length,
    alreadyDone: tasks.length - pending.length,
    cached: pending.filter((t) => cache.get(t.key) && !o.presolved?.has(t.key)).length,
    fromBatch: pending.filter((t) => o.presolved?.has(t.key)).length,
    waiting: pending.filter(waits).length,
    toRequest: toRequest.length,
    promptTokens: toRequest.reduce((s, t) => s + estimatePromptTokens(t.prompt), 0),
    completionTokens: toRequest.length * estimateCompletionTokens(o.mode),
    costUsd: null,
  };
  estimate.costUsd = costUsd(o.model, estimate);
  o.onEstimate?.(estimate);

  let client: OpenAI | undefined;
  const limiter = new AdaptiveLimiter(o.concurrency);
  let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let batchUsage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  const batchKeysCounted = new Set<string>(); // one batch request answers every task with its key
  let attempts = 0;
  let fromCache = 0;
  let fromBatch = 0;
  let left = 0;
  let requested = 0;
  let completed = tasks.length - pending.length;
  const failed: JudgeRunResult['failed'] = [];
  let fatal: unknown;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one abort listener per in-flight request
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort);
  o.onProgress?.(completed, tasks.length);
  try {
    await runPool(
      pending,
      o.concurrency,
      async (t) => {
        const batch = o.presolved?.get(t.key);
        const stored = cache.get(t.key);
        let outcome = batch?.outcome ?? (stored && reread(stored, o.mode));
        const cached = !batch && outcome !== undefined;
        const log: RetryLog = { attempts: 0, failures: [] };
        if (!outcome && waits(t)) {
          left++;
          return;
        }
        if (batch) {
          fromBatch++;
          if (!batchKeysCounted.has(t.key)) {
            batchKeysCounted.add(t.key);
            batchUsage = addUsage(batchUsage, batch.outcome.usage);
          }
          await cache.put(t.key, batch.outcome);
        } else if (!outcome) {
          client ??= createOpenAIClient(o.endpoint, o.env);
          try {
            outcome = await withRetries(
              async () => {
                await limiter.acquire(controller.signal);
                try {
                  const r = await callJudge(client!, { model: o.model, mode: o.mode, temperature: o.temperature, prompt: t.prompt }, controller.signal);
                  limiter.onSuccess();
                  return r;
                } catch (err) {
                  if ((err as { status?: number }).status === 429) limiter.onRateLimited();
                  throw err;
                } finally {
                  limiter.release();
                }
              },
              o.retry,
              controller.signal,
              log,
            );
          } catch (err) {
            attempts += log.attempts;
            if (err instanceof CancelledError || controller.signal.aborted) return;
            const status = (err as { status?: number }).status;
            if (status === 401 || status === 403 || status === 404 || status === 400) {
              // The same mistake would fail every task: stop and say what to fix.
              fatal ??= err;
              controller.abort();
              return;
            }
            // name the real destination: a connection error says nothing about where it tried to go
            failed.push({ answerId: t.answer.id, metric: t.metric, error: `${errorMessage(err)} (${resolveEndpoint(o.endpoint, o.env).url}, after ${log.attempts} attempts: ${log.failures.join(', ')})` });
            return;
          }
          attempts += log.attempts;
          requested++;
          usage = addUsage(usage, outcome.usage);
          await cache.put(t.key, outcome);
        } else fromCache++;
        const record: JudgementRecord = {
          schemaVersion: 1,
          answerId: t.answer.id,
          metric: t.metric,
          key: t.key,
          model: o.model,
          mode: o.mode,
          promptSource: o.prompts[t.metric].source,
          outcome: outcome!,
          cached,
          ...(batch ? { via: 'batch' as const, batchId: batch.batchId } : {}),
          attempts: log.attempts,
          failures: log.failures,
          at: new Date().toISOString(),
        };
        await appender.append(record);
        done.set(taskId(t.answer.id, t.metric), record);
        o.onProgress?.(++completed, tasks.length);
      },
      controller.signal,
    );
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await appender.close();
    await cache.close();
  }
  if (fatal) throw explainFatal(fatal, o);
  if (o.signal?.aborted) throw new CancelledError(`Judging cancelled; ${completed} of ${tasks.length} judgements are saved in ${runFile}. Run the same command again to continue.`);

  // Only a record made with this judge, prompt and answer counts (a failed task must not show an older verdict).
  const keys = new Map(tasks.map((t) => [taskId(t.answer.id, t.metric), t.key]));
  const outcomeOf = (id: string, metric: JudgeMetric) => {
    const r = done.get(taskId(id, metric));
    return r && r.key === keys.get(taskId(id, metric)) ? reread(r.outcome, o.mode) : undefined;
  };
  const judged: JudgedAnswer[] = o.answers.map((a) => ({
    id: a.id,
    question: a.question,
    response: a.response,
    aligned: toScore(outcomeOf(a.id, 'aligned')),
    coherent: toScore(outcomeOf(a.id, 'coherent')),
    extra: a.extra,
  }));
  const summary: SummaryJson = {
    schemaVersion: 1,
    createdAt: new Date().toISOString(),
    judge: { model: o.model, mode: o.mode, temperature: o.temperature, baseURL: resolveEndpoint(o.endpoint, o.env).url, prompts: { aligned: o.prompts.aligned.source, coherent: o.prompts.coherent.source } },
    answers: judged.length,
    failedTasks: failed.length,
    usage,
    ...(fromBatch ? { batchUsage } : {}),
    costUsd: totalCost(o.model, usage, batchUsage),
    metrics: { homework: summarize(judged, PRESETS.homework), paper: summarize(judged, PRESETS.paper), betley: summarize(judged, PRESETS.betley) },
  };
  // judged.csv and summary.json appear when every judgement is in (failures aside): a half-collected batch must
  // not look like a finished, mostly invalid, result.
  if (!left) {
    await writeFile(join(o.outDir, 'judged.csv'), formatJudgedCsv(judged));
    await writeFile(join(o.outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  }
  const replies = Object.fromEntries(o.answers.map((a) => [a.id, Object.fromEntries(METRICS.flatMap((m) => {
    const r = outcomeOf(a.id, m);
    return r ? [[m, r.raw]] : [];
  }))]));
  return { judged, replies, tasks: tasks.length, fromRunFile: tasks.length - pending.length, fromCache, fromBatch, pending: left, requested, attempts, failed, usage, batchUsage, costUsd: summary.costUsd, estimate, summary };
}

function explainFatal(err: unknown, o: JudgeRunOptions): UserError {
  const status = (err as { status?: number }).status;
  const where = resolveEndpoint(o.endpoint, o.env).url; // the real destination, OPENAI_BASE_URL included
  const what =
    status === 401 || status === 403
      ? 'rejected the API key. Check OPENAI_API_KEY (or the key stored with "EM Lab: Set OpenAI API Key").'
      : status === 404
        ? `does not know the model "${o.model}" (or the URL is wrong). Check --judge-model and --base-url.`
        : `refused the request (HTTP ${status}): ${errorMessage(err)}. Check the model's support for ${o.mode === 'logprob' ? 'logprobs / top_logprobs' : 'chat completions'}.`;
  return new UserError('judge-request-rejected', `The judge endpoint ${where} ${what} Nothing is lost: judgements made so far are in ${join(o.outDir, 'judgements.jsonl')}.`);
}
