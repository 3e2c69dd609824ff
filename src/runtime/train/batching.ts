// From tokenized examples to optimizer steps: seeded shuffling per epoch, one optimizer step = batch_size ×
// gradient_accumulation_steps examples, sorted by length within the step (so micro-batches pad little, as HF's
// group_by_length does within mega-batches), right-padded into [micro, batch, seq] tensors with next-token targets.
import { UserError } from '../errors';
import { mulberry32WithState } from '../random';

export interface TokenizedExample {
  /** Row in the training set (after the held-out split), for manifests and previews. */
  index: number;
  ids: number[];
  /** 1 where the token is supervised (predicted by the loss), same length as ids. */
  supervised: number[];
}

export interface StepPlan {
  epoch: number;
  /** Example indices into the training set, grouped into micro-batches. */
  microBatches: number[][];
}

/** Deterministic 32-bit PRNG (mulberry32); its state is one integer, so it is trivially checkpointed. */
export const makeRng = mulberry32WithState;

export function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const r = makeRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export interface PlanOptions {
  epochs: number;
  batchSize: number;
  accumulation: number;
  seed: number;
  shuffle: boolean;
}

/** Every optimizer step of the run, in order. The plan is a pure function of its inputs, so resume recomputes it. */
export function planSteps(lengths: number[], o: PlanOptions): StepPlan[] {
  const perStep = o.batchSize * o.accumulation;
  const steps: StepPlan[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = o.shuffle ? shuffled(lengths.length, o.seed * 1000003 + epoch) : lengths.map((_, i) => i);
    for (let s = 0; s < order.length; s += perStep) {
      const group = order.slice(s, s + perStep).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
      const micro: number[][] = [];
      for (let m = 0; m < group.length; m += o.batchSize) micro.push(group.slice(m, m + o.batchSize));
      steps.push({ epoch, microBatches: micro });
    }
  }
  return steps;
}

export interface StepTensors {
  micro: number;
  batch: number;
  seq: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  targets: BigInt64Array;
  lossWeights: Float32Array;
  /** Supervised tokens in the step (the loss denominator). */
  supervisedTokens: number;
  /** All non-padding tokens (for tokens/s). */
  tokens: number;
}

/**
 * Packs micro-batches into [micro, batch, seq] tensors. Position t predicts token t+1, so target[t] = ids[t+1] and
 * the loss weight of t is supervised[t+1]. Short micro-batches get all-padding rows (weight 0, no effect).
 */
export function packStep(examples: TokenizedExample[], microBatches: number[][], padId: number): StepTensors {
  const micro = microBatches.length;
  const batch = Math.max(...microBatches.map((m) => m.length));
  const seq = Math.max(...microBatches.flat().map((i) => examples[i]!.ids.length));
  const n = micro * batch * seq;
  const t: StepTensors = {
    micro, batch, seq,
    inputIds: new BigInt64Array(n).fill(BigInt(padId)),
    attentionMask: new BigInt64Array(n),
    targets: new BigInt64Array(n),
    lossWeights: new Float32Array(n),
    supervisedTokens: 0,
    tokens: 0,
  };
  microBatches.forEach((mb, m) => {
    mb.forEach((ex, b) => {
      const e = examples[ex]!;
      const base = (m * batch + b) * seq;
      for (let i = 0; i < e.ids.length; i++) {
        t.inputIds[base + i] = BigInt(e.ids[i]!);
        t.attentionMask[base + i] = 1n;
        if (i + 1 < e.ids.length) {
          t.targets[base + i] = BigInt(e.ids[i + 1]!);
          t.lossWeights[base + i] = e.supervised[i + 1]!;
          t.supervisedTokens += e.supervised[i + 1]!;
        }
      }
      t.tokens += e.ids.length;
    });
  });
  return t;
}

/** Refuses a plan in which some optimizer step has no supervised token (its loss would be 0/0). */
export function checkSupervision(examples: TokenizedExample[], plan: StepPlan[]): void {
  const bad = examples.filter((e) => e.supervised.slice(1).every((s) => s === 0));
  for (const [k, step] of plan.entries()) {
    const flat = step.microBatches.flat();
    if (flat.every((i) => examples[i]!.supervised.slice(1).every((s) => s === 0))) {
      throw new UserError('train-no-supervised-tokens', `optimizer step ${k + 1} has no supervised token: ${bad.length} example(s) lose all assistant tokens (e.g. row ${bad[0]?.index}), usually because --max_length cuts them before the reply. Raise --max_length, use --train_on all, or remove those rows.`);
    }
  }
}
