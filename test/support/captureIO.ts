// A CliIO that records what a command prints, for tests that run commands in-process.
import type { CliIO } from '../../src/runtime/cli/command';

export interface CapturedIO extends CliIO {
  stdout: string[];
  stderr: string[];
  events: Record<string, unknown>[];
}

export function captureIO(options: { json?: boolean; cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): CapturedIO {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const events: Record<string, unknown>[] = [];
  return {
    json: options.json ?? false,
    signal: options.signal ?? new AbortController().signal,
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? {},
    stdout,
    stderr,
    events,
    out: (t) => void stdout.push(t),
    event: (o) => void events.push(o),
    err: (t) => void stderr.push(t),
    progress: () => undefined,
  };
}
