// Continuous batching for many independent answers (evaluation generation, sweeps, --prompts files): up to
// `maxBatch` sequences decode together, one token per step each; a sequence that finishes leaves the batch and a
// waiting prompt takes its place, so the batch stays full until the queue runs dry. Each item samples with its own
// seeded generator and its own logits (padding is masked, so other rows never enter its attention), which makes an
// answer depend on its prompt, settings and seed only, not on the batch it ran in or its neighbours.
//
// The KV cache is regrouped (copied, live rows only, right-aligned) when rows are admitted or when a quarter of the
// batch has finished: finished rows ride along as padding until then, which costs at most 25% of a step's compute
// but avoids a cache copy per finished answer. Every row's real tokens stay contiguous at the right end of the cache
// (new rows are left-padded), so index distance = position distance (sliding-window layers stay exact).
import { CancelledError } from '../errors';
import type { FinishReason, GenerateOptions, SequenceResult, StepModel, TokenEvent } from './generate';
import { positionsFromMask } from './generate';
import { StreamDecoder } from './generateStream';
import { resolveSampling, sampleToken, SeededRandom } from './sampling';

/** A StepModel whose caches can be rebuilt from chosen rows (decoderStepModel implements it). */
export interface RegroupableModel<Past> {
  regroup(rows: readonly { past: Past; row: number }[], length: number): Past;
}

export interface BatchedItem {
  prompt: readonly number[];
  seed: number;
}

export interface ThroughputStats {
  done: number;
  total: number;
  /** Sequences in the batch now. */
  active: number;
  /** New tokens (all rows) per second since the start. */
  tokensPerSecond: number;
  answersPerMinute: number;
  elapsedMs: number;
}

export interface BatchedOptions extends Omit<GenerateOptions, 'onToken'> {
  /** Most sequences decoding at once. */
  maxBatch: number;
  /** Called as soon as item `index` is complete (in finishing order). */
  onAnswer?(index: number, result: SequenceResult): void;
  onToken?(index: number, event: TokenEvent): void;
  /** Called after every step (cheap to compute; throttle the display yourself). */
  onStats?(stats: ThroughputStats): void;
}

interface Row {
  item: number;
  rng: SeededRandom;
  tokens: number[];
  /** Attention mask over the cache columns (1 = a real token of this row). */
  mask: number[];
  /** Next position id. */
  position: number;
  logits?: Float32Array;
  done: boolean;
  finishReason: FinishReason;
  stream?: StreamDecoder;
}

