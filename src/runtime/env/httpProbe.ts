// One authenticated GET with a hard time limit, classified for the doctor. Never throws, never hangs: offline
// gives 'unreachable' (DNS/connect error) or 'timeout', both within timeoutMs.
export type ProbeResult =
  | { kind: 'response'; status: number; body: unknown; ms: number }
  | { kind: 'unreachable'; reason: string; ms: number }
  | { kind: 'timeout'; ms: number };

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export async function probe(url: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const start = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    const res = await fetch(url, { headers, signal: combined });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { kind: 'response', status: res.status, body, ms: Date.now() - start };
  } catch (err) {
    if (timeout.aborted) return { kind: 'timeout', ms: Date.now() - start };
    return { kind: 'unreachable', reason: causeOf(err), ms: Date.now() - start };
  }
}

/** The `error.code` / `error.type` of an OpenAI-style error body (never its message: it can echo the key). */
export function apiErrorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
  const code = error?.code ?? error?.type;
  return typeof code === 'string' ? code : undefined;
}
