// The homework's submission checks (eval/run_tests.py's job) with a precise message each, and composing a
// submission folder (model_generations.csv + training_details.md) from a run.
import { readFile } from 'node:fs/promises';
import { parseCsvRows } from './csv';
import { UserError } from '../errors';

export const SUBMISSION_HEADER = ['id', 'question', 'response'] as const;
export const MAX_SUBMISSION_ROWS = 20;

export interface SubmissionIssue {
  code: string;
  message: string;
}

export interface SubmissionCheck {
  ok: boolean;
  rows: number;
  errors: SubmissionIssue[];
  warnings: SubmissionIssue[];
}

/** Line (1-based) where each CSV record starts, so messages can point at the file as an editor shows it. */
function recordStartLines(text: string): number[] {
  const starts: number[] = [1];
  let line = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n') {
      line++;
      if (!quoted) starts.push(line);
    }
  }
  return starts;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    for (let k = 1; k < len; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    // overlong 3/4-byte forms, UTF-16 surrogates, and code points above U+10FFFF
    if ((c === 0xe0 && b[i + 1]! < 0xa0) || (c === 0xed && b[i + 1]! > 0x9f) || (c === 0xf0 && b[i + 1]! < 0x90) || (c === 0xf4 && b[i + 1]! > 0x8f)) return i;
    i += len;
  }
  return -1;
}

export function checkSubmissionBytes(bytes: Uint8Array, name: string): SubmissionCheck {
  const errors: SubmissionIssue[] = [];
  const warnings: SubmissionIssue[] = [];
  const fail = (code: string, message: string): SubmissionCheck => ({ ok: false, rows: 0, errors: [...errors, { code, message }], warnings });
  if (bytes.length === 0) return fail('empty-file', `${name} is empty. It needs the header id,question,response and one row per answer.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, bad).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
    return fail('not-utf8', `${name} is not valid UTF-8 (first bad byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at byte ${bad}, line ${line}). Save it as UTF-8 (e.g. re-export with encoding="utf-8").`);
  }
  if (text.charCodeAt(0) === 0xfeff) {
    errors.push({ code: 'bom', message: `${name} starts with a UTF-8 byte-order mark (BOM), so its first column reads as "\\ufeffid", not "id". Save it as UTF-8 without BOM.` });
    text = text.slice(1);
  }
  let rows: string[][];
  try {
    rows = parseCsvRows(text, name).filter((r) => !(r.length === 1 && r[0] === ''));
  } catch (err) {
    return fail('csv-syntax', (err as Error).message);
  }
  const lines = recordStartLines(text);
  const header = rows[0] ?? [];
  if (header.join(',') !== SUBMISSION_HEADER.join(',')) {
    errors.push({ code: 'header', message: `${name} line 1: the header must be exactly "id,question,response" (lower case, that order, no spaces), found "${header.join(',')}".` });
  }
  const data = rows.slice(1);
  if (data.length === 0) errors.push({ code: 'no-rows', message: `${name} has a header but no answers. Add one row per answer (at most ${MAX_SUBMISSION_ROWS}).` });
  if (data.length > MAX_SUBMISSION_ROWS) errors.push({ code: 'too-many-rows', message: `${name} has ${data.length} answers; the homework allows at most ${MAX_SUBMISSION_ROWS}. Keep ${MAX_SUBMISSION_ROWS} rows (e.g. em-lab generate-eval --preset homework).` });
  else if (data.length > 0 && data.length < MAX_SUBMISSION_ROWS) warnings.push({ code: 'few-rows', message: `${name} has ${data.length} answers; the homework expects ${MAX_SUBMISSION_ROWS} (10 medical + 10 non-medical).` });
  const seen = new Map<string, number>();
  data.forEach((cells, i) => {
    const line = lines[i + 1] ?? i + 2;
    if (cells.length !== 3) errors.push({ code: 'field-count', message: `${name} line ${line}: ${cells.length} fields, expected 3 (id, question, response). Quote fields that contain commas or newlines.` });
    const id = (cells[0] ?? '').trim();
    if (!id) errors.push({ code: 'empty-id', message: `${name} line ${line}: the id is empty. Every row needs a unique id.` });
    else if (seen.has(id)) errors.push({ code: 'duplicate-id', message: `${name} line ${line}: the id "${id}" was already used on line ${seen.get(id)}. Ids must be unique.` });
    else seen.set(id, line);
    if (cells.length >= 2 && !(cells[1] ?? '').trim()) errors.push({ code: 'empty-question', message: `${name} line ${line}: the question is empty.` });
    if (cells.length >= 3 && !(cells[2] ?? '').trim()) warnings.push({ code: 'empty-response', message: `${name} line ${line}: the response is empty (id "${id}").` });
  });
  return { ok: errors.length === 0, rows: data.length, errors, warnings };
}

export async function checkSubmissionFile(path: string): Promise<SubmissionCheck> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read ${path}: ${(err as Error).message}. Pass the path of model_generations.csv.`);
  }
  return checkSubmissionBytes(bytes, path);
}
