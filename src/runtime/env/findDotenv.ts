// `.env` lookup as python-dotenv's find_dotenv(usecwd=True) does it: from the start folder up to the filesystem
// root, the first `.env` that is a regular file wins. Read with dotenv.parse; process.env is never mutated here —
// callers merge explicitly (see resolveSetting in ./secrets.ts and docs/secrets.md for the precedence).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'dotenv';

export interface DotenvFile {
  path: string;
  values: Record<string, string>;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first `filename` (default `.env`) in startDir or one of its ancestors, or undefined. */
export function findDotenv(startDir: string, filename = '.env'): string | undefined {
  let dir = resolve(startDir);
  if (isFile(dir)) dir = dirname(dir); // python-dotenv also accepts a file as the start
  for (;;) {
    const candidate = join(dir, filename);
    if (isFile(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Finds and parses `.env` (no variable expansion, unlike python-dotenv's default; see docs/secrets.md). */
export function loadDotenv(startDir: string, filename = '.env'): DotenvFile | undefined {
  const path = findDotenv(startDir, filename);
  if (!path) return undefined;
  return { path, values: parse(readFileSync(path)) };
}
