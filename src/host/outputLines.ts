// Splits a child's stdout/stderr chunks into lines and keeps the last N stderr lines (the "stderr tail" that
// crash errors carry). vscode-free, so the runtime tests use it through runtimeConnection.ts.
import type { Readable } from 'node:stream';

export class LineTail {
  private lines: string[] = [];
  constructor(private readonly max: number) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }

  text(): string {
    return this.lines.join('\n');
  }

  clear(): void {
    this.lines = [];
  }
}

/** Calls onLine for each complete line of `stream` (and the unterminated remainder when it ends).
 *  Resolves when the stream has ended, so a crash report can wait for the last stderr lines. */
export function forEachLine(stream: Readable | null | undefined, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split(/\r?\n/);
    partial = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  });
  return new Promise((resolve) => {
    const finish = () => {
      if (partial) onLine(partial);
      partial = '';
      resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}
