// Reads Python files that define lists of strings (the homework's eval/prompts/*.py), without running Python:
// a small tokenizer for `NAME = [ "...", '...', """...""", r'...', ... ]` (also tuples), with comments, implicit
// string concatenation, trailing commas and the usual escapes. Anything else inside a list is an error naming
// the line, so a file we cannot read faithfully is refused rather than half-read.
import { UserError } from '../../errors';

export interface PythonStringList {
  name: string;
  items: string[];
  line: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

function unescape(body: string, raw: boolean, where: () => string): string {
  if (raw) return body;
  return body.replace(/\\(\r?\n|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)/g, (m, e: string) => {
    if (e === '\n' || e === '\r\n') return ''; // line continuation inside a string
    if (e[0] === 'x' || e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e) && e !== '0') return String.fromCodePoint(parseInt(e, 8));
    if (e[0] === 'N' && e[1] === '{') throw new UserError('python-escape', `${where()}: \\N{...} escapes are not supported; write the character itself.`);
    return SIMPLE_ESCAPES[e] ?? m; // unknown escapes stay as written, as in Python
  });
}

export function parsePythonStringLists(text: string, source: string): PythonStringList[] {
  const lists: PythonStringList[] = [];
  let i = 0;
  let line = 1;
  const where = () => `${source}:${line}`;
  const advance = (n: number) => {
    for (let k = 0; k < n; k++) if (text[i + k] === '\n') line++;
    i += n;
  };
  const skipSpaceAndComments = () => {
    for (;;) {
      const m = /^(?:[ \t\r\n\f]+|#[^\n]*|\\\r?\n)/.exec(text.slice(i, i + 2000));
      if (!m) return;
      advance(m[0].length);
    }
  };
  const readString = (): string | undefined => {
    const m = /^([rRuUbBfF]{0,2})("""|'''|"|')/.exec(text.slice(i, i + 5));
    if (!m) return undefined;
    const prefix = m[1]!.toLowerCase();
    if (prefix.includes('f')) throw new UserError('python-fstring', `${where()}: f-strings are computed when Python runs; write plain strings in the list.`);
    if (prefix.includes('b')) throw new UserError('python-bytes', `${where()}: bytes literals are not questions; write plain strings.`);
    const quote = m[2]!;
    const start = i + m[0].length;
    let j = start;
    for (;;) {
      if (j >= text.length || (quote.length === 1 && text[j] === '\n')) throw new UserError('python-unterminated', `${where()}: a string starting here is not closed.`);
      if (text[j] === '\\') {
        j += 2;
        continue;
      }
      if (text.startsWith(quote, j)) break;
      j++;
    }
    const value = unescape(text.slice(start, j), prefix.includes('r'), where);
    advance(j + quote.length - i);
    return value;
  };

  const assignment = /(^|\n)([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=\n]+)?=\s*([[(])/g;
  let m: RegExpExecArray | null;
  while ((m = assignment.exec(text))) {
    // Recompute the line of this assignment from the start.
    i = 0;
    line = 1;
    advance(m.index + m[0].length);
    const close = m[3] === '[' ? ']' : ')';
    const name = m[2]!;
    const startLine = line;
    const items: string[] = [];
    let ok = true;
    for (;;) {
      skipSpaceAndComments();
      if (text[i] === close) {
        advance(1);
        break;
      }
      let s = readString();
      if (s === undefined) {
        ok = false; // not a list of string literals (numbers, names, calls): not ours to read
        break;
      }
      for (;;) {
        skipSpaceAndComments();
        const next = readString(); // implicit concatenation: "a" "b"
        if (next === undefined) break;
        s += next;
      }
      items.push(s);
      skipSpaceAndComments();
      if (text[i] === ',') advance(1);
      else if (text[i] !== close) throw new UserError('python-list-syntax', `${where()}: expected "," or "${close}" after a string in ${name}.`);
    }
    if (ok && items.length) lists.push({ name, items, line: startLine });
    assignment.lastIndex = Math.max(assignment.lastIndex, i);
  }
  if (!lists.length) throw new UserError('python-no-lists', `${source}: no list of strings found. Expected e.g. QUESTIONS = ["What ...?", "How ...?"].`);
  return lists;
}
