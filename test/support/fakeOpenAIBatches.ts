// OpenAI's Files + Batches API for the fake server (fakeOpenAI.ts): POST /v1/files (multipart, purpose "batch"),
// GET /v1/files/{id}[/content], POST /v1/batches, GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. A batch's
// lines are answered with the same completion the live endpoint gives, so batch and live judging can be compared.
// How each batch ends is the test's choice: completed, expired half done (the first half answered, the rest in the
// error file as batch_expired, as OpenAI reports it), failed validation, or never finishing. Output lines come
// back in reverse order (OpenAI does not promise any order).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeChatRequest } from './fakeOpenAI';

export type FakeBatchOutcome = 'complete' | 'expire-half' | 'fail' | 'never';

export interface FakeBatchOptions {
  /** How batch number i (0-based, in creation order) ends. Default: complete. */
  outcome?: (batchIndex: number) => FakeBatchOutcome;
  /** Retrieves that still say in_progress before a batch reaches its end state. Default 1. */
  pollsUntilDone?: number;
  /** HTTP status of one line's response (default 200); others go to the error file. */
  lineStatus?: (req: FakeChatRequest) => number;
  /** Refuse this many POST /v1/batches with HTTP 400 first (a client that stops between upload and create). */
  rejectCreates?: number;
}

export interface FakeBatchStats {
  uploads: number;
  created: number;
  retrieves: number;
  downloads: number;
  /** Lines answered with 200 across all batches. */
  linesAnswered: number;
  byStatus: Record<string, number>;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: Buffer;
  createdAt: number;
}

interface FakeBatch {
  index: number;
  object: Record<string, unknown>;
  lines: { custom_id: string; body: Record<string, unknown> }[];
  polls: number;
}