/** Answers for every item; results[i] belongs to items[i]. */
export async function generateBatched<Past>(model: StepModel<Past> & RegroupableModel<Past>, items: readonly BatchedItem[], o: BatchedOptions): Promise<{ results: SequenceResult[]; stats: ThroughputStats }> {
  const sampling = resolveSampling(o.sampling ?? {});
  const eos = new Set(o.eosTokenIds);
  const V = model.vocabSize;
  const maxBatch = Math.max(1, Math.floor(o.maxBatch));
  const results: SequenceResult[] = new Array(items.length);
  const queue = items.map((_, i) => i);
  let rows: Row[] = [];
  let past: Past | undefined;
  let cacheLen = 0;
  let newTokens = 0, done = 0;
  const t0 = performance.now();
  const stats = (): ThroughputStats => {
    const ms = performance.now() - t0;
    return { done, total: items.length, active: rows.filter((r) => !r.done).length, tokensPerSecond: ms > 0 ? newTokens / (ms / 1000) : 0, answersPerMinute: ms > 0 ? done / (ms / 60000) : 0, elapsedMs: ms };
  };
  const release = (p: Past | undefined) => p !== undefined && model.release?.(p);
  const finish = (r: Row, reason: FinishReason) => {
    r.done = true;
    r.finishReason = reason;
    if (r.stream) {
      const tail = r.stream.flush();
      if (tail) o.onToken?.(r.item, { sequence: r.item, delta: tail, index: r.tokens.length });
    }
    const result: SequenceResult = { tokenIds: r.tokens, text: o.decode(r.tokens), finishReason: reason, seed: items[r.item]!.seed >>> 0, promptTokens: items[r.item]!.prompt.length };
    results[r.item] = result;
    done++;
    o.onAnswer?.(r.item, result);
  };

  /** Keeps the live rows (dropping all-padding columns on the left) and prefills `admit` new items into the batch. */
  const regroup = async (admit: number[]) => {
    const live = rows.filter((r) => !r.done);
    let fresh: Row[] = [];
    let freshPast: Past | undefined;
    let width = 0;
    if (admit.length) {
      width = Math.max(...admit.map((i) => items[i]!.prompt.length));
      const mask = new Uint8Array(admit.length * width);
      const ids = new BigInt64Array(admit.length * width).fill(BigInt(o.padTokenId));
      admit.forEach((item, b) => {
        const p = items[item]!.prompt;
        for (let t = 0; t < p.length; t++) {
          ids[b * width + width - p.length + t] = BigInt(p[t]!);
          mask[b * width + width - p.length + t] = 1;
        }
      });
      const out = await model.step({ batch: admit.length, seq: width, inputIds: ids, attentionMask: BigInt64Array.from(mask, (m) => BigInt(m)), positionIds: positionsFromMask(mask, admit.length, width, width), pastLength: 0 }, undefined);
      freshPast = out.past;
      fresh = admit.map((item, b) => ({
        item,
        rng: new SeededRandom(items[item]!.seed >>> 0),
        tokens: [],
        mask: Array.from(mask.subarray(b * width, (b + 1) * width)),
        position: items[item]!.prompt.length,
        logits: out.lastLogits.slice(b * V, (b + 1) * V),
        done: false,
        finishReason: 'length' as FinishReason,
        ...(o.onToken ? { stream: new StreamDecoder((ids2) => o.decode(ids2, { cleanUpSpaces: false })) } : {}),
      }));
    }
    // columns each row needs: from its first real token to the end
    const need = (r: Row) => r.mask.length - r.mask.indexOf(1);
    const length = Math.max(width, ...live.map(need));
    const sources = [
      ...live.map((r) => ({ past: past!, row: rows.indexOf(r) })),
      ...fresh.map((_, b) => ({ past: freshPast!, row: b })),
    ];
    const next = live.length === 0 && fresh.length ? freshPast : model.regroup(sources, length);
    if (next !== freshPast) release(freshPast);
    release(past);
    past = next;
    cacheLen = length;
    rows = [...live, ...fresh];
    for (const r of rows) r.mask = [...new Array<number>(Math.max(0, length - r.mask.length)).fill(0), ...r.mask.slice(Math.max(0, r.mask.length - length))];
  };

  let cancelled = false;
  try {
    while (queue.length || rows.some((r) => !r.done)) {
      const liveCount = rows.filter((r) => !r.done).length;
      const free = maxBatch - liveCount;
      const dead = rows.length - liveCount;
      // admit when a quarter of the batch is free (or the rest of the queue fits); compact when a quarter is dead
      const admit = queue.length && (free >= Math.max(1, Math.ceil(maxBatch / 4)) || free >= queue.length || liveCount === 0) ? queue.splice(0, free) : [];
      if (admit.length || (dead > 0 && dead >= Math.max(1, Math.ceil(rows.length / 4)))) await regroup(admit);
      // sample one token for every live row
      for (const r of rows) {
        if (r.done) continue;
        const id = sampleToken(r.logits!, sampling, r.rng);
        newTokens++;
        if (eos.has(id)) {
          finish(r, 'eos');
          continue;
        }
        r.tokens.push(id);
        if (r.stream) o.onToken!(r.item, { sequence: r.item, tokenId: id, delta: r.stream.push(id), index: r.tokens.length - 1 });
        if (r.tokens.length >= sampling.maxNewTokens) finish(r, 'length');
      }
      o.onStats?.(stats());
      if (!queue.length && rows.every((r) => r.done)) break;
      if (o.signal?.aborted) {
        cancelled = true;
        break;
      }
      if (rows.every((r) => r.done)) continue; // all finished but the queue has more: admit next round
      // one decode step for the batch (finished rows feed padding until the next regroup)
      const B = rows.length;
      const ids = new BigInt64Array(B).fill(BigInt(o.padTokenId));
      const positions = new BigInt64Array(B).fill(1n);
      const mask = new BigInt64Array(B * (cacheLen + 1));
      rows.forEach((r, b) => {
        if (!r.done) {
          ids[b] = BigInt(r.tokens.at(-1)!);
          positions[b] = BigInt(r.position++);
        }
        r.mask.push(r.done ? 0 : 1);
        for (let t = 0; t <= cacheLen; t++) mask[b * (cacheLen + 1) + t] = BigInt(r.mask[t]!);
      });
      const out = await model.step({ batch: B, seq: 1, inputIds: ids, attentionMask: mask, positionIds: positions, pastLength: cacheLen }, past);
      release(past);
      past = out.past;
      cacheLen++;
      rows.forEach((r, b) => {
        if (!r.done) r.logits = out.lastLogits.subarray(b * V, (b + 1) * V);
      });
    }
  } finally {
    release(past);
  }
  if (cancelled) {
    for (const r of rows) if (!r.done) results[r.item] = { tokenIds: r.tokens, text: o.decode(r.tokens), finishReason: 'cancelled', seed: items[r.item]!.seed >>> 0, promptTokens: items[r.item]!.prompt.length };
    if (done === 0 && rows.length === 0) throw new CancelledError('Generation cancelled before it started.');
  }
  return { results, stats: stats() };
}
