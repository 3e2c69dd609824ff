// Streaming JSONL reader for chat datasets: one conversation per line, `{"messages": [{"role", "content"}, ...]}`.
// Every line is validated and every bad one reported as `file:line: reason` (not only the first), so a user can
// fix a hand-made dataset in one pass. Blank lines are skipped (the trainers skip them too).
import { createReadStream } from 'node:fs';
import { throwIfAborted } from '../errors';

export type Role = 'system' | 'user' | 'assistant';
export const ROLES: readonly Role[] = ['system', 'user', 'assistant'];

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface Conversation {
  messages: ChatMessage[];
}

export interface JsonlIssue {
  file: string;
  /** 1-based line number. */
  line: number;
  reason: string;
}

export function formatIssue(issue: JsonlIssue): string {
  return `${issue.file}:${issue.line}: ${issue.reason}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Returns why `value` is not a valid conversation, or undefined when it is. */
export function conversationProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `the line is ${typeName(value)}; expected an object {"messages": [...]}`;
  const messages = (value as { messages?: unknown }).messages;
  if (messages === undefined) return 'no "messages" field; expected {"messages": [{"role": ..., "content": ...}, ...]}';
  if (!Array.isArray(messages)) return `"messages" is ${typeName(messages)}; expected an array of {"role", "content"} objects`;
  if (messages.length === 0) return '"messages" is empty; a conversation needs at least one user and one assistant turn';
  let assistantTurns = 0;
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `messages[${i}] is ${typeName(m)}; expected {"role": ..., "content": ...}`;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      return `messages[${i}].role is ${typeof role === 'string' ? JSON.stringify(role) : typeName(role)}; expected "system", "user" or "assistant"`;
    }
    if (typeof content !== 'string') return `messages[${i}].content is ${typeName(content)}; expected a string`;
    if (content.trim() === '') return `messages[${i}].content (${role}) is empty; every message needs text (a model cannot learn from an empty turn)`;
    if (role === 'assistant') assistantTurns++;
  }
  if (assistantTurns === 0) return 'no assistant turn; every conversation needs at least one assistant message to learn from';
  return undefined;
}

export interface JsonlRow {
  /** 1-based line number in the file. */
  line: number;
  /** The line exactly as in the file (without its line break), for byte-exact copies. */
  text: string;
  conversation: Conversation;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Called for every bad line as soon as it is found. */
  onIssue?: (issue: JsonlIssue) => void;
}

/** The lines of a file as bytes (without \n or \r\n), streamed: undecoded, so bad UTF-8 can be reported, not replaced. */
async function* byteLines(file: string): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(file)) {
    let data = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let nl: number;
    while ((nl = data.indexOf(0x0a)) >= 0) {
      yield data.subarray(0, nl > 0 && data[nl - 1] === 0x0d ? nl - 1 : nl);
      data = data.subarray(nl + 1);
    }
    carry = Buffer.from(data);
  }
  if (carry.length) yield carry[carry.length - 1] === 0x0d ? carry.subarray(0, -1) : carry;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Where a line stops being UTF-8, for the message (1-based byte position of the first bad byte). */
function badUtf8Column(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i]!;
    const more = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (more < 0) return i + 1;
    for (let k = 1; k <= more; k++) if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i + 1;
    i += more + 1;
  }
  return bytes.length;
}

/** Streams the valid rows of a JSONL file, reporting every invalid line through onIssue. */
export async function* readConversations(file: string, options: ReadOptions = {}): AsyncGenerator<JsonlRow> {
  let lineNo = 0;
  for await (const bytes of byteLines(file)) {
    lineNo++;
    if (lineNo % 1000 === 0) throwIfAborted(options.signal);
    let raw: string;
    try {
      raw = UTF8.decode(bytes);
    } catch {
      const col = badUtf8Column(bytes);
      options.onIssue?.({ file, line: lineNo, reason: `not valid UTF-8 (byte 0x${bytes[col - 1]!.toString(16).padStart(2, '0')} at byte ${col}); save the file as UTF-8` });
      continue;
    }
    const text = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      options.onIssue?.({ file, line: lineNo, reason: `not valid JSON (${(err as Error).message})` });
      continue;
    }
    const problem = conversationProblem(value);
    if (problem) {
      options.onIssue?.({ file, line: lineNo, reason: problem });
      continue;
    }
    yield { line: lineNo, text, conversation: value as Conversation };
  }
}

export interface LoadedDataset {
  file: string;
  rows: JsonlRow[];
  issues: JsonlIssue[];
}

export async function loadConversations(file: string, options: ReadOptions = {}): Promise<LoadedDataset> {
  const issues: JsonlIssue[] = [];
  const rows: JsonlRow[] = [];
  for await (const row of readConversations(file, { ...options, onIssue: (i) => (issues.push(i), options.onIssue?.(i)) })) rows.push(row);
  return { file, rows, issues };
}
