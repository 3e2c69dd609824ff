// Retries for calls to an OpenAI-compatible endpoint. We turn the client's own retries off (maxRetries 0) so that
// every attempt is counted and the policy is ours: retry 429, 408, 409 and 5xx, connection errors, timeouts and
// malformed replies; wait what Retry-After / retry-after-ms asks for when the server says, else exponential
// backoff with jitter; give up after maxAttempts; stop at once on cancel; never retry 400/401/403/404.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { CancelledError } from '../../errors';

export interface RetryPolicy {
  /** Total tries per request, the first included, not counting 429 replies (they have their own budget). */
  maxAttempts: number;
  /** 429 replies tolerated per request: the server asked us to wait, not to give up. */
  maxRateLimitRetries: number;
  /** First backoff (ms); doubles each retry, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we accept (ms); a server asking for more is waited on for this long. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, maxRateLimitRetries: 30, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/** A 200 reply without what we asked for (no choices, no logprobs, broken JSON). Retried. */
export class MalformedReplyError extends Error {
  readonly code = 'malformed-reply';
}

export interface RetryVerdict {
  retry: boolean;
  /** Server-requested wait (ms), if it sent Retry-After or retry-after-ms. */
  retryAfterMs?: number;
  reason: string;
}

export function retryAfterFromHeaders(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(parseFloat(ms))) return Math.max(0, parseFloat(ms));
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = parseFloat(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after); // HTTP-date form
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

export function classifyError(err: unknown): RetryVerdict {
  if (err instanceof APIUserAbortError) return { retry: false, reason: 'cancelled' };
  if (err instanceof APIConnectionError) return { retry: true, reason: err instanceof APIConnectionTimeoutError ? 'timeout' : 'connection error' };
  if (err instanceof APIError) {
    const s = err.status ?? 0;
    const retryAfterMs = retryAfterFromHeaders(err.headers);
    if (s === 429 || s === 408 || s === 409 || s >= 500) return { retry: true, retryAfterMs, reason: `HTTP ${s}` };
    return { retry: false, reason: `HTTP ${s}` };
  }
  if (err instanceof MalformedReplyError || err instanceof SyntaxError) return { retry: true, reason: 'malformed reply' };
  return { retry: false, reason: 'unexpected error' };
}

/** Wait before retry number `retry` (1-based): the server's Retry-After if given, else base * 2^(retry-1) with equal jitter. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs) + random() * Math.min(50, retryAfterMs * 0.1);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return exp / 2 + random() * (exp / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryLog {
  /** HTTP attempts made, 429s included. */
  attempts: number;
  /** One short reason per failed attempt, e.g. 'HTTP 429', 'timeout'. */
  failures: string[];
}

/** Runs `call` until it succeeds, fails for good, or runs out of attempts; the last error is rethrown. */
export async function withRetries<T>(call: () => Promise<T>, policy: RetryPolicy, signal?: AbortSignal, log: RetryLog = { attempts: 0, failures: [] }): Promise<T> {
  for (;;) {
    if (signal?.aborted) throw new CancelledError();
    log.attempts++;
    try {
      return await call();
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      const verdict = classifyError(err);
      log.failures.push(verdict.reason);
      const rateLimited = log.failures.filter((f) => f === 'HTTP 429').length;
      const otherFailures = log.failures.length - rateLimited;
      if (!verdict.retry || otherFailures >= policy.maxAttempts || rateLimited > policy.maxRateLimitRetries) throw err;
      await sleep(backoffDelayMs(Math.max(1, verdict.reason === 'HTTP 429' ? rateLimited : otherFailures), policy, verdict.retryAfterMs), signal);
    }
  }
}
