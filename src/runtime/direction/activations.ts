// Mean residual-stream activations of judged answers: each (question, answer) pair is rendered with the model's
// chat template as a user turn and an assistant turn, run through the probe graph (the generation graph plus
// per-layer residual sums, residualHooks.ts) with the answer's tokens masked in, and the sum after each decoder
// layer divided by the answer's token count. Batches are length-sorted and left-padded; padding is masked out of
// attention and out of the sums, so an answer's mean does not depend on its batch.
import { CancelledError } from '../errors';
import type { Decoder, ResidualIntervention } from '../model/decoder';
import type { ModelTokenizer } from '../model/tokenizer';

export interface AnswerSpan {
  /** The whole conversation's ids (prompt, answer, end-of-turn tokens). */
  ids: number[];
  /** The answer's tokens are ids[start, end). */
  start: number;
  end: number;
}

/**
 * Where the answer sits in the rendered conversation: after the prompt with the generation header (what the model
 * saw before answering), up to the template's end-of-turn tokens (special or whitespace-only, e.g. <|eot_id|>,
 * Qwen's <|im_end|>\n), which are not the answer's words.
 */
export function answerSpan(tok: ModelTokenizer, question: string, answer: string): AnswerSpan {
  const prompt = tok.encodeChat([{ role: 'user', content: question }], { addGenerationPrompt: true });
  const ids = tok.encodeChat([{ role: 'user', content: question }, { role: 'assistant', content: answer }], { addGenerationPrompt: false });
  let start = 0;
  while (start < prompt.length && start < ids.length && prompt[start] === ids[start]) start++;
  let end = ids.length;
  while (end > start && tok.decode([ids[end - 1]!], { skipSpecialTokens: true }).trim() === '') end--;
  return { ids, start, end };
}

export interface ActivationOptions {
  /** A Decoder opened with { graph: 'probe' }. */
  decoder: Decoder;
  adapterId?: string;
  intervention?: ResidualIntervention;
  tokenizer: ModelTokenizer;
  items: readonly { question: string; response: string }[];
  /** Decoder layers to keep, in the order wanted. */
  layers: readonly number[];
  /** Most tokens (rows x padded width) per forward pass. */
  tokenBudget?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface AnswerActivations {
  /** Per item: [layers.length * hidden] means (float64), or null when the answer has no tokens. */
  means: (Float64Array | null)[];
  /** Answer tokens averaged per item. */
  tokens: number[];
  /** Items whose answer was cut to fit the export's context. */
  truncated: number;
}

export async function answerActivations(o: ActivationOptions): Promise<AnswerActivations> {
  const cfg = o.decoder.config;
  const H = cfg.hiddenSize, L = cfg.numLayers;
  const maxLen = o.decoder.maxPositions;
  let truncated = 0;
  const spans = o.items.map((it) => {
    const s = answerSpan(o.tokenizer, it.question, it.response);
    if (s.end > maxLen) {
      truncated++;
      return { ids: s.ids.slice(0, maxLen), start: Math.min(s.start, maxLen), end: maxLen };
    }
    return { ids: s.ids.slice(0, s.end), start: s.start, end: s.end }; // tokens after the answer change nothing before it
  });
  const means: (Float64Array | null)[] = spans.map(() => null);
  const tokens = spans.map((s) => Math.max(0, s.end - s.start));
  const order = spans.map((_, i) => i).filter((i) => tokens[i]! > 0).sort((a, b) => spans[a]!.ids.length - spans[b]!.ids.length);
  const budget = o.tokenBudget ?? 4096;
  let done = spans.length - order.length;
  o.onProgress?.(done, spans.length);
  for (let k = 0; k < order.length; ) {
    if (o.signal?.aborted) throw new CancelledError('Direction computation cancelled.');
    // the longest row comes last (sorted), so the batch's width is that of its last row
    let n = 1;
    while (k + n < order.length && (n + 1) * spans[order[k + n]!]!.ids.length <= budget) n++;
    const rows = order.slice(k, k + n);
    const width = spans[rows[n - 1]!]!.ids.length;
    const inputIds = new BigInt64Array(n * width);
    const mask = new BigInt64Array(n * width);
    const positions = new BigInt64Array(n * width).fill(1n);
    const capture = new Float32Array(n * width);
    rows.forEach((item, b) => {
      const s = spans[item]!;
      const pad = width - s.ids.length;
      s.ids.forEach((id, t) => {
        inputIds[b * width + pad + t] = BigInt(id);
        mask[b * width + pad + t] = 1n;
        positions[b * width + pad + t] = BigInt(t);
        if (t >= s.start && t < s.end) capture[b * width + pad + t] = 1;
      });
    });
    const out = await o.decoder.forward(
      { inputIds, batch: n, seq: width, attentionMask: mask, positionIds: positions, logitsToKeep: 1 },
      o.adapterId,
      { captureMask: capture, ...(o.intervention ? { intervention: o.intervention } : {}) },
    );
    const sums = out.residualSums!;
    rows.forEach((item, b) => {
      const m = new Float64Array(o.layers.length * H);
      o.layers.forEach((l, j) => {
        const at = (b * L + l) * H;
        for (let i = 0; i < H; i++) m[j * H + i] = sums[at + i]! / tokens[item]!;
      });
      means[item] = m;
    });
    k += n;
    done += n;
    o.onProgress?.(done, spans.length);
  }
  return { means, tokens, truncated };
}
