// llama.cpp as a peer, through the node-llama-cpp npm package (prebuilt CPU binaries, which come as npm packages).
// It is never a dependency of EM Lab: the bench installs a pinned version on demand into its cache folder with
// npm (optional packages omitted, so only this platform's CPU build is fetched; install scripts skipped, so
// nothing is compiled or downloaded from elsewhere) and imports it from there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

/** Installs node-llama-cpp + this platform's prebuilt CPU binary into `<cacheDir>/node-llama-cpp` once; returns the folder. */
export function ensureNodeLlamaCpp(cacheDir: string): string {
  const dir = join(cacheDir, `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
  const platformPkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
  if (existsSync(join(dir, 'node_modules', 'node-llama-cpp', 'package.json')) && existsSync(join(dir, 'node_modules', platformPkg))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'emlab-bench-peers', private: true }));
  console.log(`installing node-llama-cpp ${NODE_LLAMA_CPP_VERSION} and ${platformPkg} into ${dir} (npm registry, once)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--no-save', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `${platformPkg}@${NODE_LLAMA_CPP_VERSION}`], { cwd: dir, stdio: 'inherit', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`npm install of node-llama-cpp failed (exit ${r.status ?? r.signal}) in ${dir}; the peer bench needs the npm registry once.`);
  return dir;
}

/** What the bench uses of node-llama-cpp's API (3.x), typed loosely: it is loaded at run time from the cache. */
interface Sequence {
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, void>;
  controlledEvaluate(input: (number | [number, { generateNext: { token?: boolean; logits?: boolean } }])[]): Promise<({ next: { token?: number | null; logits?: Map<number, number> } } | undefined)[]>;
  clearHistory(): Promise<void>;
}
interface Context { getSequence(): Sequence; dispose(): Promise<void> }
interface Model { createContext(o: { contextSize: number; batchSize?: number; threads: number; sequences?: number }): Promise<Context>; dispose(): Promise<void> }
interface Llama { loadModel(o: { modelPath: string; gpuLayers: number }): Promise<Model> }

export async function loadLlama(dir: string): Promise<Llama> {
  const entry = join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  const mod = (await import(pathToFileURL(entry).href)) as { getLlama(o: object): Promise<Llama> };
  // build 'never': use the prebuilt binary or fail (never compile llama.cpp here)
  return mod.getLlama({ gpu: false, build: 'never', logLevel: 'error' });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => performance.now() / 1000;

/**
 * Tokens per second after warm-up, from each row's token timestamps (s): the tokens after every row's second one,
 * over the time from the latest second token to the latest last one. Rows that step together (one batched
 * decode per step, as both engines do) make this N·rows / (time of N steps).
 */
export function windowRate(rows: number[][]): number {
  const t0 = Math.max(...rows.map((r) => r[1]!)), t1 = Math.max(...rows.map((r) => r.at(-1)!));
  return rows.reduce((sum, r) => sum + r.length - 2, 0) / (t1 - t0);
}

export interface PeerSpeeds {
  loadS: number;
  prefillTps: number;
  decodeB1: number;
  decodeB8: number;
}

/**
 * The same measurements as EM Lab's side (peerEmLab.ts): prefill = 128 prompt tokens in, the first new token out
 * (median of 3 after a warm-up); decode = greedy new tokens after a 16-token prompt, timed after 2 warm-up tokens,
 * b8 = 8 sequences of one context generating together (node-llama-cpp batches their steps into one llama_decode).
 */
export async function measureLlamaCpp(llama: Llama, modelPath: string, threads: number, tok: (i: number) => number, decodeSteps: number): Promise<PeerSpeeds> {
  let t = now();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const loadS = now() - t;
  const P = 128;
  const prompt = Array.from({ length: P }, (_, i) => tok(i));
  const one = await model.createContext({ contextSize: 512, batchSize: 512, threads, sequences: 1 });
  const seq = one.getSequence();
  const prefills: number[] = [];
  for (let k = 0; k < 4; k++) {
    await seq.clearHistory();
    t = now();
    const out = await seq.controlledEvaluate([...prompt.slice(0, -1), [prompt.at(-1)!, { generateNext: { token: true } }]]);
    if (typeof out[P - 1]?.next.token !== 'number') throw new Error('llama.cpp prefill gave no token');
    if (k > 0) prefills.push(now() - t);
  }
  // each row's token timestamps; the rate counts tokens in the window where every row is past its warm-up tokens
  const generate = async (s: Sequence, row: number): Promise<number[]> => {
    const times: number[] = [];
    for await (const _ of s.evaluate(Array.from({ length: 16 }, (_, i) => tok(i + row)), { temperature: 0 })) {
      times.push(now());
      if (times.length === 2 + decodeSteps) break;
    }
    return times;
  };
  await seq.clearHistory();
  const decodeB1 = windowRate([await generate(seq, 0)]);
  await one.dispose();
  const eight = await model.createContext({ contextSize: 512 * 8, batchSize: 512, threads, sequences: 8 });
  const decodeB8 = windowRate(await Promise.all(Array.from({ length: 8 }, (_, b) => generate(eight.getSequence(), b))));
  await eight.dispose();
  await model.dispose();
  return { loadS, prefillTps: P / median(prefills), decodeB1, decodeB8 };
}

/** llama.cpp's logits of the next token after `tokens` (for reading GGUF files back). */
export async function llamaCppLogits(llama: Llama, modelPath: string, tokens: number[], threads: number): Promise<Map<number, number>> {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 64, threads });
  try {
    const out = await ctx.getSequence().controlledEvaluate([...tokens.slice(0, -1), [tokens.at(-1)!, { generateNext: { logits: true } }]]);
    const logits = out[tokens.length - 1]?.next.logits;
    if (!logits) throw new Error('llama.cpp returned no logits');
    return logits;
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}
