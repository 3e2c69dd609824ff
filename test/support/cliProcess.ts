// Runs the built CLI (dist/cli.js) in its own process, optionally with test/support/faultPreload.cjs, and reports
// its exit code, output and peak resident memory. For the cases that need a real process: exit codes, kill -9,
// memory bounds. Everything else runs in-process through main() (faster).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/runtime/cli';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
const PRELOAD = join(__dirname, 'faultPreload.cjs');

export interface CliProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  maxRssMiB?: number;
  ms: number;
  pid: number;
}

export interface CliProcessOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** EM_LAB_FAULT_* variables for faultPreload.cjs (see there). */
  faults?: Record<string, string>;
  measureRss?: boolean;
  timeoutMs?: number;
}

export function startCli(args: string[], o: CliProcessOptions): { pid: number; done: Promise<CliProcessResult> } {
  const rssFile = join(o.cwd, `.rss-${process.pid}-${Math.random().toString(16).slice(2)}.json`);
  const preload = o.faults || o.measureRss ? ['--require', PRELOAD] : [];
  const env = { ...process.env, ...o.env, ...o.faults, ...(o.measureRss ? { EM_LAB_FAULT_RSS_FILE: rssFile } : {}) };
  const t0 = Date.now();
  const child = spawn(process.execPath, [...preload, CLI, ...args], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
  const done = new Promise<CliProcessResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let maxRssMiB: number | undefined;
      if (existsSync(rssFile)) {
        maxRssMiB = (JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRssKiB: number }).maxRssKiB / 1024;
        rmSync(rssFile, { force: true });
      }
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, pid: child.pid!, ...(maxRssMiB !== undefined ? { maxRssMiB } : {}) });
    });
  });
  return { pid: child.pid!, done };
}

export function runCliProcess(args: string[], o: CliProcessOptions): Promise<CliProcessResult> {
  return startCli(args, o).done;
}

/** Runs `em-lab argv` in this process (main() with captured output): the fast path when no real process is needed. */
export async function runCliInProcess(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
  const text: string[] = [];
  const code = await main(argv, { stdout: (t) => void text.push(t), stderr: (t) => void text.push(t), cwd, env, stderrIsTTY: false });
  return { code, text: text.join('') };
}
