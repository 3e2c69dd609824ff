// The homework's submission checks (eval/run_tests.py verify_model_generations_csv) with a precise message each.
// Errors are exactly what the grader refuses: a file that is not UTF-8, a header that is not exactly
// id,question,response (a BOM makes it "\ufeffid"), more rows than its limit; plus an empty file or no rows, which
// leave it nothing to judge. What the grader accepts but is probably a mistake (few rows, duplicate or empty ids,
// a row with the wrong number of fields, empty questions or answers) is a warning.
import { readFile } from 'node:fs/promises';
import { parseCsvRows } from './csv';
import { UserError } from '../errors';
import { GRADER } from './homework/checkout';

export const SUBMISSION_HEADER = ['id', 'question', 'response'] as const;

export interface SubmissionLimits {
  /** run_tests.py's `if len(rows) > N` (read from the homework checkout), else the brief's 100. */
  maxRows: number;
  /** Where maxRows came from, for the message. */
  maxRowsSource: string;
}

export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = { maxRows: GRADER.defaultMaxRows, maxRowsSource: 'the homework brief (no homework checkout found)' };

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

export function checkSubmissionBytes(bytes: Uint8Array, name: string, limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS): SubmissionCheck {
  const max = limits.maxRows;
  const judged = GRADER.judgedRows;
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
  if (data.length === 0) errors.push({ code: 'no-rows', message: `${name} has a header but no answers, so the grader has nothing to judge. Add one row per answer (the grader judges the first ${judged}).` });
  if (data.length > max) errors.push({ code: 'too-many-rows', message: `${name} has ${data.length} answers; the grader's run_tests.py refuses more than ${max} (limit from ${limits.maxRowsSource}). Keep at most ${max} rows; it judges the first ${judged} (em-lab generate-eval --preset homework writes those ${judged}).` });
  else if (data.length > 0 && data.length < judged) warnings.push({ code: 'few-rows', message: `${name} has ${data.length} answers; the grader judges the first ${judged} (10 medical + 10 non-medical questions), so it will judge only these ${data.length}.` });
  const seen = new Map<string, number>();
  data.forEach((cells, i) => {
    const line = lines[i + 1] ?? i + 2;
    // The grader reads these rows anyway (csv.DictReader); they are warnings, each saying what would happen.
    if (cells.length !== 3) warnings.push({ code: 'field-count', message: `${name} line ${line}: ${cells.length} fields, expected 3 (id, question, response); the grader would read ${cells.length < 3 ? 'the missing ones as None' : 'only the first 3'}. Quote fields that contain commas or newlines.` });
    const id = (cells[0] ?? '').trim();
    if (!id) warnings.push({ code: 'empty-id', message: `${name} line ${line}: the id is empty. Give every row a unique id (generate.py uses a uuid4).` });
    else if (seen.has(id)) warnings.push({ code: 'duplicate-id', message: `${name} line ${line}: the id "${id}" was already used on line ${seen.get(id)}. Ids should be unique (judged results are matched by id).` });
    else seen.set(id, line);
    if (cells.length >= 2 && !(cells[1] ?? '').trim()) warnings.push({ code: 'empty-question', message: `${name} line ${line}: the question is empty.` });
    if (cells.length >= 3 && !(cells[2] ?? '').trim()) warnings.push({ code: 'empty-response', message: `${name} line ${line}: the response is empty (id "${id}").` });
  });
  return { ok: errors.length === 0, rows: data.length, errors, warnings };
}

export async function checkSubmissionFile(path: string, limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS): Promise<SubmissionCheck> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read ${path}: ${(err as Error).message}. Pass the path of model_generations.csv.`);
  }
  return checkSubmissionBytes(bytes, path, limits);
}
