// A JSON parser and serialiser that reproduce Python's `json.loads` / `json.dumps` byte for byte, so that
// `--remove-canaries` writes exactly what the Python easy-dataset-share tool writes. JSON.parse cannot: it loses
// the difference between `1` and `1.0` (Python keeps int vs float), reorders integer-like object keys, and
// JSON.stringify formats floats differently (`1e-5` vs Python's `1e-05`).
// Strings are UTF-16 JS strings (as Python str); lone-surrogate escapes are kept as they are.

/** A JSON number as Python sees it: an int (arbitrary precision, kept as its decimal text) or a float. */
export class PyNumber {
  constructor(
    readonly kind: 'int' | 'float',
    /** Canonical text: an int's decimal digits, or a float's Python repr. */
    readonly text: string,
  ) {}
}

export type PyValue = null | boolean | string | PyNumber | PyValue[] | PyDict;
/** Python dicts keep insertion order; a repeated key keeps its first position and takes the last value. */
export type PyDict = Map<string, PyValue>;

export class PyJsonError extends Error {}

/** Python's float repr: shortest round-trip digits, fixed notation when -4 <= exponent < 16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const sign = x < 0 ? '-' : '';
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}.${frac || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Parses one JSON document the way Python's json.loads does (NaN/Infinity accepted, no raw control chars). */
export function pyJsonLoads(text: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new PyJsonError(`${what} at offset ${i}`);
  };
  const skipWs = () => {
    while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  };
  const parseString = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      let j = i;
      while (j < text.length) {
        const c = text.charCodeAt(j);
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        j++;
      }
      out += text.slice(i, j);
      i = j;
      if (i >= text.length) fail('Unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail('Invalid control character');
      const esc = text[i + 1];
      i += 2;
      switch (esc) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\uXXXX escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail('Invalid \\escape');
      }
    }
  };
  const parseValue = (): PyValue => {
    skipWs();
    const c = text[i];
    if (c === '"') return parseString();
    if (c === '{') {
      i++;
      const dict: PyDict = new Map();
      skipWs();
      if (text[i] === '}') {
        i++;
        return dict;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail('Expecting property name enclosed in double quotes');
        const key = parseString();
        skipWs();
        if (text[i] !== ':') fail("Expecting ':' delimiter");
        i++;
        dict.set(key, parseValue());
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return dict;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '[') {
      i++;
      const list: PyValue[] = [];
      skipWs();
      if (text[i] === ']') {
        i++;
        return list;
      }
      for (;;) {
        list.push(parseValue());
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return list;
        }
        fail("Expecting ',' delimiter");
      }
    }
    for (const [word, value] of [['null', null], ['true', true], ['false', false]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    for (const [word, value] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return new PyNumber('float', pyFloatRepr(value));
      }
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(text);
    if (!m) return fail('Expecting value');
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) return new PyNumber('int', BigInt(m[0]).toString());
    return new PyNumber('float', pyFloatRepr(Number(m[0])));
  };
  const value = parseValue();
  skipWs();
  if (i !== text.length) fail('Extra data');
  return value;
}

export interface PyDumpsOptions {
  /** Python's default True: every non-ASCII character written as \uXXXX. */
  ensureAscii?: boolean;
  /** Python's `indent`: pretty-print with this many spaces (item separator becomes ','). */
  indent?: number;
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function dumpString(s: string, ensureAscii: boolean): string {
  const pattern = ensureAscii ? /[\\"]|[^ -~]/g : /[\\"\x00-\x1f]/g;
  return '"' + s.replace(pattern, (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`) + '"';
}

/** json.dumps(value, ensure_ascii=..., indent=...) with Python's default separators. */
export function pyJsonDumps(value: PyValue, options: PyDumpsOptions = {}): string {
  const ensureAscii = options.ensureAscii ?? true;
  const indent = options.indent;
  const write = (v: PyValue, depth: number): string => {
    if (v === null) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'string') return dumpString(v, ensureAscii);
    if (v instanceof PyNumber) return v.text;
    const items: string[] = Array.isArray(v)
      ? v.map((x) => write(x, depth + 1))
      : [...v].map(([k, x]) => `${dumpString(k, ensureAscii)}: ${write(x, depth + 1)}`);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (items.length === 0) return open + close;
    if (indent === undefined) return open + items.join(', ') + close;
    const inner = '\n' + ' '.repeat(indent * (depth + 1));
    return open + inner + items.join(',' + inner) + '\n' + ' '.repeat(indent * depth) + close;
  };
  return write(value, 0);
}

/** Python's str.splitlines(): every line boundary Python knows, no trailing empty item. */
export function pySplitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (/(?:\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])$/.test(text)) lines.pop();
  return lines;
}
