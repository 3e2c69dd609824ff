// How an answer is shown (answerText.ts segments as DOM), and whether any installed font draws a character, measured the way emoji-support checks do: draw it on a small
// canvas in the page's font and compare the pixels with a character no font has (U+10FFFD, private use), which
// every browser draws as the same "tofu" box. Cached per character; only asked for characters beyond Latin.
import { answerSegments } from './answerText';

const SIZE = 20;
const cache = new Map<string, boolean>();
let context: CanvasRenderingContext2D | null | undefined;
let tofu: string | undefined;

function pixels(ch: string): string {
  const ctx = context!;
  ctx.clearRect(0, 0, SIZE, SIZE);
  ctx.fillText(ch, 0, SIZE - 4);
  const data = ctx.getImageData(0, 0, SIZE, SIZE).data;
  let key = '';
  for (let i = 3; i < data.length; i += 4) key += data[i]! > 127 ? '1' : '0';
  return key;
}

export function missingGlyph(ch: string): boolean {
  const known = cache.get(ch);
  if (known !== undefined) return known;
  if (context === undefined) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = SIZE;
    context = canvas.getContext('2d', { willReadFrequently: true });
    if (context) {
      context.font = `${SIZE - 6}px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
      tofu = pixels('\u{10FFFD}');
    }
  }
  const missing = !!context && pixels(ch) === tofu;
  cache.set(ch, missing);
  return missing;
}

/** A model's answer into `node`: text as text, whitespace and unprintable pieces as labelled markers (.ws). */
export function renderAnswer(node: HTMLElement, text: string): void {
  node.replaceChildren(
    ...answerSegments(text, missingGlyph).map((s) => {
      if (s.kind === 'text') return document.createTextNode(s.text);
      const span = document.createElement('span');
      span.className = `ws ws-${s.kind}`;
      span.title = s.title;
      span.setAttribute('aria-label', s.title);
      span.textContent = s.text;
      return span;
    }),
  );
}
