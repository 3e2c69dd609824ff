// Where a key may be sent (docs/secrets.md, "Endpoints that receive a key"). The rule: an endpoint that receives
// a key (OPENAI_BASE_URL, HF_ENDPOINT, --base-url, emLab.judge.baseUrl) comes only from explicit configuration: a
// CLI flag, a user- or machine-level setting, the process environment, or a .env inside the workspace / repository
// root. A .env found above that root (a shared parent folder, a cloned template's parent) is ignored for endpoints.
// Keys never travel over plain http except to this machine (loopback).
import { existsSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import type { DotenvFile } from './findDotenv';

/** Variables that say where requests (with their keys) go. */
export const ENDPOINT_VARS = ['OPENAI_BASE_URL', 'HF_ENDPOINT'] as const;

/** The enclosing git repository's root (a folder holding .git), else the start folder itself. */
export function projectRoot(startDir: string): string {
  const start = resolve(startDir);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(resolve(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

function inside(file: string, root: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The .env as far as keys' destinations may come from it: endpoint variables of a .env outside `root` are
 * dropped, and `notes` says so (shown to the user, never silently).
 */
export function dotenvForEndpoints(dotenv: DotenvFile | undefined, root: string): { dotenv: DotenvFile | undefined; notes: string[] } {
  if (!dotenv || inside(dotenv.path, root)) return { dotenv, notes: [] };
  const dropped = ENDPOINT_VARS.filter((v) => dotenv.values[v] !== undefined);
  if (!dropped.length) return { dotenv, notes: [] };
  const values = Object.fromEntries(Object.entries(dotenv.values).filter(([k]) => !(ENDPOINT_VARS as readonly string[]).includes(k)));
  return {
    dotenv: { path: dotenv.path, values },
    notes: [`Ignored ${dropped.join(' and ')} from ${dotenv.path}: a .env outside the workspace (${root}) may not choose where keys are sent. Set ${dropped.length > 1 ? 'them' : 'it'} in the environment, a .env inside ${root}, or pass --base-url.`],
  };
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Why a key may not be sent to `url` (not a URL, not http(s), plain http to another machine), or undefined. */
export function keyedUrlProblem(url: string, what: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${what} ${JSON.stringify(url)} is not a URL (expected https://host/...)`;
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return undefined;
  if (u.protocol === 'http:') return `refusing to send a key to ${u.origin} over plain http (${what}): anyone on the way could read it. Use https://, or a server on this machine (http://127.0.0.1:PORT)`;
  return `${what} ${JSON.stringify(url)} must be an http(s) URL`;
}
