// Streaming text from generated ids. Byte-level BPE tokens can split a UTF-8 character (an emoji is often 2-3
// tokens), so a single token does not decode to text on its own. We decode the whole generated sequence each time
// and emit only what was added since the last emission, holding back trailing U+FFFD (an incomplete character)
// until the next token completes it. Decoding must be concatenative here (no clean-up of spaces before
// punctuation), so the emitted text is always a prefix of the next decode; the caller's final text is decoded
// separately with the model's own clean-up setting.
const REPLACEMENT = '\uFFFD';

export class StreamDecoder {
  private readonly ids: number[] = [];
  private emitted = 0;
  private pending = '';

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** Adds one token; returns the new text it completes ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    // Decoding the whole sequence costs O(n) per token; for a few hundred new tokens that is well under a
    // millisecond, far below one forward pass.
    const text = this.decode(this.ids);
    let end = text.length;
    while (end > this.emitted && text[end - 1] === REPLACEMENT) end--;
    this.pending = text;
    if (end <= this.emitted) return '';
    const delta = text.slice(this.emitted, end);
    this.emitted = end;
    return delta;
  }

  /** Whatever is still held back (an incomplete character at the end stays as U+FFFD, as a full decode shows it). */
  flush(): string {
    const rest = this.pending.slice(this.emitted);
    this.emitted = this.pending.length;
    return rest;
  }

  /** Everything emitted so far. */
  get text(): string {
    return this.pending.slice(0, this.emitted);
  }
}
