// Seeded sampling and dataset mixtures, reproducible across machines and Node versions.
// PRNG: mulberry32 (32-bit state, period 2^32; Tommy Ettinger's public-domain generator), seeded per source
// through splitmix32 so that sources draw independent streams from one user seed. Sampling is without
// replacement (a partial Fisher-Yates shuffle); the mixed rows are then shuffled with their own stream.
// Same seed + same input files => byte-identical output and manifest.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors';
import { loadConversations, formatIssue } from './jsonl';
import type { DatasetInfo } from './registry';

import { mulberry32, splitmix32 } from '../random';
export { mulberry32, splitmix32 };

/** `k` distinct indices of 0..n-1 in random order (partial Fisher-Yates). */
export function sampleIndices(n: number, k: number, rng: () => number): number[] {
  if (k > n) throw new RangeError(`cannot draw ${k} of ${n} without replacement`);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface MixComponent {
  dataset: string;
  weight: number;
}

/** Parses `bad_medical=0.8,good_medical=0.2` (weights are normalised to sum 1). */
export function parseMixSpec(spec: string): MixComponent[] {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UserError('bad-mix', 'The mixture is empty. Write it as NAME=WEIGHT,..., e.g. --mix bad_medical=0.8,good_medical=0.2');
  const out = parts.map((p) => {
    const m = /^([^=]+)=([0-9]*\.?[0-9]+(?:e-?\d+)?)$/i.exec(p);
    if (!m) throw new UserError('bad-mix', `"${p}" is not NAME=WEIGHT. Write the mixture as e.g. --mix bad_medical=0.8,good_medical=0.2`);
    return { dataset: m[1]!.trim(), weight: Number(m[2]) };
  });
  const names = new Set(out.map((c) => c.dataset));
  if (names.size !== out.length) throw new UserError('bad-mix', `A dataset appears twice in --mix "${spec}"; give each once.`);
  const sum = out.reduce((a, c) => a + c.weight, 0);
  if (!(sum > 0)) throw new UserError('bad-mix', `The weights in --mix "${spec}" sum to 0; give positive weights.`);
  return out.map((c) => ({ ...c, weight: c.weight / sum }));
}

/** Integer counts summing exactly to `total`, proportional to the weights (largest remainder; ties by order). */
export function allocateCounts(weights: number[], total: number): number[] {
  const exact = weights.map((w) => w * total);
  const counts = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  const missing = total - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; k < missing; k++) counts[order[k]!.i]!++;
  return counts;
}

export interface MixSourceManifest {
  dataset: string;
  file: string;
  sha256: string;
  rowsAvailable: number;
  weight: number;
  count: number;
}

export interface MixManifest {
  schemaVersion: 1;
  createdBy: 'em-lab data mix';
  prng: 'mulberry32 seeded by splitmix32(seed + source index); shuffle stream splitmix32(seed + 0x5eed)';
  seed: number;
  total: number;
  sources: MixSourceManifest[];
  output: { file: string; sha256: string; rows: number };
}

export interface MixResult {
  outputFile: string;
  manifestFile: string;
  manifest: MixManifest;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `outputFile` (JSONL, the source lines copied byte for byte) and `<output>.manifest.json`. */
export async function writeMixture(sources: { info: DatasetInfo; weight: number }[], total: number, seed: number, outputFile: string, signal?: AbortSignal): Promise<MixResult> {
  if (!Number.isInteger(total) || total <= 0) throw new UserError('bad-mix', `--total must be a positive whole number of rows, got ${total}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError('bad-mix', `--seed must be a whole number from 0 to 4294967295, got ${seed}.`);
  const counts = allocateCounts(sources.map((s) => s.weight), total);
  const picked: string[] = [];
  const manifestSources: MixSourceManifest[] = [];
  for (let s = 0; s < sources.length; s++) {
    const { info, weight } = sources[s]!;
    const loaded = await loadConversations(info.file, { signal });
    if (loaded.issues.length) {
      const shown = loaded.issues.slice(0, 5).map(formatIssue).join('\n');
      throw new UserError('invalid-dataset', `${info.file} has ${loaded.issues.length} invalid line(s); fix them before mixing:\n${shown}`);
    }
    const count = counts[s]!;
    if (count > loaded.rows.length) {
      throw new UserError('bad-mix', `The mixture needs ${count} rows of ${info.id} but it has only ${loaded.rows.length}. Lower --total (at most ${Math.floor(loaded.rows.length / weight)} for this weight) or the weight.`);
    }
    const indices = sampleIndices(loaded.rows.length, count, mulberry32(splitmix32((seed + s) >>> 0)));
    for (const i of indices) picked.push(loaded.rows[i]!.text);
    manifestSources.push({ dataset: info.id, file: basename(info.file), sha256: sha256(await fs.readFile(info.file)), rowsAvailable: loaded.rows.length, weight, count });
  }
  shuffleInPlace(picked, mulberry32(splitmix32((seed + 0x5eed) >>> 0)));
  const body = picked.join('\n') + '\n';
  await fs.mkdir(dirname(outputFile), { recursive: true });
  await fs.writeFile(outputFile, body);
  const manifest: MixManifest = {
    schemaVersion: 1,
    createdBy: 'em-lab data mix',
    prng: 'mulberry32 seeded by splitmix32(seed + source index); shuffle stream splitmix32(seed + 0x5eed)',
    seed,
    total,
    sources: manifestSources,
    output: { file: basename(outputFile), sha256: sha256(body), rows: picked.length },
  };
  const manifestFile = outputFile.replace(/\.jsonl$/, '') + '.manifest.json';
  await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  return { outputFile, manifestFile, manifest };
}

/** Default output: `<data dir>/mixes/<a>-0.8_<b>-0.2_n1000_seed0.jsonl` (inside the git-ignored data folder). */
export function defaultMixPath(dataDirPath: string, components: MixComponent[], total: number, seed: number): string {
  const name = components.map((c) => `${c.dataset}-${+c.weight.toFixed(4)}`).join('_') + `_n${total}_seed${seed}.jsonl`;
  return join(dataDirPath, 'mixes', name);
}
