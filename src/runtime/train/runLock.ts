// One trainer per run directory: <run>/train.lock holds the pid of the process training it, created with O_EXCL
// so two `em-lab train` commands racing for one folder cannot both win. A lock whose process is gone (kill -9, a
// crash, a reboot) is stale and taken over. The extension refuses a second start itself; this makes the CLI and
// the detached trainer refuse it too, naming the pid that holds the folder.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../atomicFiles';
import { UserError } from '../errors';

export const LOCK_FILE = 'train.lock';

export interface RunLock {
  readonly path: string;
  release(): void;
}

interface LockBody {
  pid: number;
  since: string;
}

function readLock(path: string): LockBody | undefined {
  try {
    const body = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockBody>;
    return typeof body.pid === 'number' ? { pid: body.pid, since: String(body.since ?? '?') } : undefined;
  } catch {
    return undefined; // missing, or torn by a kill mid-write: stale either way
  }
}

/** The refusal a second trainer gets, naming the first one's pid. */
export function lockedError(runDir: string, pid: number, since?: string): UserError {
  return new UserError('train-locked', `${runDir} is being trained by another process (pid ${pid}${since ? `, since ${since}` : ''}). Wait for it to finish, pause or cancel it (kill -INT ${pid}, or the Training view), or choose another --output_dir.`, { pid });
}

/** The live process training `runDir`, if any (a stale lock counts as none). */
export function lockHolder(runDir: string): number | undefined {
  const held = readLock(join(runDir, LOCK_FILE));
  return held && held.pid !== process.pid && pidAlive(held.pid) ? held.pid : undefined;
}

function freshlyCreated(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 1000;
  } catch {
    return false;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the run directory's lock (the folder must exist) or throws naming the process that holds it. */
export function lockRunDir(runDir: string): RunLock {
  const path = join(runDir, LOCK_FILE);
  for (let attempt = 0; attempt < 40; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = readLock(path);
      if (held && held.pid !== process.pid && pidAlive(held.pid)) {
        throw lockedError(runDir, held.pid, held.since);
      }
      if (!held && freshlyCreated(path)) {
        sleepMs(50); // another process created it a moment ago and is writing its pid
        continue;
      }
      rmSync(path, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }) + '\n');
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      },
    };
  }
  throw new UserError('train-locked', `${runDir}: could not take ${LOCK_FILE} (another process keeps re-creating it). Make sure only one training runs in this folder.`);
}
