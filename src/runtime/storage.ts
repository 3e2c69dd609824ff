// Where EM Lab keeps what it downloads or derives, and the caches `em-lab cache` shows and prunes.
// One storage folder for the CLI and the extension's runtime ($EM_LAB_STORAGE, else ~/.em-lab), so a model pulled
// from a terminal is the one the Chat Sandbox opens, and under Remote-SSH it all sits on the remote machine.
import { existsSync, readdirSync, rmSync, statSync, type Dirent } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultCacheDir as cudaDownloadDir } from './cuda/setupCuda';

export function defaultStorageDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.EM_LAB_STORAGE ? resolve(env.EM_LAB_STORAGE) : join(homedir(), '.em-lab');
}

/**
 * The judge cache of the CLI and the extension alike (`em-lab judge --cache-dir` overrides it): $EM_LAB_CACHE_DIR,
 * else ~/.cache/em-lab. (Before, the extension kept its own in <storage>/judge-cache; `em-lab cache` still lists it.)
 */
export function cliJudgeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.EM_LAB_CACHE_DIR ?? join(homedir(), '.cache', 'em-lab');
}

export type CacheKind = 'models' | 'artifacts' | 'judge' | 'cuda';

/** What each kind holds and what deleting it costs: shown by `em-lab cache` and its --help. */
export const CACHE_KINDS: Record<CacheKind, string> = {
  models: 'downloaded Hub models and the built-in tiny-llama (their ONNX exports are artifacts); pruned models are downloaded again on next use',
  artifacts: 'ONNX exports of models and generated training graphs; rebuilt on next use (minutes for a 1B model)',
  judge: 'LLM judge answers, so a rerun does not pay for the same request twice; pruning means paying again',
  cuda: 'CUDA provider packages downloaded by `em-lab setup cuda` (already installed ones keep working)',
};

export interface CacheEntry {
  kind: CacheKind;
  /** Short name for tables, e.g. "hf/meta-llama--Llama-3.2-1B-Instruct" or "tiny-llama/onnx". */
  name: string;
  path: string;
  bytes: number;
  /** Newest modification time inside, ms since the epoch (0 when empty). */
  modifiedMs: number;
}

/** Apparent size and newest mtime of a file or folder (symlinks are not followed). */
export function diskUsage(path: string): { bytes: number; modifiedMs: number } {
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch {
    return { bytes: 0, modifiedMs: 0 };
  }
  if (!st) return { bytes: 0, modifiedMs: 0 };
  if (!st.isDirectory()) return { bytes: st.isFile() ? st.size : 0, modifiedMs: st.mtimeMs };
  let bytes = 0;
  let modifiedMs = st.mtimeMs;
  let children: Dirent[] = [];
  try {
    children = readdirSync(path, { withFileTypes: true });
  } catch {
    /* unreadable folder: counted as empty */
  }
  for (const c of children) {
    if (c.isSymbolicLink()) continue;
    const u = diskUsage(join(path, c.name));
    bytes += u.bytes;
    modifiedMs = Math.max(modifiedMs, u.modifiedMs);
  }
  return { bytes, modifiedMs };
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

function entry(kind: CacheKind, name: string, path: string): CacheEntry {
  return { kind, name, path, ...diskUsage(path) };
}

/**
 * Every cache entry under `storageDir` and the user cache folder. A model folder is split in two: the model itself
 * (kind models, without its onnx/ export) and its ONNX export (kind artifacts), since the export is rebuilt from it.
 */
export function listCaches(storageDir: string, env: NodeJS.ProcessEnv = process.env): CacheEntry[] {
  const out: CacheEntry[] = [];
  const models = join(storageDir, 'models');
  const modelDirs = subdirs(models).flatMap((m) => (m === 'hf' ? subdirs(join(models, 'hf')).map((r) => `hf/${r}`) : [m]));
  for (const name of modelDirs) {
    const dir = join(models, name);
    const all = entry('models', name, dir);
    const onnx = entry('artifacts', `${name}/onnx`, join(dir, 'onnx'));
    out.push({ ...all, bytes: all.bytes - onnx.bytes });
    if (existsSync(onnx.path)) out.push(onnx);
  }
  for (const key of subdirs(join(storageDir, 'train-artifacts'))) out.push(entry('artifacts', `train-artifacts/${key}`, join(storageDir, 'train-artifacts', key)));
  if (existsSync(join(storageDir, 'cache'))) out.push(entry('artifacts', 'cache', join(storageDir, 'cache')));
  const judgeDirs = [join(storageDir, 'judge-cache'), resolve(cliJudgeCacheDir(env))];
  for (const dir of judgeDirs) {
    const file = join(dir, 'judge-cache.jsonl');
    if (existsSync(file) && !out.some((e) => e.path === file)) out.push(entry('judge', file.startsWith(storageDir) ? 'judge-cache/judge-cache.jsonl' : file, file));
  }
  const cudaDir = cudaDownloadDir(env);
  if (existsSync(cudaDir)) {
    for (const f of readdirSync(cudaDir).filter((f) => f.endsWith('.nupkg')).sort()) out.push(entry('cuda', f, join(cudaDir, f)));
  }
  return out;
}

/** Deletes the entries (whole folders or files). A model's entry takes its ONNX export with it. Returns bytes freed. */
export function pruneCaches(entries: readonly CacheEntry[]): number {
  let freed = 0;
  for (const e of entries) {
    const before = diskUsage(e.path).bytes;
    rmSync(e.path, { recursive: true, force: true });
    freed += before;
  }
  return freed;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}
