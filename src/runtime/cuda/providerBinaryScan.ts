// What the CUDA provider library says about itself in its read-only data, found by scanning its bytes (one
// sequential pass, about 0.5 s for the 230 MB provider): the ONNX Runtime version it was built as (ORT_VERSION,
// a NUL-terminated "1.29.0"), and whether it loads cuDNN with dlopen at run time (then cuDNN is not a DT_NEEDED
// entry, but the provider still fails without it).
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ProviderBinaryFacts {
  /** Distinct NUL-terminated strings that look like an ONNX Runtime version (1.10.0 .. 1.99.x). */
  versions: string[];
  /** The library dlopens cuDNN by name (the "libcudnn" string is present). */
  loadsCudnn: boolean;
}

const CHUNK = 16 * 1024 * 1024;
const OVERLAP = 64;

export function scanProviderBinary(path: string): ProviderBinaryFacts {
  const fd = openSync(path, 'r');
  const versions = new Set<string>();
  let loadsCudnn = false;
  try {
    const buf = Buffer.alloc(CHUNK + OVERLAP);
    let filled = 0; // bytes kept from the previous chunk, so a string split across chunks is still seen
    let position = 0;
    for (;;) {
      const got = readSync(fd, buf, filled, CHUNK, position);
      if (got === 0) break;
      position += got;
      const end = filled + got;
      const text = buf.toString('latin1', 0, end);
      for (const m of text.matchAll(/\0(1\.[1-9]\d\.\d{1,3})\0/g)) versions.add(m[1]!);
      if (!loadsCudnn && text.includes('libcudnn')) loadsCudnn = true;
      const keep = Math.min(OVERLAP, end);
      buf.copy(buf, 0, end - keep, end);
      filled = keep;
    }
  } finally {
    closeSync(fd);
  }
  return { versions: [...versions], loadsCudnn };
}

/** The facts for the installed provider, cached beside it (keyed by size and mtime) so status checks stay cheap. */
export function cachedProviderFacts(providerPath: string): ProviderBinaryFacts {
  const cacheFile = join(dirname(providerPath), '.em-lab-provider-facts.json');
  const st = statSync(providerPath);
  const key = `${st.size}:${st.mtimeMs}`;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key?: string; facts?: ProviderBinaryFacts };
    if (cached.key === key && cached.facts) return cached.facts;
  } catch {
    // no cache yet
  }
  const facts = scanProviderBinary(providerPath);
  try {
    writeFileSync(cacheFile, JSON.stringify({ key, facts }));
  } catch {
    // read-only install: scan again next time
  }
  return facts;
}
