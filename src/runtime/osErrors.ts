// One mapping of operating-system errors (Node's errno exceptions: EEXIST, EISDIR, EROFS, ENOSPC, ENOENT, ...) to
// UserErrors that name the path and the fix. The CLI (cli.ts) and the runtime's RPC boundary (rpc/dispatcher.ts)
// pass every error through toUserError, so a full disk or a read-only folder never reaches the user as a stack
// trace. Long jobs that write through file descriptors (no path on the error) pass `where` to name their folder.
import { statSync } from 'node:fs';
import { UserError } from './errors';

interface ErrnoLike {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

function errnoOf(err: unknown): ErrnoLike | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code) || typeof e.syscall !== 'string') return undefined;
  return { code: e.code, syscall: e.syscall, ...(e.path ? { path: e.path } : {}), ...(e.dest ? { dest: e.dest } : {}) };
}

/** What the failed call was doing, in words ("create the folder", "write to"). */
function action(syscall: string | undefined): string {
  switch (syscall) {
    case 'mkdir': return 'create the folder';
    case 'rename': return 'move';
    case 'unlink': case 'rmdir': case 'rm': return 'delete';
    case 'open': case 'write': case 'copyfile': return 'write';
    case 'scandir': case 'read': case 'stat': case 'lstat': return 'read';
    default: return syscall ?? 'use';
  }
}

// errno code -> the sentence after the path. One row per kind of failure; unknown codes keep Node's own text.
const PROBLEMS: Record<string, (path: string, act: string) => string> = {
  ENOENT: (p) => `${p} does not exist. Check the path (its folder must exist too).`,
  EEXIST: (p) => `${p} already exists and is in the way. Remove it or choose another path.`,
  EEXIST_DIR: (p) => `${p} is a file, where a folder is needed. Remove it or choose another path.`,
  EISDIR: (p) => `${p} is a folder, but a file is needed there. Give the path of a file.`,
  ENOTDIR: (p) => `${p}: part of this path is a file, not a folder. Give a path whose parents are folders.`,
  ENOTEMPTY: (p) => `${p} is a folder that is not empty. Remove it or choose another path.`,
  EROFS: (p, a) => `cannot ${a} ${p}: the file system is read-only. Choose a path on a writable disk.`,
  EACCES: (p, a) => `cannot ${a} ${p}: permission denied. Fix its permissions or choose another path.`,
  EPERM: (p, a) => `cannot ${a} ${p}: operation not permitted. Fix its permissions or choose another path.`,
  ENOSPC: (p) => `the disk holding ${p} is full. Free some space (or choose a path on another disk) and run the same command again; finished work is kept.`,
  EDQUOT: (p) => `the disk quota for ${p} is used up. Free some space and run the same command again; finished work is kept.`,
  ENAMETOOLONG: (p) => `${p}: the path is too long for the file system. Choose a shorter path.`,
  ELOOP: (p) => `${p}: too many symbolic links (a link loop?). Fix the links or choose another path.`,
  EMFILE: (p) => `too many open files while opening ${p}. Raise the limit (ulimit -n) and run again.`,
  ENFILE: (p) => `the system has too many open files (at ${p}). Close some programs and run again.`,
  EXDEV: (p) => `${p}: cannot move across disks. Keep the output on the same disk as its temporary files.`,
  EBUSY: (p) => `${p} is busy (in use by another program). Close it there and run again.`,
  EIO: (p) => `${p}: input/output error (a failing disk or a lost network share). Check the disk and run again.`,
};

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A UserError for an OS error, or undefined when `err` is not one. `where` names the file or folder when the
 * error carries no path (writes through a file descriptor).
 */
export function userErrorFromOs(err: unknown, where?: string, o: { nameWhere?: boolean } = {}): UserError | undefined {
  const e = errnoOf(err);
  if (!e) return undefined;
  // nameWhere: the failing path is an internal temporary one; the user knows the output it stands for
  const path = (o.nameWhere ? where : undefined) ?? e.path ?? where ?? 'a file';
  const target = e.dest && (e.code === 'EEXIST' || e.code === 'ENOTEMPTY' || e.code === 'EISDIR' || e.code === 'ENOTDIR') ? e.dest : path;
  const problem = e.code === 'EEXIST' && e.syscall === 'mkdir' && !isFolder(target) ? PROBLEMS.EEXIST_DIR : PROBLEMS[e.code];
  const text = problem ? problem(target, action(e.syscall)) : `cannot ${action(e.syscall)} ${target}: ${(err as Error).message}`;
  return new UserError(`fs-${e.code.toLowerCase()}`, text.charAt(0).toUpperCase() + text.slice(1), { errno: e.code, path: target });
}

/** `err` as a UserError when it is one (or an OS error), else undefined: what the CLI and the RPC boundary show. */
export function toUserError(err: unknown, where?: string): UserError | undefined {
  if (err instanceof UserError) return err;
  return userErrorFromOs(err, where);
}
