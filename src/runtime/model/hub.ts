// Model sources: a Hugging Face repo id downloaded into EM Lab's cache, a local HF-layout folder, or the
// embedded tiny-llama. Adapter repos (PEFT: adapter_config.json + adapter_model.safetensors, at the root and/or in
// checkpoint subfolders, as the paper's ModelOrganismsForEM repos are) are pulled the same way, and pullRepo also
// pulls the base model their adapter_config.json names. Downloads are resumable (<file>.part + HTTP Range), report progress, and are checked
// against the Hub's sizes and LFS sha256. The endpoint follows huggingface_hub: $HF_ENDPOINT or huggingface.co.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CancelledError, UserError } from '../errors';
import { revisionProblem } from '../../protocol/pathRules';
import { keyedUrlProblem } from '../env/endpoints';
import { TINY_LLAMA_ID, ensureTinyLlama } from './tinyLlama';

export const DEFAULT_MODEL_ID = 'meta-llama/Llama-3.2-1B-Instruct';
const WANTED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors', 'model.safetensors.index.json'];

export interface HubFile {
  path: string;
  size?: number;
  /** sha256 of an LFS file's content (the Hub's lfs.oid). */
  sha256?: string;
}

export interface PullOptions {
  storageDir: string;
  env?: NodeJS.ProcessEnv;
  revision?: string;
  signal?: AbortSignal;
  /** Bytes done / total over all files to fetch. */
  onProgress?: (file: string, done: number, total: number) => void;
}

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

function hubToken(env: NodeJS.ProcessEnv): string | undefined {
  return env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
}

export function isRepoId(spec: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(spec) && !spec.startsWith('.') && !isAbsolute(spec);
}

