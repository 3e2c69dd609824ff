// The training artifacts as ONNX graphs (ONNX Runtime's former training layout, built with standard ops):
// - train step: a Loop over the micro-batches of one optimizer step runs forward + masked cross-entropy + LoRA
//   gradients (appendGradients inside the Loop body) and accumulates summed gradients; then the gradients are
//   divided by the step's supervised-token count and AdamW (optimizer.ts) updates the parameters and moments.
//   Inputs: the LoRA params, their moments m_/v_, lr, step, and [micro, batch, seq] token tensors.
// - eval: forward + summed loss and token count for one batch, no dropout, no update.
// LoRA dropout (when > 0) is applied to the input of every lora_A product with counter-based masks (loraDropout.ts).
// The loss is the mean next-token NLL over supervised tokens of the whole optimizer step (HF Trainer's
// num_items_in_batch normalisation), so accumulation over micro-batches equals one big batch exactly.
// By default both graphs skip the positions the loss never reads (lossPositions.ts): each micro-batch is cut after
// its last supervised position and the LM head runs on the supervised rows only.
import { GraphBuildError, GraphBuilder, type Value } from '../onnx/graphBuilder';
import { buildLlamaForward, type LlamaWeights } from '../model/llamaGraph';
import type { LlamaConfig } from '../model/llamaConfig';
import { appendGradients } from './autodiff';
import { appendAdamW, type AdamWConfig } from './optimizer';
import { loraParams, loraScale, type LoraSpec } from './loraSpec';
import { HASH_PRIME, insertLoraDropout } from './loraDropout';
import { pickRows, supervisedRows, trimToSupervised, type TokenValues } from './lossPositions';

export type TrainDType = 'float32' | 'float64';

export interface TrainGraphSpec {
  cfg: LlamaConfig;
  dtype: TrainDType;
  weights: LlamaWeights;
  lora: LoraSpec;
  optimizer: AdamWConfig;
  /** Longest sequence the rope tables cover (max_length). */
  maxLength: number;
  /**
   * 'q4' (--use_4bit): the frozen weights of the 7 projection kinds as 4-bit blocks (MatMulNBits forward, gradients
   * through the dequantized weights: gradRules/quantized.ts); embeddings, norms and lm_head stay in `dtype`.
   * float32 only. Default 'float'.
   */
  weightFormat?: 'float' | 'q4';
  /**
   * 'supervised' (default): trim each micro-batch after its last supervised position and run the LM head,
   * log-softmax and their backward on supervised rows only (lossPositions.ts). 'all': every position, padding
   * included (the graphs before issue 18; the training bench's same-run baseline). Same loss and gradients.
   */
  lossPositions?: 'supervised' | 'all';
}

const OPSETS = [{ domain: '', version: 21 }];
const Q4_OPSETS = [...OPSETS, { domain: 'com.microsoft', version: 1 }];

function opsetsOf(spec: Pick<TrainGraphSpec, 'weightFormat' | 'dtype'>) {
  if (spec.weightFormat !== 'q4') return OPSETS;
  if (spec.dtype !== 'float32') throw new GraphBuildError(`4-bit frozen weights need dtype float32 (MatMulNBits has no ${spec.dtype} kernel)`);
  return Q4_OPSETS;
}

/** The forward's weight options: 4-bit projections with lm_head in the compute dtype, or all float. */
function weightOptions(spec: Pick<TrainGraphSpec, 'weightFormat'>) {
  return spec.weightFormat === 'q4' ? { weightFormat: 'q4' as const, q4LmHead: false } : {};
}

/** Token tensors of a batch: ids, attention mask, next-token targets and loss weights (1 = supervised). */
function tokenInputs(g: GraphBuilder, dims: string[]): TokenValues {
  return {
    ids: g.input('input_ids', 'int64', dims),
    mask: g.input('attention_mask', 'int64', dims),
    targets: g.input('targets', 'int64', dims),
    weights: g.input('loss_weights', 'float32', dims),
  };
}

/**
 * Sum over supervised positions of -log p(target), and the number of supervised positions. `logits` is
 * [..., vocab] with targets and weights of its leading shape ([batch, seq], or [n] for gathered rows).
 */
