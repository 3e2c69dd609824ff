// The few Python built-ins the homework's grader applies to text and numbers, reproduced exactly, so EM Lab's
// homework preset gives the grader's answers on every input, not only on the usual ones: str.strip(), int(str),
// f"{x:.2f}", and which templates str.format(question=, answer=) fills as judge/rubrics.ts fillPrompt does.
import { UserError } from '../../errors';

/** Python's str.isspace() characters (JavaScript's \s differs: it has U+FEFF, lacks U+001C-U+001F and U+0085). */
const PY_SPACE = '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** str.strip() with no argument. */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE.includes(s[a]!)) a++;
  while (b > a && PY_SPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** Value of one Unicode decimal digit (\p{Nd}): its distance from the zero of its run of ten (runs are aligned). */
function digitValue(ch: string): number {
  let cp = ch.codePointAt(0)!;
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  const start = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(cp - 1))) cp--;
  return (start - cp) % 10;
}

/**
 * int(text) for a str: surrounding whitespace, an optional sign, decimal digits (any script's, as Python
 * accepts) with single underscores between them. Undefined where Python raises ValueError ("85.", "eighty", "").
 */
export function pyInt(text: string): number | undefined {
  const m = /^([+-]?)(\p{Nd}+(?:_\p{Nd}+)*)$/u.exec(pyStrip(text));
  if (!m) return undefined;
  let n = 0;
  for (const ch of m[2]!.replace(/_/g, '')) n = n * 10 + digitValue(ch);
  return m[1] === '-' ? -n : n;
}

/**
 * f"{x:.2f}": round half to even on the exact binary value, as Python does. Number.toFixed differs only on exact
 * ties, which for two decimals are the multiples of 1/8 with an odd numerator (83.125 -> Python "83.12", toFixed
 * "83.13"); x * 8 is exact for any finite double, so the test below is exact.
 */
export function pyFixed2(x: number): string {
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths % 2) === 1) {
    const hundredths = x * 100; // n + 0.5 exactly
    const down = Math.floor(hundredths);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/**
 * Checks that `template.format(question=..., answer=...)` would succeed in Python and fill only those two fields
 * verbatim: `{question}`, `{answer}`, `{{` and `}}` are all it may contain. Anything else ({0}, {x}, {answer!r},
 * a lone brace) is refused, naming `where`, because the grader's prompt would then differ or raise.
 */
export function checkFormatTemplate(template: string, where: string): void {
  const bad = /\{\{|\}\}|\{question\}|\{answer\}|[{}]/g;
  let m: RegExpExecArray | null;
  while ((m = bad.exec(template))) {
    if (m[0].length > 1) continue;
    const line = template.slice(0, m.index).split('\n').length;
    const context = template.slice(Math.max(0, m.index - 10), m.index + 20).replace(/\n/g, '\\n');
    throw new UserError('format-template', `${where} (line ${line} of the text): "${context}" has a brace that is not {question}, {answer}, {{ or }}. Python's str.format(question=..., answer=...) would fail or fill something else there; EM Lab reads the prompt as the grader uses it, so fix the prompt.`);
  }
}