/** The cache folder of a repo at a revision; a revision that could climb out of the cache (`../x`) is refused. */
export function hubCacheDir(storageDir: string, repoId: string, revision = 'main'): string {
  const problem = revisionProblem(revision);
  if (problem) throw new UserError('hub-bad-revision', `${problem}. Give a branch (main), a tag or a commit hash of ${repoId}.`);
  // refs/pr/1 -> refs--pr--1: one folder per revision, directly under models/hf
  return join(storageDir, 'models', 'hf', `${repoId.replace('/', '--')}${revision === 'main' ? '' : `@${revision.replace(/\//g, '--')}`}`);
}

function modelPage(env: NodeJS.ProcessEnv, repoId: string): string {
  return `${hubEndpoint(env)}/${repoId}`;
}

async function hubFetch(url: string, env: NodeJS.ProcessEnv, repoId: string, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  const token = hubToken(env);
  const insecure = token ? keyedUrlProblem(url, 'HF_ENDPOINT') : undefined;
  if (insecure) throw new UserError('insecure-endpoint', `${insecure}. HF_TOKEN was not sent.`);
  let res: Response;
  try {
    res = await fetch(url, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers }, ...(init.signal ? { signal: init.signal } : {}), redirect: 'follow' });
  } catch (err) {
    if (init.signal?.aborted) throw new CancelledError('Download cancelled; run the same command again to resume.');
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UserError('hub-offline', `Cannot reach ${new URL(url).host} (${cause?.code ?? cause?.message ?? (err as Error).message}). Check your internet connection or proxy, or use a local model folder (--model /path/to/folder) or tiny-llama.`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new UserError(
      'hub-gated',
      `${repoId}: access denied (HTTP ${res.status}). ${hubToken(env) ? 'Your HF_TOKEN was refused: ' : 'HF_TOKEN is not set: '}` +
        `accept the licence on the model page (${modelPage(env, repoId)}) and set HF_TOKEN to a read token from ${hubEndpoint(env)}/settings/tokens.`,
    );
  }
  if (res.status === 404) throw new UserError('hub-not-found', `${repoId}: not found on ${hubEndpoint(env)} (${new URL(url).pathname}). Check the repo id (e.g. ${DEFAULT_MODEL_ID}).`);
  if (!res.ok && res.status !== 206) throw new UserError('hub-http', `${url}: HTTP ${res.status} ${res.statusText}. Try again later.`);
  return res;
}

/** The repo's files with sizes and LFS hashes (GET /api/models/{id}/revision/{rev}?blobs=true). */
export async function listRepoFiles(repoId: string, env: NodeJS.ProcessEnv = process.env, revision = 'main', signal?: AbortSignal): Promise<HubFile[]> {
  const res = await hubFetch(`${hubEndpoint(env)}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`, env, repoId, signal ? { signal } : {});
  const info = (await res.json()) as { siblings?: { rfilename: string; size?: number; lfs?: { sha256?: string; oid?: string; size?: number } }[] };
  return (info.siblings ?? []).map((s) => ({
    path: s.rfilename,
    ...(s.lfs?.size ?? s.size ? { size: s.lfs?.size ?? s.size } : {}),
    ...(s.lfs?.sha256 ?? s.lfs?.oid ? { sha256: s.lfs?.sha256 ?? s.lfs?.oid } : {}),
  }));
}

/** PEFT adapter files anywhere in the repo (the root, or checkpoint subfolders). */
function adapterFiles(files: HubFile[]): HubFile[] {
  return files.filter((f) => /(^|\/)adapter_(config\.json|model\.safetensors)$/.test(f.path));
}

/** Whether a repo's listing is a PEFT adapter repo (adapter_config.json somewhere, no model config at the root). */
export function isAdapterRepo(files: HubFile[]): boolean {
  return !files.some((f) => f.path === 'config.json' && files.some((g) => /^model.*\.safetensors(\.index\.json)?$/.test(g.path))) && files.some((f) => /(^|\/)adapter_config\.json$/.test(f.path));
}

/**
 * Which files to fetch: for a model, configs, tokenizer and the single or sharded safetensors; for an adapter repo,
 * every adapter_config.json with its adapter_model.safetensors.
 */
export function selectFiles(files: HubFile[], repoId: string): HubFile[] {
  if (isAdapterRepo(files)) {
    const chosen = adapterFiles(files);
    for (const cfg of chosen.filter((f) => f.path.endsWith('adapter_config.json'))) {
      const weights = cfg.path.replace(/adapter_config\.json$/, 'adapter_model.safetensors');
      if (!chosen.some((f) => f.path === weights)) {
        const bin = files.some((f) => f.path === weights.replace(/safetensors$/, 'bin'));
        throw new UserError('hub-no-safetensors', `${repoId}: ${cfg.path} has no ${weights}${bin ? ' (only a pickled adapter_model.bin, which EM Lab does not read)' : ''}.`);
      }
    }
    return chosen;
  }
  const byPath = new Map(files.map((f) => [f.path, f]));
  const chosen = WANTED.filter((p) => byPath.has(p)).map((p) => byPath.get(p)!);
  if (byPath.has('model.safetensors.index.json')) chosen.push(...files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f.path)));
  if (!chosen.some((f) => f.path.endsWith('.safetensors') || f.path === 'model.safetensors.index.json')) {
    throw new UserError('hub-no-safetensors', `${repoId}: the repo has no safetensors weights (model.safetensors or an index). EM Lab reads safetensors only.`);
  }
  for (const need of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!byPath.has(need)) throw new UserError('hub-incomplete', `${repoId}: the repo has no ${need}. Choose a repo with the Hugging Face tokenizer files (e.g. ${DEFAULT_MODEL_ID}).`);
  }
  return chosen;
}

