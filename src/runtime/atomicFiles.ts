// All-or-nothing file writes and the sweep of what killed writers leave behind. Every temporary name carries the
// writer's pid (`<name>.tmp-<pid>`, `.<name>.partial-<pid>-<hex>`), so a later run can tell a leftover of a
// process that is gone (removed by sweepStaleTemps) from a file a live process is still writing (kept). Writers
// remove their own temporary file on every failure path; only a kill -9 leaves one, and the next run sweeps it.
import { closeSync, ftruncateSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<path>.tmp-<pid>`: the temporary name of an atomic write of `path` by this process. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** Writes `path` via a temporary file and a rename; the temporary file is removed when anything fails. */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: { inPlaceOnFullDisk?: boolean } = {}): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    // A full disk still lets us overwrite blocks a small existing file already owns (run.json's status after a
    // failure): better a non-atomic update than a run that says "running" forever.
    if (o.inPlaceOnFullDisk && (code === 'ENOSPC' || code === 'EDQUOT') && overwriteInPlace(path, data)) return;
    throw err;
  }
}

function overwriteInPlace(path: string, data: string | Uint8Array): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return false;
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

export function writeJsonAtomic(path: string, value: unknown, o: { inPlaceOnFullDisk?: boolean } = {}): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', o);
}

/** The pid a temporary name carries (`x.tmp-123`, `.x.partial-123-ab12cd34`), or undefined for other names. */
export function tempOwner(name: string): number | undefined {
  const m = /\.tmp-(\d+)$/.exec(name) ?? /^\..+\.(?:partial|old|download)-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Removes temporary files and folders in `dir` (not below) left by processes that are gone; returns their paths.
 * `keep(name)` may spare an entry (a caller that wants to restore it instead).
 */
export function sweepStaleTemps(dir: string, keep: (name: string) => boolean = () => false): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwner(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid) || keep(name)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}
