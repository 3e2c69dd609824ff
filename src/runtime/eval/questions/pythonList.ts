// Reads string data out of Python files without running Python: lists of strings (the homework's
// eval/prompts/*.py: `NAME = [ "...", '...', """...""", r'...', ... ]`, also tuples) and string constants (its
// eval/judge.py: `ALIGNED_PROMPT = """..."""`, `MODEL_NAME = "gpt-4o-mini"`). A small tokenizer handles comments,
// implicit string concatenation, parentheses, trailing commas and the usual escapes. Anything else where a string
// is expected is an error naming the line, so a file we cannot read faithfully is refused rather than half-read.
import { UserError } from '../../errors';

export interface PythonStringList {
  name: string;
  items: string[];
  line: number;
}

export interface PythonStringConstant {
  name: string;
  value: string;
  line: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

function unescape(body: string, raw: boolean, where: () => string): string {
  if (raw) return body;
  return body.replace(/\\(\r?\n|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)/g, (m, e: string) => {
    if (e === '\n' || e === '\r\n') return ''; // line continuation inside a string
    if (e[0] === 'x' || e[0] === 'u' || e[0] === 'U') {
      const code = parseInt(e.slice(1), 16);
      if (code > 0x10ffff) throw new UserError('python-escape', `${where()}: \\${e} is not a Unicode character (the largest is \\U0010FFFF); Python refuses this string too.`);
      return String.fromCodePoint(code);
    }
    if (/^[0-7]+$/.test(e) && e !== '0') return String.fromCodePoint(parseInt(e, 8));
    if (e[0] === 'N' && e[1] === '{') throw new UserError('python-escape', `${where()}: \\N{...} escapes are not supported; write the character itself.`);
    return SIMPLE_ESCAPES[e] ?? m; // unknown escapes stay as written, as in Python
  });
}

/** A cursor over a Python source that reads string literals, with the line number for messages. */
class PythonScanner {
  i = 0;
  line = 1;
  constructor(
    readonly text: string,
    readonly source: string,
  ) {}

  where = (): string => `${this.source}:${this.line}`;

  /** Moves to absolute offset `pos`, recounting lines from the start. */
  seek(pos: number): void {
    this.i = 0;
    this.line = 1;
    this.advance(pos);
  }

  advance(n: number): void {
    for (let k = 0; k < n; k++) if (this.text[this.i + k] === '\n') this.line++;
    this.i += n;
  }

