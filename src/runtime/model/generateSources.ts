// Where generation gets adapters and Hub models from: PEFT parsing (peft.ts) and Hub downloads (hub.ts), adapted
// to what the generation sessions need, plus the list of downloaded Hub models for pickers.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraAdapterWeights } from './decoder';
import type { LlamaConfig } from './llamaConfig';
import { readPeftAdapter } from './peft';
import { resolveModelDir } from './hub';
import type { Progress } from './generateSession';

/** A PEFT adapter folder as decoder feeds, checked against the base model's shapes. */
export function readAdapterForDecoder(dir: string, base: LlamaConfig): LoraAdapterWeights {
  return readPeftAdapter(dir, base);
}

/** A Hub id's local folder, downloaded into the EM Lab cache (HF_TOKEN from env) when missing, with progress. */
export async function resolveHubModel(id: string, o: { storageDir: string; env: NodeJS.ProcessEnv; progress: Progress; signal?: AbortSignal }): Promise<string> {
  return resolveModelDir(id, {
    storageDir: o.storageDir,
    env: o.env,
    download: true,
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (file, done, total) => o.progress(`Downloading ${id}: ${file}`, total > 0 ? done / total : undefined),
  });
}

/** Hub repos already downloaded under <storageDir>/models/hf/ (repo id, folder, and whether it is a model or an adapter repo). */
export function downloadedHubModels(storageDir: string): { repoId: string; dir: string; kind: 'model' | 'adapter' }[] {
  const root = join(storageDir, 'models', 'hf');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: { repoId: string; dir: string; kind: 'model' | 'adapter' }[] = [];
  for (const name of names.sort()) {
    const dir = join(root, name);
    const record = join(dir, 'em-lab-download.json');
    if (!existsSync(record)) continue; // an interrupted download
    try {
      const { repoId, kind } = JSON.parse(readFileSync(record, 'utf8')) as { repoId?: unknown; kind?: unknown };
      if (typeof repoId === 'string') out.push({ repoId, dir, kind: kind === 'adapter' ? 'adapter' : 'model' });
    } catch {
      // unreadable record: skip it, `em-lab model pull` repairs it
    }
  }
  return out;
}