async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Downloads one file with resume; verifies size and sha256 when known. */
async function downloadFile(repoId: string, file: HubFile, dir: string, opts: PullOptions & { env: NodeJS.ProcessEnv; revision: string }, report: (delta: number) => void): Promise<void> {
  const target = join(dir, file.path);
  const part = `${target}.part`;
  mkdirSync(dirname(target), { recursive: true });
  let have = existsSync(part) ? statSync(part).size : 0;
  const url = `${hubEndpoint(opts.env)}/${repoId}/resolve/${encodeURIComponent(opts.revision)}/${file.path}`;
  const res = await hubFetch(url, opts.env, repoId, { headers: have ? { range: `bytes=${have}-` } : {}, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (have && res.status !== 206) have = 0; // server ignored the range: start over
  const linked = Number(res.headers.get('x-linked-size') ?? NaN);
  const length = Number(res.headers.get('content-length') ?? NaN);
  const expected = file.size ?? (Number.isFinite(linked) ? linked : Number.isFinite(length) ? length + have : undefined);
  const fd = openSync(part, have ? 'a' : 'w');
  report(have);
  try {
    if (!res.body) throw new UserError('hub-http', `${url}: empty response body. Try again.`);
    const reader = res.body.getReader();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (opts.signal?.aborted) throw new CancelledError('Download cancelled; run the same command again to resume.');
        throw new UserError('hub-offline', `Download of ${file.path} was interrupted (${(err as Error).message}). Run the same command again to resume.`);
      }
      if (chunk.done) break;
      writeSync(fd, chunk.value);
      report(chunk.value.byteLength);
    }
  } finally {
    closeSync(fd);
  }
  const got = statSync(part).size;
  if (expected !== undefined && got !== expected) {
    if (got > expected) rmSync(part, { force: true });
    throw new UserError('hub-size-mismatch', `${file.path}: downloaded ${got} bytes, the Hub says ${expected}. ${got > expected ? 'The partial file was removed; run' : 'Run'} the same command again to resume.`);
  }
  const sha = file.sha256 ?? etagSha(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
  if (sha && (await sha256OfFile(part)) !== sha) {
    rmSync(part, { force: true });
    throw new UserError('hub-hash-mismatch', `${file.path}: sha256 does not match the Hub's (${sha}). The corrupt download was removed; run the same command again.`);
  }
  renameSync(part, target);
}

/** An LFS etag is the content's sha256 (64 hex digits, possibly quoted); others (git blob sha1) are not checked. */
function etagSha(etag: string | null): string | undefined {
  const m = etag ? /^(?:W\/)?"?([0-9a-f]{64})"?$/.exec(etag) : null;
  return m ? m[1] : undefined;
}

/** Downloads a repo's checkpoint into the cache (skipping complete files) and returns the folder. */
export async function pullModel(repoId: string, opts: PullOptions): Promise<string> {
  if (!isRepoId(repoId)) throw new UserError('hub-bad-id', `"${repoId}" is not a Hugging Face repo id (owner/name, e.g. ${DEFAULT_MODEL_ID}).`);
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  const dir = hubCacheDir(opts.storageDir, repoId, revision);
  const files = selectFiles(await listRepoFiles(repoId, env, revision, opts.signal), repoId);
  const todo = files.filter((f) => !(existsSync(join(dir, f.path)) && (f.size === undefined || statSync(join(dir, f.path)).size === f.size)));
  const total = todo.reduce((s, f) => s + (f.size ?? 0), 0);
  let done = 0;
  for (const f of todo) {
    await downloadFile(repoId, f, dir, { ...opts, env, revision }, (delta) => {
      done += delta;
      opts.onProgress?.(f.path, done, total);
    });
  }
  const kind = files.some((f) => f.path.endsWith('adapter_config.json')) && !files.some((f) => f.path === 'config.json') ? 'adapter' : 'model';
  writeFileSync(join(dir, 'em-lab-download.json'), JSON.stringify({ schemaVersion: 1, repoId, revision, kind, endpoint: hubEndpoint(env), files: files.map((f) => f.path), completedAt: new Date().toISOString() }, null, 2));
  return dir;
}

export interface PulledRepo {
  dir: string;
  kind: 'model' | 'adapter';
  /** For an adapter repo: the base model its adapter_config.json names, pulled too when it is a Hub id. */
  base?: { spec: string; dir?: string };
}

/** The base model an adapter folder names (adapter_config.json's base_model_name_or_path), if any. */
export function adapterBaseName(dir: string): string | undefined {
  for (const cfg of [join(dir, 'adapter_config.json')]) {
    try {
      const v = (JSON.parse(readFileSync(cfg, 'utf8')) as { base_model_name_or_path?: unknown }).base_model_name_or_path;
      if (typeof v === 'string' && v) return v;
    } catch {
      // no root adapter (checkpoint subfolders only) or unreadable: the caller says what is missing
    }
  }
  return undefined;
}

/**
 * `em-lab model pull`: a model repo, or an adapter repo and then the base model it names (skipped with
 * `withBase: false`, or when the name is a local path of the machine that trained it, not a Hub id).
 */
export async function pullRepo(repoId: string, opts: PullOptions & { withBase?: boolean }): Promise<PulledRepo> {
  const dir = await pullModel(repoId, opts);
  if (downloadRecord(dir)?.kind !== 'adapter') return { dir, kind: 'model' };
  let baseName = adapterBaseName(dir);
  if (!baseName) {
    // checkpoint subfolders only: they all name the same base
    const rec = JSON.parse(readFileSync(join(dir, 'em-lab-download.json'), 'utf8')) as { files: string[] };
    const first = rec.files.find((f) => f.endsWith('adapter_config.json'));
    if (first) baseName = adapterBaseName(dirname(join(dir, first)));
  }
  if (!baseName) return { dir, kind: 'adapter' };
  if (opts.withBase === false || !isRepoId(baseName)) return { dir, kind: 'adapter', base: { spec: baseName } };
  return { dir, kind: 'adapter', base: { spec: baseName, dir: await pullModel(baseName, { ...opts, revision: 'main' }) } };
}

/**
 * An adapter spec -> its folder: a local folder, or a pulled adapter repo id (owner/name, or owner/name/subfolder for
 * a checkpoint inside it).
 */
export function resolveAdapterDir(spec: string, opts: { storageDir: string; cwd?: string }): string {
  const local = resolve(opts.cwd ?? process.cwd(), spec);
  if (existsSync(local)) return local;
  const m = /^([\w.-]+\/[\w.-]+)(?:\/(.+))?$/.exec(spec);
  if (m && !isAbsolute(spec)) {
    const dir = hubCacheDir(opts.storageDir, m[1]!);
    if (existsSync(join(dir, 'em-lab-download.json'))) {
      const sub = m[2] ? join(dir, m[2]) : dir;
      if (existsSync(join(sub, 'adapter_config.json'))) return sub;
      throw new UserError('adapter-not-found', `${spec}: the pulled repo ${m[1]} has no adapter_config.json${m[2] ? ` in ${m[2]}` : ' at its root'}. Name a checkpoint subfolder (${m[1]}/<subfolder>).`);
    }
    throw new UserError('adapter-not-found', `${spec}: no such folder, and the Hub adapter ${m[1]} is not downloaded. Run \`em-lab model pull ${m[1]}\` (it pulls the base model too).`);
  }
  throw new UserError('adapter-not-found', `${spec}: no such folder (${local}).`);
}

export interface ResolveOptions extends PullOptions {
  /** Download a repo id that is not cached yet (default false: refuse with the pull command to run). */
  download?: boolean;
}

/** A model spec (tiny-llama, a local folder, or a repo id) -> an HF-layout folder on disk. */
export async function resolveModelDir(spec: string, opts: ResolveOptions): Promise<string> {
  if (spec === TINY_LLAMA_ID) return ensureTinyLlama(opts.storageDir);
  const local = resolve(spec);
  if (existsSync(local) && statSync(local).isDirectory()) return local;
  if (!isRepoId(spec)) throw new UserError('model-not-found', `${spec}: no such folder, and not a Hugging Face repo id (owner/name). Use tiny-llama, a model folder, or a repo id such as ${DEFAULT_MODEL_ID}.`);
  const dir = hubCacheDir(opts.storageDir, spec, opts.revision);
  if (existsSync(join(dir, 'em-lab-download.json'))) return dir;
  if (!opts.download) throw new UserError('model-not-downloaded', `${spec} is not downloaded yet. Run \`em-lab model pull ${spec}\` (gated models need HF_TOKEN).`);
  return pullModel(spec, opts);
}

/** One small file of a repo (e.g. config.json) without downloading the checkpoint. */
export async function fetchRepoText(repoId: string, file: string, env: NodeJS.ProcessEnv = process.env, revision = 'main'): Promise<string> {
  if (!isRepoId(repoId)) throw new UserError('hub-bad-id', `"${repoId}" is not a Hugging Face repo id (owner/name, e.g. ${DEFAULT_MODEL_ID}).`);
  const res = await hubFetch(`${hubEndpoint(env)}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`, env, repoId);
  return res.text();
}

/** Reads a downloaded folder's record (repo id, revision), if it came from the Hub. */
export function downloadRecord(dir: string): { repoId: string; revision: string; kind?: 'model' | 'adapter' } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'em-lab-download.json'), 'utf8')) as { repoId: string; revision: string; kind?: 'model' | 'adapter' };
  } catch {
    return undefined;
  }
}
