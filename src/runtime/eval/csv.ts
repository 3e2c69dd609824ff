// RFC 4180 CSV, read and written by hand (about 80 lines, so no dependency): fields may be quoted, quotes inside
// quoted fields are doubled, and quoted fields may hold commas, CR and LF. We accept CRLF, LF and a final line
// without a newline, strip a UTF-8 BOM, and write LF line endings like pandas' to_csv (the homework's writer).
import { UserError } from '../errors';

export interface CsvTable {
  header: string[];
  /** One object per data row, keyed by header name. Missing trailing cells read as ''. */
  rows: Record<string, string>[];
}

/**
 * Splits CSV text into rows of cells. Throws UserError (with the line number) on an unterminated quote.
 * `startLines`, when given, receives the 1-based line each row starts on.
 */
export function parseCsvRows(text: string, source = 'CSV', startLines?: number[]): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let quoteStartLine = 0;
  let fieldWasQuoted = false;
  let rowLine = 1;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '' && !fieldWasQuoted) {
      quoted = true;
      fieldWasQuoted = true;
      quoteStartLine = line;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldWasQuoted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      startLines?.push(rowLine);
      row = [];
      field = '';
      fieldWasQuoted = false;
      line++;
      rowLine = line;
    } else {
      field += c; // a stray quote inside an unquoted field is kept literally, as Python's csv module does
    }
  }
  if (quoted) {
    throw new UserError('csv-unterminated-quote', `${source}: the quoted field that starts on line ${quoteStartLine} never ends. Close the quote (write "" for a literal quote inside a quoted field).`);
  }
  if (field !== '' || fieldWasQuoted || row.length > 0) {
    row.push(field);
    rows.push(row);
    startLines?.push(rowLine);
  }
  return rows;
}

/** Parses CSV with a header row into objects. Blank lines are skipped; a row with more cells than the header is an error. */
export function parseCsv(text: string, source = 'CSV'): CsvTable {
  const lines: number[] = [];
  const parsed = parseCsvRows(text, source, lines);
  const keep = parsed.map((r) => !(r.length === 1 && r[0] === ''));
  const all = parsed.filter((_, i) => keep[i]);
  const allLines = lines.filter((_, i) => keep[i]);
  const header = all[0] ?? [];
  all.forEach((cells, i) => {
    // pandas refuses these too ("Expected N fields, saw M"): the extra cells would be dropped without a word
    if (i > 0 && cells.length > header.length) {
      throw new UserError('csv-ragged-row', `${source}: line ${allLines[i]} has ${cells.length} cells but the header has ${header.length}. Quote fields that contain commas ("a, b"), or fix the row.`);
    }
  });
  const rows = all.slice(1).map((cells) => {
    const obj: Record<string, string> = {};
    header.forEach((h, i) => (obj[h] = cells[i] ?? ''));
    return obj;
  });
  return { header, rows };
}

/** Quotes a field only when it must be (comma, quote, CR or LF), as Python's csv.QUOTE_MINIMAL. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: readonly (string | number | boolean | null | undefined)[]): string {
  return cells.map(csvField).join(',') + '\n';
}

/** Writes a table: header line, then one line per row (cells looked up by header name). */
export function formatCsv(header: readonly string[], rows: readonly Record<string, string | number | boolean | null | undefined>[]): string {
  return csvLine(header) + rows.map((r) => csvLine(header.map((h) => r[h]))).join('');
}