function maskedNll(g: GraphBuilder, logits: Value, targets: Value, weights: Value, dtype: TrainDType): { nll: Value; count: Value } {
  const w = dtype === 'float32' ? weights : g.op('Cast', [weights], { to: 11 });
  const lp = g.op('LogSoftmax', [logits], { axis: -1 });
  const axis = (logits.shape?.length ?? 3) - 1;
  const picked = g.op('Squeeze', [g.op('GatherElements', [lp, g.op('Unsqueeze', [targets, g.constInt64([-1])])], { axis }), g.constInt64([-1])]);
  const nll = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [picked, w])], { keepdims: 0 })], {}, { outputInfo: [{ shape: [] }] });
  const count = g.op('ReduceSum', [w], { keepdims: 0 }, { outputInfo: [{ shape: [] }] });
  return { nll, count };
}

type ForwardOptions = Omit<Parameters<typeof buildLlamaForward>[2], 'inputIds' | 'attentionMask' | 'headRows'>;

/**
 * Forward + masked NLL of one batch. With lossPositions 'supervised' the batch is trimmed after its last
 * supervised column and the head sees only supervised rows (lossPositions.ts); the sums are the same.
 */
function forwardNll(g: GraphBuilder, spec: Pick<TrainGraphSpec, 'cfg' | 'lossPositions' | 'dtype'>, tok: TokenValues, forward: ForwardOptions) {
  if (spec.lossPositions === 'all') {
    const fwd = buildLlamaForward(g, spec.cfg, { ...forward, inputIds: tok.ids, attentionMask: tok.mask });
    return { fwd, ...maskedNll(g, fwd.logits, tok.targets, tok.weights, spec.dtype) };
  }
  const t = trimToSupervised(g, tok);
  const rows = supervisedRows(g, t.weights);
  const fwd = buildLlamaForward(g, spec.cfg, { ...forward, inputIds: t.ids, attentionMask: t.mask, headRows: rows });
  return { fwd, ...maskedNll(g, fwd.logits, pickRows(g, t.targets, rows), pickRows(g, t.weights, rows), spec.dtype) };
}

function zerosOf(g: GraphBuilder, dtype: TrainDType, shape: number[]): Value {
  return g.op('Expand', [g.constFloat(0, dtype), g.constInt64(shape)], {}, { outputInfo: [{ shape }] });
}

/** Moves initializers the forward created inside a Loop body to the main graph (read there by implicit capture). */
function hoistInitializers(body: GraphBuilder, main: GraphBuilder): void {
  for (const [name, init] of body.initializers) main.initializers.set(name, init);
  body.initializers.clear();
}

