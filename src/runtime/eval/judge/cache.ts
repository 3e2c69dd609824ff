// Persistent judge cache: one JSONL file under the cache folder, keyed by sha256 of (judge model, mode, prompt
// template, question, answer), so re-judging the same answer with the same judge costs nothing. Loaded into
// memory at start (a record is ~300 bytes; 100k judgements is ~30 MB), appended as results arrive.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { JsonlAppender, readJsonl } from '../jsonl';
import type { JudgeOutcome, JudgeMode } from './judgeCall';

export function judgeCacheKey(model: string, mode: JudgeMode, promptTemplate: string, question: string, answer: string): string {
  return createHash('sha256').update(JSON.stringify([model, mode, promptTemplate, question, answer])).digest('hex');
}


interface CacheRecord {
  key: string;
  outcome: JudgeOutcome;
}

export class JudgeCache {
  private constructor(
    private readonly entries: Map<string, JudgeOutcome>,
    private readonly appender: JsonlAppender | undefined,
  ) {}

  /** `dir` undefined gives a cache that remembers nothing (--no-cache). */
  static async open(dir: string | undefined): Promise<JudgeCache> {
    if (!dir) return new JudgeCache(new Map(), undefined);
    const file = join(dir, 'judge-cache.jsonl');
    const entries = new Map<string, JudgeOutcome>();
    for (const r of await readJsonl<CacheRecord>(file)) if (r && typeof r.key === 'string' && r.outcome) entries.set(r.key, r.outcome);
    return new JudgeCache(entries, await JsonlAppender.open(file));
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): JudgeOutcome | undefined {
    return this.entries.get(key);
  }

  async put(key: string, outcome: JudgeOutcome): Promise<void> {
    if (this.entries.has(key)) return;
    this.entries.set(key, outcome);
    await this.appender?.append({ key, outcome } satisfies CacheRecord);
  }

  async close(): Promise<void> {
    await this.appender?.close();
  }
}
