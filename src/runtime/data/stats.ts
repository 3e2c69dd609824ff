// Per-dataset statistics: rows, turns, and characters (Unicode code points, as Python's len) per role:
// min / median / p95 / max, plus a histogram for the browser. Token counts come from an optional tokenizer
// hook (`countTokens`), which the model engine provides once a tokenizer is loaded.
import { ROLES, type JsonlRow, type Role } from './jsonl';
import type { DataDistribution } from '../../protocol/dataMethods';

/** min / median / p95 / max / mean of one role's lengths (the protocol's type: the browser shows it as is). */
export type Distribution = DataDistribution;

export interface Histogram {
  /** Lower edge of the first bin and the width of each bin (same unit as the values). */
  start: number;
  binWidth: number;
  counts: number[];
}

export interface RoleStats {
  messages: number;
  chars: Distribution;
  charsHistogram: Histogram;
  tokens?: Distribution;
}

export interface DatasetStats {
  rows: number;
  turns: number;
  /** Rows by number of messages, e.g. {"2": 7049}. */
  turnsPerRow: Record<string, number>;
  roles: Partial<Record<Role, RoleStats>>;
}

export type CountTokens = (text: string) => number;

/** Code points, not UTF-16 units: an emoji counts 1, as in Python. */
export function codePointLength(s: string): number {
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return s.length - pairs;
}

/** Quantile with linear interpolation between closest ranks (numpy's default), on sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function distribution(values: number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  const sum = arr.reduce((a, b) => a + b, 0);
  return { count: arr.length, min: arr[0] ?? NaN, median: quantile(arr, 0.5), p95: quantile(arr, 0.95), max: arr.at(-1) ?? NaN, mean: arr.length ? sum / arr.length : NaN };
}

/** Equal-width bins from 0 to the max, with a "nice" bin width (1, 2 or 5 x 10^k) and at most `maxBins` bins. */
export function histogram(values: number[], maxBins = 40): Histogram {
  const max = values.reduce((a, b) => Math.max(a, b), 0);
  const raw = Math.max(1, max / maxBins);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const binWidth = [1, 2, 5, 10].map((m) => m * pow).find((w) => w >= raw)!;
  const counts = new Array<number>(Math.floor(max / binWidth) + 1).fill(0);
  for (const v of values) counts[Math.floor(v / binWidth)]!++;
  return { start: 0, binWidth, counts };
}

export function computeStats(rows: Iterable<JsonlRow>, countTokens?: CountTokens): DatasetStats {
  const chars: Record<Role, number[]> = { system: [], user: [], assistant: [] };
  const tokens: Record<Role, number[]> = { system: [], user: [], assistant: [] };
  const turnsPerRow: Record<string, number> = {};
  let n = 0;
  let turns = 0;
  for (const row of rows) {
    n++;
    const msgs = row.conversation.messages;
    turns += msgs.length;
    turnsPerRow[msgs.length] = (turnsPerRow[msgs.length] ?? 0) + 1;
    for (const m of msgs) {
      chars[m.role].push(codePointLength(m.content));
      if (countTokens) tokens[m.role].push(countTokens(m.content));
    }
  }
  const roles: DatasetStats['roles'] = {};
  for (const role of ROLES) {
    if (chars[role].length === 0) continue;
    roles[role] = {
      messages: chars[role].length,
      chars: distribution(chars[role]),
      charsHistogram: histogram(chars[role]),
      ...(countTokens ? { tokens: distribution(tokens[role]) } : {}),
    };
  }
  return { rows: n, turns, turnsPerRow, roles };
}