export function buildTrainStepGraph(spec: TrainGraphSpec): GraphBuilder {
  const { cfg, dtype } = spec;
  const g = new GraphBuilder('lora_train_step', opsetsOf(spec));
  const params = loraParams(cfg, spec.lora);
  const pv = params.map((p) => g.input(p.key, dtype, p.shape));
  const ms = params.map((p) => g.input(`m.${p.key}`, dtype, p.shape));
  const vs = params.map((p) => g.input(`v.${p.key}`, dtype, p.shape));
  const lr = g.input('lr', dtype, []);
  const step = g.input('step', dtype, []);
  const tok = tokenInputs(g, ['micro_batches', 'batch', 'seq']);
  // LoRA dropout masks are a function of this per-step seed (loraDropout.ts), so resume reproduces them
  const dropoutSeed = spec.lora.dropout > 0 ? g.input('dropout_seed', 'int64', []) : undefined;
  const byKey = new Map(params.map((p, k) => [p.key, pv[k]!]));

  const body = g.subgraph('micro_batch');
  const iter = body.input('iter', 'int64', []);
  const condIn = body.input('cond_in', 'bool', []);
  const accIn = params.map((p) => body.input(`acc_in.${p.key}`, dtype, p.shape));
  const nllIn = body.input('nll_in', dtype, []);
  const countIn = body.input('count_in', dtype, []);
  // a different dropout mask stream per micro-batch: seed_k = (step seed + k·1000003) mod P (defined before the
  // forward, because the dropout nodes are inserted inside it)
  const microSeed = dropoutSeed ? body.op('Mod', [body.op('Add', [dropoutSeed, body.op('Mul', [iter, body.constInt64(1000003)])]), body.constInt64(HASH_PRIME)]) : undefined;
  const pick = (v: Value) => body.op('Gather', [v, iter], { axis: 0 });
  const micro = { ids: pick(tok.ids), mask: pick(tok.mask), targets: pick(tok.targets), weights: pick(tok.weights) };
  const { nll, count } = forwardNll(body, spec, micro, {
    dtype,
    weights: spec.weights,
    ...weightOptions(spec),
    kvCache: false,
    maxPositions: spec.maxLength,
    lora: { rank: spec.lora.rank, scale: loraScale(spec.lora), targets: spec.lora.targets, layers: spec.lora.layers, provide: (key) => byKey.get(key)! },
  });
  if (microSeed) insertLoraDropout(body, new Set(params.filter((p) => p.which === 'A').map((p) => p.key)), microSeed, spec.lora.dropout, dtype);
  const { grads } = appendGradients(body, nll, pv);
  body.output(body.op('Identity', [condIn]), 'cond_out');
  params.forEach((p, k) => body.output(body.op('Add', [accIn[k]!, grads.get(p.key)!]), `acc_out.${p.key}`));
  body.output(body.op('Add', [nllIn, nll]), 'nll_out');
  body.output(body.op('Add', [countIn, count]), 'count_out');
  hoistInitializers(body, g);

  const trips = g.op('Gather', [g.op('Shape', [tok.ids]), g.constInt64(0)]);
  const loopOut = g.node('Loop', [trips, undefined, ...params.map((p) => zerosOf(g, dtype, p.shape)), g.constFloat(0, dtype), g.constFloat(0, dtype)], { body: { graph: body } }, {
    outputs: params.length + 2,
    outputInfo: [...params.map((p) => ({ dtype, shape: p.shape })), { dtype, shape: [] }, { dtype, shape: [] }],
  });
  const tokens = loopOut[params.length + 1]!;
  const denom = g.op('Max', [tokens, g.constFloat(1, dtype)]); // a step with no supervised token leaves params unchanged by the loss
  const gradsMean = params.map((_, k) => g.op('Div', [loopOut[k]!, denom]));
  const upd = appendAdamW(g, params.map((_, k) => ({ param: pv[k]!, grad: gradsMean[k]!, m: ms[k]!, v: vs[k]! })), lr, step, spec.optimizer);
  params.forEach((p, k) => {
    g.output(upd.params[k]!, `new.${p.key}`);
    g.output(upd.ms[k]!, `new.m.${p.key}`);
    g.output(upd.vs[k]!, `new.v.${p.key}`);
  });
  g.output(g.op('Div', [loopOut[params.length]!, denom]), 'loss');
  g.output(upd.gradNorm, 'grad_norm');
  g.output(tokens, 'tokens');
  return g;
}

/**
 * Forward + summed masked NLL for one batch [batch, seq] (no dropout, no update); optionally the logits of every
 * position ([batch, seq, vocab], which needs the head on every position: lossPositions 'all' then).
 */
export function buildEvalGraph(spec: Omit<TrainGraphSpec, 'optimizer'>, options: { logits?: boolean } = {}): GraphBuilder {
  const { cfg, dtype } = spec;
  const g = new GraphBuilder('lora_eval', opsetsOf(spec));
  const params = loraParams(cfg, spec.lora);
  const byKey = new Map(params.map((p) => [p.key, g.input(p.key, dtype, p.shape)]));
  const tok = tokenInputs(g, ['batch', 'seq']);
  const { fwd, nll, count } = forwardNll(g, { ...spec, ...(options.logits ? { lossPositions: 'all' as const } : {}) }, tok, {
    dtype,
    weights: spec.weights,
    ...weightOptions(spec),
    kvCache: false,
    maxPositions: spec.maxLength,
    lora: { rank: spec.lora.rank, scale: loraScale(spec.lora), targets: spec.lora.targets, layers: spec.lora.layers, provide: (key) => byKey.get(key)! },
  });
  g.output(nll, 'nll_sum');
  g.output(count, 'tokens');
  if (options.logits) g.output(fwd.logits, 'logits');
  return g;
}
