// How a model's answer is shown: as the text it is, with whitespace and unprintable pieces made visible instead of
// rendered as tall blank blocks or font "tofu" boxes. A random-weights model (tiny-llama) starts answers with
// newlines and emits byte tokens that are not valid UTF-8 (decoded as U+FFFD); real models do it too, rarely.
// Pure (no DOM), so test/unit checks it; chat/view.ts and report/main.ts turn the segments into spans.

export type AnswerSegment =
  | { kind: 'text'; text: string }
  /** Whitespace shown as symbols: ↵ newline, · space, → tab. */
  | { kind: 'space'; text: string; title: string }
  /** A character that would show as nothing or as a box: its code point, or "?" for undecodable bytes. */
  | { kind: 'raw'; text: string; title: string };

/** Newlines in a row (inside the text) above which the run is shown as one marker line instead of blank lines. */
const MAX_NEWLINES = 2;

const SYMBOL: Record<string, string> = { '\n': '↵', ' ': '·', '\t': '→' };

function hex(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Characters with no visible glyph, or none in most fonts: C0/C1 controls (tab and newline excepted), format and
 * zero-width characters, bidi controls, private use, noncharacters and lone surrogates.
 */
function invisible(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x09 && cp !== 0x0a) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0xad ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0xfeff ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    (cp >= 0xe000 && cp <= 0xf8ff) ||
    cp >= 0xf0000 ||
    (cp & 0xfffe) === 0xfffe ||
    (cp >= 0xfdd0 && cp <= 0xfdef)
  );
}

function spaces(run: string, where: 'leading' | 'trailing'): AnswerSegment {
  const newlines = [...run].filter((c) => c === '\n').length;
  const text = [...run].map((c) => SYMBOL[c] ?? '·').join('');
  const parts = [newlines ? `${newlines} newline${newlines === 1 ? '' : 's'}` : '', run.length - newlines ? `${run.length - newlines} space${run.length - newlines === 1 ? '' : 's'}` : ''].filter(Boolean);
  return { kind: 'space', text, title: `${where} whitespace: ${parts.join(', ')}` };
}

/** The middle of the answer: text, runs of many newlines folded, unprintable characters as markers. */
function body(text: string, out: AnswerSegment[], missingGlyph: (ch: string) => boolean): void {
  let plain = '';
  const flush = () => {
    if (plain) out.push({ kind: 'text', text: plain });
    plain = '';
  };
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\n') {
      let j = i;
      while (chars[j] === '\n') j++;
      const run = j - i;
      if (run > MAX_NEWLINES) {
        plain += '\n';
        flush();
        out.push({ kind: 'space', text: `↵ ×${run}`, title: `${run} newlines in a row, shown as one line` });
        plain = '\n';
      } else plain += '\n'.repeat(run);
      i = j - 1;
      continue;
    }
    if (c === '\uFFFD') {
      let j = i;
      while (chars[j] === '\uFFFD') j++;
      flush();
      out.push({ kind: 'raw', text: '?', title: `${j - i} undecodable piece${j - i === 1 ? '' : 's'}: the model produced bytes that are not valid UTF-8 (U+FFFD)` });
      i = j - 1;
      continue;
    }
    const cp = c.codePointAt(0)!;
    if (invisible(cp)) {
      flush();
      out.push({ kind: 'raw', text: hex(cp), title: `${hex(cp)}: a character with no visible glyph` });
      continue;
    }
    // Beyond Latin, a script this machine has no font for would show as a box: name the character instead.
    if (cp >= 0x370 && missingGlyph(c)) {
      flush();
      out.push({ kind: 'raw', text: hex(cp), title: `${hex(cp)} "${c}": no installed font draws this character` });
      continue;
    }
    plain += c;
  }
  flush();
}

/** A lone leading or trailing space is ordinary (tokenizers produce it); newlines, tabs and runs of spaces are shown. */
function notable(run: string): boolean {
  return run.length > 1 || run !== ' ';
}

/** `missingGlyph` says whether no installed font draws a character (glyphs.ts measures it in the browser). */
export function answerSegments(raw: string, missingGlyph: (ch: string) => boolean = () => false): AnswerSegment[] {
  const text = raw.replace(/\r\n/g, '\n');
  const out: AnswerSegment[] = [];
  const lead = /^[ \t\n]+/.exec(text)?.[0] ?? '';
  if (lead.length === text.length) {
    if (lead) out.push(spaces(lead, 'leading'));
    return out;
  }
  const trail = /[ \t\n]+$/.exec(text)?.[0] ?? '';
  if (lead && notable(lead)) out.push(spaces(lead, 'leading'));
  else if (lead) out.push({ kind: 'text', text: lead });
  body(text.slice(lead.length, text.length - trail.length), out, missingGlyph);
  // One trailing newline or space is ordinary; show the rest so an answer that ends in blank lines says so.
  if (trail && notable(trail) && trail !== '\n') out.push(spaces(trail, 'trailing'));
  return out;
}