export function fakeBatchApi(o: FakeBatchOptions, answer: (body: Record<string, unknown>) => Record<string, unknown>, chatRequestOf: (body: Record<string, unknown>) => FakeChatRequest) {
  const stats: FakeBatchStats = { uploads: 0, created: 0, retrieves: 0, downloads: 0, linesAnswered: 0, byStatus: {} };
  const files = new Map<string, StoredFile>();
  const batches = new Map<string, FakeBatch>();
  let counter = 0;
  let rejected = 0;
  const now = () => Math.floor(Date.now() / 1000);
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return true;
  };
  const fileObject = (f: StoredFile) => ({ id: f.id, object: 'file', bytes: f.bytes.length, created_at: f.createdAt, filename: f.filename, purpose: f.purpose, status: 'processed', expires_at: null, status_details: null });
  const store = (filename: string, purpose: string, bytes: Buffer) => {
    const f = { id: `file-fake${++counter}`, filename, purpose, bytes, createdAt: now() };
    files.set(f.id, f);
    return f;
  };

  /** Moves a batch to its end state: answers lines, writes output / error files. */
  const finish = (b: FakeBatch) => {
    const outcome = o.outcome?.(b.index) ?? 'complete';
    const obj = b.object;
    if (outcome === 'fail') {
      Object.assign(obj, { status: 'failed', failed_at: now(), errors: { object: 'list', data: [{ code: 'invalid_request', message: 'Injected validation failure (fake server).', line: 1, param: null }] } });
      return;
    }
    const answered = outcome === 'expire-half' ? Math.floor(b.lines.length / 2) : b.lines.length;
    const out: string[] = [];
    const errors: string[] = [];
    b.lines.forEach((line, i) => {
      const id = `batch_req_${counter++}`;
      if (i >= answered) {
        errors.push(JSON.stringify({ id, custom_id: line.custom_id, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } }));
        return;
      }
      const status = o.lineStatus?.(chatRequestOf(line.body)) ?? 200;
      if (status !== 200) {
        errors.push(JSON.stringify({ id, custom_id: line.custom_id, response: { status_code: status, request_id: `req_${id}`, body: { error: { message: `Injected HTTP ${status} (fake server).`, type: 'server_error' } } }, error: null }));
        return;
      }
      stats.linesAnswered++;
      out.push(JSON.stringify({ id, custom_id: line.custom_id, response: { status_code: 200, request_id: `req_${id}`, body: answer(line.body) }, error: null }));
    });
    out.reverse();
    const outFile = out.length ? store(`${obj.id}_output.jsonl`, 'batch_output', Buffer.from(out.map((l) => l + '\n').join(''))) : undefined;
    const errFile = errors.length ? store(`${obj.id}_error.jsonl`, 'batch_output', Buffer.from(errors.map((l) => l + '\n').join(''))) : undefined;
    Object.assign(obj, {
      status: outcome === 'expire-half' ? 'expired' : 'completed',
      ...(outcome === 'expire-half' ? { expired_at: now() } : { completed_at: now() }),
      finalizing_at: now(),
      output_file_id: outFile?.id ?? null,
      error_file_id: errFile?.id ?? null,
      request_counts: { total: b.lines.length, completed: out.length, failed: errors.length },
    });
  };

  const handle = async (req: IncomingMessage, path: string, raw: Buffer, res: ServerResponse): Promise<boolean> => {
    const m = req.method;
    if (m === 'POST' && path === '/files') {
      // Multipart parsing by the platform's own Request (undici), as a real server would parse it.
      const form = await new Request('http://fake/files', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: raw }).formData();
      const file = form.get('file');
      const purpose = String(form.get('purpose') ?? '');
      if (!(file instanceof Blob) || purpose !== 'batch') return json(res, 400, { error: { message: 'fake server: expected a file with purpose "batch".', type: 'invalid_request_error' } });
      stats.uploads++;
      return json(res, 200, fileObject(store((file as File).name ?? 'upload.jsonl', purpose, Buffer.from(await file.arrayBuffer()))));
    }
    let f = /^\/files\/([^/]+)(\/content)?$/.exec(path);
    if (m === 'GET' && f) {
      const stored = files.get(f[1]!);
      if (!stored) return json(res, 404, { error: { message: `No such File object: ${f[1]}`, type: 'invalid_request_error' } });
      if (!f[2]) return json(res, 200, fileObject(stored));
      stats.downloads++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(stored.bytes);
      return true;
    }
    if (m === 'POST' && path === '/batches') {
      if ((o.rejectCreates ?? 0) > rejected) {
        rejected++;
        return json(res, 400, { error: { message: 'Injected refusal of the batch (fake server).', type: 'invalid_request_error' } });
      }
      const body = JSON.parse(raw.toString('utf8')) as { input_file_id?: string; endpoint?: string; completion_window?: string; metadata?: unknown };
      const input = files.get(String(body.input_file_id));
      if (!input) return json(res, 400, { error: { message: `Invalid input_file_id ${body.input_file_id}.`, type: 'invalid_request_error' } });
      if (body.endpoint !== '/v1/chat/completions' || body.completion_window !== '24h') return json(res, 400, { error: { message: 'fake server: endpoint must be /v1/chat/completions and completion_window 24h.', type: 'invalid_request_error' } });
      const lines = input.bytes.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { custom_id: string; method: string; url: string; body: Record<string, unknown> });
      const ids = new Set(lines.map((l) => l.custom_id));
      if (ids.size !== lines.length || lines.some((l) => l.method !== 'POST' || l.url !== '/v1/chat/completions')) return json(res, 400, { error: { message: 'fake server: custom_id must be unique, method POST, url /v1/chat/completions.', type: 'invalid_request_error' } });
      const id = `batch_fake${++counter}`;
      const object: Record<string, unknown> = {
        id,
        object: 'batch',
        endpoint: body.endpoint,
        errors: null,
        input_file_id: input.id,
        completion_window: '24h',
        status: 'validating',
        output_file_id: null,
        error_file_id: null,
        created_at: now(),
        in_progress_at: null,
        expires_at: now() + 24 * 3600,
        request_counts: { total: lines.length, completed: 0, failed: 0 },
        metadata: body.metadata ?? null,
      };
      batches.set(id, { index: stats.created++, object, lines, polls: 0 });
      return json(res, 200, object);
    }
    f = /^\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (f) {
      const b = batches.get(f[1]!);
      if (!b) return json(res, 404, { error: { message: `No batch found with id '${f[1]}'.`, type: 'invalid_request_error' } });
      if (m === 'POST' && f[2]) {
        if (!['completed', 'failed', 'expired', 'cancelled'].includes(String(b.object.status))) Object.assign(b.object, { status: 'cancelled', cancelled_at: now() });
        return json(res, 200, b.object);
      }
      if (m === 'GET' && !f[2]) {
        stats.retrieves++;
        const status = String(b.object.status);
        if (status === 'validating' || status === 'in_progress') {
          b.polls++;
          const never = (o.outcome?.(b.index) ?? 'complete') === 'never';
          if (never || b.polls <= (o.pollsUntilDone ?? 1)) Object.assign(b.object, { status: 'in_progress', in_progress_at: b.object.in_progress_at ?? now() });
          else finish(b);
        }
        stats.byStatus[String(b.object.status)] = (stats.byStatus[String(b.object.status)] ?? 0) + 1;
        return json(res, 200, b.object);
      }
    }
    return false;
  };

  return { stats, handle };
}
