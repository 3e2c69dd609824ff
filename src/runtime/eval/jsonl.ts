// Append-only JSON Lines files: how long jobs (judging, generation) keep their truth on disk. Each record is one
// write of one line, serialised through a promise chain, so a crash loses at most the line being written; the
// reader skips a torn last line instead of failing.
import { open, readFile, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a line torn by a crash mid-write: the work it recorded is simply redone
    }
  }
  return out;
}

export class JsonlAppender {
  private chain: Promise<void> = Promise.resolve();
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<JsonlAppender> {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a');
    // If the file ends without a newline (torn last line), start on a fresh line so the next record stays readable.
    const { size } = await handle.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      const probe = await open(path, 'r');
      await probe.read(last, 0, 1, size - 1);
      await probe.close();
      if (last[0] !== 0x0a) await handle.write('\n');
    }
    return new JsonlAppender(handle);
  }

  append(record: unknown): Promise<void> {
    const line = JSON.stringify(record) + '\n';
    this.chain = this.chain.then(() => this.handle.write(line).then(() => undefined));
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.handle.close();
  }
}
