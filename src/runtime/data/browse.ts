// Paging and search over a dataset, for the dataset browser and `em-lab data show`. The runtime holds the parsed
// rows (cached per file, invalidated by size/mtime), so the webview only ever receives one page: smooth on
// 7 000-row files. Search is a case-insensitive substring match over all message contents (~2 ms per 7 000 rows).
import { statSync } from 'node:fs';
import { loadConversations, type ChatMessage, type JsonlIssue, type JsonlRow } from './jsonl';
import { computeStats, type CountTokens, type DatasetStats } from './stats';

interface CachedDataset {
  size: number;
  mtimeMs: number;
  rows: JsonlRow[];
  issues: JsonlIssue[];
  /** Lower-cased contents of each row, joined: what search runs over. */
  haystacks: string[];
  stats?: DatasetStats;
}

const cache = new Map<string, CachedDataset>();
const MAX_CACHED = 8; // datasets kept parsed (~3x file size each in memory)

export async function openDataset(file: string, signal?: AbortSignal): Promise<CachedDataset> {
  const st = statSync(file);
  const hit = cache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit;
  const loaded = await loadConversations(file, { signal });
  const entry: CachedDataset = {
    size: st.size,
    mtimeMs: st.mtimeMs,
    rows: loaded.rows,
    issues: loaded.issues,
    haystacks: loaded.rows.map((r) => r.conversation.messages.map((m) => m.content).join('\n').toLowerCase()),
  };
  cache.delete(file);
  cache.set(file, entry);
  while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  return entry;
}

export async function datasetStats(file: string, countTokens?: CountTokens, signal?: AbortSignal): Promise<{ stats: DatasetStats; issues: JsonlIssue[] }> {
  const ds = await openDataset(file, signal);
  if (countTokens) return { stats: computeStats(ds.rows, countTokens), issues: ds.issues };
  ds.stats ??= computeStats(ds.rows);
  return { stats: ds.stats, issues: ds.issues };
}

export interface RowSummary {
  /** 0-based index among the valid rows. */
  index: number;
  /** 1-based line in the file. */
  line: number;
  /** First user and first assistant message, cut to `previewChars`. */
  user: string;
  assistant: string;
  turns: number;
}

export interface PageQuery {
  offset: number;
  limit: number;
  search?: string;
  previewChars?: number;
}

export interface Page {
  /** Valid rows in the file. */
  total: number;
  /** Rows matching the search (= total without a search). */
  matched: number;
  offset: number;
  rows: RowSummary[];
  invalidLines: number;
}

function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

export function summarize(row: JsonlRow, index: number, previewChars: number): RowSummary {
  const msgs = row.conversation.messages;
  return {
    index,
    line: row.line,
    user: cut(msgs.find((m) => m.role === 'user')?.content ?? '', previewChars),
    assistant: cut(msgs.find((m) => m.role === 'assistant')?.content ?? '', previewChars),
    turns: msgs.length,
  };
}

export async function pageDataset(file: string, q: PageQuery, signal?: AbortSignal): Promise<Page> {
  const ds = await openDataset(file, signal);
  const needle = q.search?.trim().toLowerCase();
  const limit = Math.max(1, Math.min(500, Math.floor(q.limit)));
  const offset = Math.max(0, Math.floor(q.offset));
  let matchedIdx: number[] | undefined;
  if (needle) {
    matchedIdx = [];
    for (let i = 0; i < ds.haystacks.length; i++) if (ds.haystacks[i]!.includes(needle)) matchedIdx.push(i);
  }
  const matched = matchedIdx ? matchedIdx.length : ds.rows.length;
  const pick = matchedIdx ? matchedIdx.slice(offset, offset + limit) : Array.from({ length: Math.max(0, Math.min(limit, ds.rows.length - offset)) }, (_, k) => offset + k);
  return {
    total: ds.rows.length,
    matched,
    offset,
    rows: pick.map((i) => summarize(ds.rows[i]!, i, q.previewChars ?? 160)),
    invalidLines: ds.issues.length,
  };
}

export async function getConversation(file: string, index: number, signal?: AbortSignal): Promise<{ index: number; line: number; messages: ChatMessage[] } | undefined> {
  const ds = await openDataset(file, signal);
  const row = ds.rows[index];
  return row ? { index, line: row.line, messages: row.conversation.messages } : undefined;
}
