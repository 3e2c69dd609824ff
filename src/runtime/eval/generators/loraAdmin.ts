// Registering a PEFT adapter with an OpenAI-compatible server at run time, the way vLLM does it: POST
// /v1/load_lora_adapter {lora_name, lora_path} makes `lora_name` a model name the server answers as; POST
// /v1/unload_lora_adapter {lora_name} frees its slot. vLLM needs `--enable-lora` (and `--max-lora-rank` at least the
// adapter's rank) plus VLLM_ALLOW_RUNTIME_LORA_UPDATING=True in its environment. The path is read BY THE SERVER, so
// it must be a path on the server's filesystem (see loraPathOnServer).
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type OpenAI from 'openai';
import { APIConnectionError, APIError } from 'openai';
import { UserError, errorMessage } from '../../errors';

export interface LoraAdapterRef {
  /** The model name the server will answer as. */
  name: string;
  /** The adapter folder as the server sees it. */
  serverPath: string;
}

/** vLLM answers 400 "has already been loaded" to a second load of the same name. */
const ALREADY_LOADED = /already been loaded|already loaded|already exists/i;
/** ... and 400/404 "cannot be found" to unloading a name it does not have. */
const NOT_LOADED = /not be found|not found|cannot be found|does not exist/i;

function serverMessage(err: unknown): string {
  if (err instanceof APIError) {
    const body = err.error as { message?: unknown; error?: { message?: unknown } } | undefined;
    const m = body?.message ?? body?.error?.message;
    return typeof m === 'string' ? m : err.message;
  }
  return errorMessage(err);
}

/**
 * POST JSON to an admin route next to the client's base URL. Not through client.post: vLLM answers these routes with
 * plain text, and with errors as a top-level {message} that the client drops; failures become the client's own
 * error classes so the judge's retry policy applies (5xx and connection errors retried, 4xx not).
 */
async function postAdmin(client: OpenAI, route: string, body: unknown, signal?: AbortSignal): Promise<void> {
  const url = `${client.baseURL.replace(/\/+$/, '')}${route}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${client.apiKey}` },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(client.timeout)]) : AbortSignal.timeout(client.timeout),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new APIConnectionError({ message: `${url}: ${errorMessage(err)}`, cause: err instanceof Error ? err : undefined });
  }
  const text = await res.text();
  if (res.ok) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { message: text.slice(0, 300) };
  }
  throw new APIError(res.status, parsed as object, `${res.status} ${text.slice(0, 300)}`, res.headers);
}

export async function loadLoraAdapter(client: OpenAI, endpoint: string, a: LoraAdapterRef, signal?: AbortSignal): Promise<'loaded' | 'was-loaded'> {
  try {
    await postAdmin(client, '/load_lora_adapter', { lora_name: a.name, lora_path: a.serverPath }, signal);
    return 'loaded';
  } catch (err) {
    const status = err instanceof APIError ? err.status : undefined;
    const msg = serverMessage(err);
    // The name carries a hash of the adapter's path and weights (adapterServerName), so "already loaded" under that
    // name is this very adapter, left registered by an interrupted run: use it.
    if (status === 400 && ALREADY_LOADED.test(msg)) return 'was-loaded';
    if (status === 404 || status === 405) {
      throw new UserError(
        'lora-loading-unsupported',
        `${endpoint} has no ${endpoint.replace(/\/$/, '')}/load_lora_adapter (HTTP ${status}). Start vLLM with --enable-lora --max-lora-rank R and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True in its environment (or em-lab serve), or serve every checkpoint yourself with --lora-modules and pass --model-template "NAME-{step}".`,
      );
    }
    if (status !== undefined && status < 500) {
      throw new UserError('lora-load-refused', `${endpoint} refused to load the adapter ${a.serverPath} as "${a.name}" (HTTP ${status}): ${msg}. Check that the server can read that folder (--lora-path-map LOCAL=REMOTE when it sees the runs under another path) and that its --max-lora-rank is at least the adapter's rank.`);
    }
    throw err;
  }
}

export async function unloadLoraAdapter(client: OpenAI, a: LoraAdapterRef): Promise<'unloaded' | 'was-not-loaded'> {
  try {
    await postAdmin(client, '/unload_lora_adapter', { lora_name: a.name });
    return 'unloaded';
  } catch (err) {
    const status = err instanceof APIError ? err.status : undefined;
    if ((status === 400 || status === 404) && NOT_LOADED.test(serverMessage(err))) return 'was-not-loaded';
    throw err;
  }
}

/**
 * A name for an adapter on the server: readable (run and checkpoint folder) plus 8 hex digits of sha256 over its
 * absolute path and its weights' size and mtime, so a retrained checkpoint at the same path gets a new name and a
 * server never answers with stale weights under a reused name.
 */
export function adapterServerName(adapterDir: string): string {
  const dir = resolve(adapterDir);
  let stamp = '';
  try {
    const s = statSync(join(dir, 'adapter_model.safetensors'));
    stamp = `${s.size}:${Math.floor(s.mtimeMs)}`;
  } catch {
    throw new UserError('adapter-not-found', `${dir} is not a PEFT adapter folder (no adapter_model.safetensors). Pick a run checkpoint folder or an adapter saved by PEFT.`);
  }
  const hash = createHash('sha256').update(`${dir}\u0000${stamp}`).digest('hex').slice(0, 8);
  const parent = basename(dirname(dir)) === 'checkpoints' ? basename(dirname(dirname(dir))) : basename(dirname(dir));
  return `em-lab-${parent}-${basename(dir)}-${hash}`.replace(/[^\w.-]+/g, '_');
}

/** `LOCAL=REMOTE` prefix maps (--lora-path-map), applied in order; the first that matches wins. */
export function parseLoraPathMaps(specs: readonly string[], cwd = process.cwd()): { from: string; to: string }[] {
  return specs.map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new UserError('bad-lora-path-map', `--lora-path-map ${s}: expected LOCAL=REMOTE, e.g. /home/me/em-lab-runs=/mnt/shared/em-lab-runs.`);
    return { from: resolve(cwd, s.slice(0, i)), to: s.slice(i + 1).replace(/\/+$/, '') };
  });
}

export function loraPathOnServer(localDir: string, maps: readonly { from: string; to: string }[]): string {
  const dir = resolve(localDir);
  for (const m of maps) if (dir === m.from || dir.startsWith(`${m.from}/`)) return m.to + dir.slice(m.from.length);
  return dir;
}
