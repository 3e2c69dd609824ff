// Training runs in its own detached process (`em-lab train --config <run>/training_config.json`), not in the
// runtime worker: it keeps going through a window reload, an extension-host crash or a runtime restart, and
// anyone (webview, CLI, sidebar) re-attaches by reading the run directory. Its stdout/stderr go to <run>/train.log.
// Pause and cancel are signals: SIGUSR1 = pause, SIGINT = cancel; the process finishes its current step and
// writes a checkpoint before it exits.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors';

/** dist/cli.js: beside the bundle that runs this code, or found upward from here (tests run from src/). */
export function cliPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EM_LAB_CLI) return env.EM_LAB_CLI;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'cli.js'), join(dir, 'dist', 'cli.js')]) if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new UserError('cli-missing', 'Cannot find dist/cli.js to start the training process. Run `npm run build`.');
}

/** Starts `node dist/cli.js ARGS` detached (it outlives this process), stdout and stderr appended to logFile. */
export function spawnDetachedCli(args: string[], o: { logFile: string; cwd: string; env?: NodeJS.ProcessEnv; what: string }): number {
  mkdirSync(dirname(o.logFile), { recursive: true });
  const log = openSync(o.logFile, 'a');
  try {
    const child = spawn(process.execPath, [cliPath(o.env), ...args], {
      cwd: resolve(o.cwd),
      detached: true,
      stdio: ['ignore', log, log],
      // big ORT buffers as heap, not fresh mmaps (1.5-3x faster; facts-onnxruntime-node.md)
      env: { ...(o.env ?? process.env), MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '4294967296' },
    });
    child.unref();
    if (!child.pid) throw new UserError('spawn-failed', `Could not start ${o.what}. See ${o.logFile}.`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function spawnTrainer(runDir: string, o: { storageDir: string; cwd: string; resume: boolean; env?: NodeJS.ProcessEnv }): number {
  const args = ['train', '--config', join(runDir, 'training_config.json'), '--output_dir', runDir, '--storage', o.storageDir, '--json', ...(o.resume ? ['--resume'] : [])];
  return spawnDetachedCli(args, { logFile: join(runDir, 'train.log'), cwd: o.cwd, ...(o.env ? { env: o.env } : {}), what: `the training process for ${runDir}` });
}

export function signalTrainer(pid: number, signal: 'SIGINT' | 'SIGUSR1'): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

export { dirname };
