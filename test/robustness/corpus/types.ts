// The robustness corpus: generated bad inputs, each with the message it must produce. badInputs.test.ts runs them.
export type CaseKind = 'archive' | 'jsonl' | 'model' | 'adapter' | 'csv' | 'questions' | 'flags';

export interface CorpusContext {
  /** Shared EM Lab storage (tiny-llama is built here once). */
  storage: string;
  /** A complete tiny-llama model folder to copy and damage. */
  tinyFolder: string;
  /** Encrypts ZIP bytes into an easy-dataset-share archive with PASSWORD (key derived once). */
  encrypt(zip: Buffer): Buffer;
  /** A raw-deflate stream of 1 GiB of zero bytes (about 4.7 MB), made once. */
  bomb: Buffer;
}

export const PASSWORD = 'corpus-password';

export interface BadCase {
  kind: CaseKind;
  name: string;
  /** Writes the input into `dir` (the working folder) and returns the em-lab arguments. */
  make(dir: string, ctx: CorpusContext): string[];
  /** What the message must say: the file or flag, and the problem. */
  expect: RegExp;
  /** 'error' (default): a non-zero exit. 'warning': the input is usable; exit 0 is fine, the warning is required. */
  outcome?: 'error' | 'warning';
  /** Run in its own process, with a peak-RSS bound (MiB) and optional test/support/faultPreload.cjs faults. */
  process?: { rssMiB: number; faults?(dir: string): Record<string, string> };
  /** Wall-clock bound (ms); default 30 s. Generous: it catches unbounded work, not slowness. */
  timeMs?: number;
  /** Further checks on the working folder after the run. */
  check?(dir: string): void;
}

/** One conversation line. */
export function conv(user: string, assistant: string): string {
  return JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });
}