  /** Skips blanks, comments and line continuations; newlines too unless `inLine` (outside brackets a newline ends the statement). */
  skipSpaceAndComments(inLine = false): void {
    for (;;) {
      const m = (inLine ? /^(?:[ \t\f]+|\\\r?\n)/ : /^(?:[ \t\r\n\f]+|#[^\n]*|\\\r?\n)/).exec(this.text.slice(this.i, this.i + 2000));
      if (!m) return;
      this.advance(m[0].length);
    }
  }

  /** One string literal at the cursor, or undefined when there is none. */
  readString(): string | undefined {
    const m = /^([rRuUbBfF]{0,2})("""|'''|"|')/.exec(this.text.slice(this.i, this.i + 5));
    if (!m) return undefined;
    const prefix = m[1]!.toLowerCase();
    if (prefix.includes('f')) throw new UserError('python-fstring', `${this.where()}: f-strings are computed when Python runs; write plain strings.`);
    if (prefix.includes('b')) throw new UserError('python-bytes', `${this.where()}: bytes literals are not text; write plain strings.`);
    const quote = m[2]!;
    const start = this.i + m[0].length;
    let j = start;
    for (;;) {
      if (j >= this.text.length || (quote.length === 1 && this.text[j] === '\n')) throw new UserError('python-unterminated', `${this.where()}: a string starting here is not closed.`);
      if (this.text[j] === '\\') {
        j += 2;
        continue;
      }
      if (this.text.startsWith(quote, j)) break;
      j++;
    }
    const value = unescape(this.text.slice(start, j), prefix.includes('r'), this.where);
    this.advance(j + quote.length - this.i);
    return value;
  }

  /** A string literal followed by any implicitly concatenated ones ("a" "b"), or undefined. */
  readConcatenated(inLine = false): string | undefined {
    let s = this.readString();
    if (s === undefined) return undefined;
    for (;;) {
      this.skipSpaceAndComments(inLine);
      const next = this.readString();
      if (next === undefined) return s;
      s += next;
    }
  }
}

export function parsePythonStringLists(text: string, source: string): PythonStringList[] {
  const lists: PythonStringList[] = [];
  const sc = new PythonScanner(text, source);
  const assignment = /(^|\n)([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=\n]+)?=\s*([[(])/g;
  let m: RegExpExecArray | null;
  while ((m = assignment.exec(text))) {
    sc.seek(m.index + m[0].length);
    const close = m[3] === '[' ? ']' : ')';
    const name = m[2]!;
    const startLine = sc.line;
    const items: string[] = [];
    let ok = true;
    for (;;) {
      sc.skipSpaceAndComments();
      if (text[sc.i] === close) {
        sc.advance(1);
        break;
      }
      const s = sc.readConcatenated();
      if (s === undefined) {
        ok = false; // not a list of string literals (numbers, names, calls): not ours to read
        break;
      }
      items.push(s);
      sc.skipSpaceAndComments();
      if (text[sc.i] === ',') sc.advance(1);
      else if (text[sc.i] !== close) throw new UserError('python-list-syntax', `${sc.where()}: expected "," or "${close}" after a string in ${name}.`);
    }
    if (ok && items.length) lists.push({ name, items, line: startLine });
    assignment.lastIndex = Math.max(assignment.lastIndex, sc.i);
  }
  if (!lists.length) throw new UserError('python-no-lists', `${source}: no list of strings found. Expected e.g. QUESTIONS = ["What ...?", "How ...?"].`);
  return lists;
}

/**
 * Module-level string constants (`NAME = "..."`, `NAME = """..."""`, `NAME = ("a" "b")`) among `names`, as
 * Python would evaluate them. A name assigned twice takes the last value (as Python does); one assigned something
 * that is not a string literal is an error naming the line (we cannot know its value without running Python).
 */
export function parsePythonStringConstants(text: string, source: string, names: readonly string[]): Map<string, PythonStringConstant> {
  const found = new Map<string, PythonStringConstant>();
  const sc = new PythonScanner(text, source);
  // Only top-level assignments (column 0): indented ones belong to functions and classes.
  const assignment = /(^|\n)([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]+)?=(?!=)[ \t]*/g;
  let m: RegExpExecArray | null;
  while ((m = assignment.exec(text))) {
    const name = m[2]!;
    if (!names.includes(name)) continue;
    sc.seek(m.index + m[0].length);
    const line = sc.line;
    const paren = text[sc.i] === '(';
    if (paren) sc.advance(1);
    sc.skipSpaceAndComments(!paren);
    const value = sc.readConcatenated(!paren);
    if (value === undefined) throw new UserError('python-not-a-string', `${source}:${line}: ${name} is not assigned a string literal, so EM Lab cannot read it without running Python. Write ${name} = """...""" (or restore the homework's file).`);
    sc.skipSpaceAndComments(!paren);
    if (paren) {
      if (text[sc.i] !== ')') throw new UserError('python-not-a-string', `${sc.where()}: expected ")" to close ${name}'s string (only string literals can be read).`);
      sc.advance(1);
    }
    // Anything but the end of the line (or a comment) after the string means an expression: "..." + x, "...".format(...)
    const rest = /^[ \t]*(#[^\n]*)?(\r?\n|$)/.exec(text.slice(sc.i));
    if (!rest) throw new UserError('python-not-a-string', `${sc.where()}: ${name} is an expression, not only a string literal, so EM Lab cannot read it without running Python.`);
    found.set(name, { name, value, line });
    assignment.lastIndex = Math.max(assignment.lastIndex, sc.i);
  }
  return found;
}
