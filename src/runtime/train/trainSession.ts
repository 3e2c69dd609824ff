// Runs the training artifacts: holds the LoRA parameters and AdamW moments between optimizer steps (one
// session.run per step: the micro-batch Loop, the gradients and the update all happen inside it) and evaluates
// the held-out loss with the eval graph.
import { createSession, tensor, type Device, type OrtSession, type OrtTensor } from '../onnx/ort';
import type { GraphBuilder } from '../onnx/graphBuilder';
import { saveModel, toModelBytes } from '../onnx/serialize';
import type { LoraParam } from './loraSpec';
import type { StepTensors } from './batching';
import type { TrainDType } from './trainGraph';

export type FloatArray = Float32Array | Float64Array;

export interface LoraState {
  params: Map<string, FloatArray>;
  m: Map<string, FloatArray>;
  v: Map<string, FloatArray>;
  /** Optimizer steps taken so far. */
  step: number;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  supervisedTokens: number;
}

export function newFloatArray(dtype: TrainDType, from: number | ArrayLike<number>): FloatArray {
  return dtype === 'float64' ? (typeof from === 'number' ? new Float64Array(from) : Float64Array.from(from)) : typeof from === 'number' ? new Float32Array(from) : Float32Array.from(from);
}

export function freshState(dtype: TrainDType, params: LoraParam[], init: Map<string, ArrayLike<number>>): LoraState {
  const s: LoraState = { params: new Map(), m: new Map(), v: new Map(), step: 0 };
  for (const p of params) {
    const n = p.shape[0] * p.shape[1];
    const v = init.get(p.key);
    if (!v || v.length !== n) throw new Error(`initial adapter: ${p.key} needs ${n} values, got ${v?.length ?? 'none'}`);
    s.params.set(p.key, newFloatArray(dtype, v));
    s.m.set(p.key, newFloatArray(dtype, n));
    s.v.set(p.key, newFloatArray(dtype, n));
  }
  return s;
}

/** Model file path (written with weights in an external data file) or in-memory bytes (small test graphs). */
export type GraphSource = { path: string } | { graph: GraphBuilder };

async function open(src: GraphSource, dtype: TrainDType, device: Device, threads?: number, prepack = true, profile?: string) {
  const model = 'path' in src ? src.path : toModelBytes(src.graph);
  // float64: some ORT fusions only have float32 kernels, so graph optimizations stay off for the numerics mode.
  // prepack false: MLAS does not pack frozen weights at session creation (no effect when they are inputs).
  return createSession(model, { device, ...(threads ? { threads } : {}), ...(dtype === 'float64' ? { optimization: 'disabled' as const } : {}), ...(prepack ? {} : { config: { 'session.disable_prepacking': '1' } }), ...(profile ? { profile } : {}) });
}

export function writeGraph(g: GraphBuilder, path: string): void {
  saveModel(g, path);
}

export class TrainSession {
  private constructor(
    private readonly train: OrtSession,
    private readonly evalSession: OrtSession | undefined,
    readonly params: LoraParam[],
    readonly dtype: TrainDType,
    readonly device: Device,
    readonly fallbackReason: string | undefined,
    private readonly frozen: ReadonlyMap<string, OrtTensor>,
  ) {}

  /** `frozen`: the frozen-weight feeds when the graphs take them as inputs (loadFrozenFeeds), shared by both sessions. */
  /** `profile`: ORT per-node profiling of the train session, written by endProfiling() (benches). */
  static async create(o: { train: GraphSource; eval?: GraphSource; params: LoraParam[]; dtype: TrainDType; device?: Device; threads?: number; prepack?: boolean; frozen?: ReadonlyMap<string, OrtTensor>; profile?: string }): Promise<TrainSession> {
    const t = await open(o.train, o.dtype, o.device ?? 'cpu', o.threads, o.prepack, o.profile);
    const e = o.eval ? await open(o.eval, o.dtype, t.device, o.threads, o.prepack) : undefined;
    const frozen = o.frozen ?? new Map<string, OrtTensor>();
    const known = new Set(['lr', 'step', 'dropout_seed', 'input_ids', 'attention_mask', 'targets', 'loss_weights', ...o.params.flatMap((p) => [p.key, `m.${p.key}`, `v.${p.key}`])]);
    const missing = [t.session, e?.session].flatMap((s) => s?.inputNames ?? []).filter((n) => !known.has(n) && !frozen.has(n));
    if (missing.length) throw new Error(`TrainSession: the graphs take frozen weights as inputs (${missing[0]}, ...); pass them as \`frozen\` (loadFrozenFeeds)`);
    return new TrainSession(t.session, e?.session, o.params, o.dtype, t.device, t.fallbackReason, frozen);
  }

  private floatTensor(data: FloatArray, dims: readonly number[]): OrtTensor {
    return tensor(this.dtype === 'float64' ? 'float64' : 'float32', data, dims);
  }

  private addFrozen(feeds: Record<string, OrtTensor>, session: OrtSession): void {
    for (const name of session.inputNames) {
      const w = this.frozen.get(name);
      if (w) feeds[name] = w;
    }
  }

  private tokenFeeds(t: StepTensors, dims: number[]): Record<string, OrtTensor> {
    return {
      input_ids: tensor('int64', t.inputIds, dims),
      attention_mask: tensor('int64', t.attentionMask, dims),
      targets: tensor('int64', t.targets, dims),
      loss_weights: tensor('float32', t.lossWeights, dims),
    };
  }

  /** One optimizer step over all micro-batches of `t`; updates `state` in place. */
  /** `dropoutSeed`: the step's LoRA-dropout seed (stepDropoutSeed), required when the graph has dropout. */
  async step(state: LoraState, t: StepTensors, lr: number, dropoutSeed?: number): Promise<StepResult> {
    const feeds = this.tokenFeeds(t, [t.micro, t.batch, t.seq]);
    this.addFrozen(feeds, this.train);
    if (this.train.inputNames.includes('dropout_seed')) {
      if (dropoutSeed === undefined) throw new Error('TrainSession.step: this graph has LoRA dropout; pass the step\'s dropout seed');
      feeds.dropout_seed = tensor('int64', BigInt64Array.from([BigInt(dropoutSeed)]), []);
    }
    for (const p of this.params) {
      feeds[p.key] = this.floatTensor(state.params.get(p.key)!, p.shape);
      feeds[`m.${p.key}`] = this.floatTensor(state.m.get(p.key)!, p.shape);
      feeds[`v.${p.key}`] = this.floatTensor(state.v.get(p.key)!, p.shape);
    }
    feeds.lr = this.floatTensor(newFloatArray(this.dtype, [lr]), []);
    feeds.step = this.floatTensor(newFloatArray(this.dtype, [state.step + 1]), []);
    const out = await this.train.run(feeds);
    for (const p of this.params) {
      state.params.set(p.key, out[`new.${p.key}`]!.data as FloatArray);
      state.m.set(p.key, out[`new.m.${p.key}`]!.data as FloatArray);
      state.v.set(p.key, out[`new.v.${p.key}`]!.data as FloatArray);
    }
    state.step++;
    return { loss: Number(out.loss!.data[0]), gradNorm: Number(out.grad_norm!.data[0]), supervisedTokens: Number(out.tokens!.data[0]) };
  }

  /** Summed NLL and supervised-token count of one batch (use micro = 1 tensors). */
  async evalBatch(params: Map<string, FloatArray>, t: StepTensors): Promise<{ nllSum: number; tokens: number }> {
    if (!this.evalSession) throw new Error('TrainSession: no eval graph was given');
    const feeds = this.tokenFeeds(t, [t.micro * t.batch, t.seq]);
    this.addFrozen(feeds, this.evalSession);
    for (const p of this.params) feeds[p.key] = this.floatTensor(params.get(p.key)!, p.shape);
    const out = await this.evalSession.run(feeds, ['nll_sum', 'tokens']);
    return { nllSum: Number(out.nll_sum!.data[0]), tokens: Number(out.tokens!.data[0]) };
  }

  /** Ends profiling of the train session (created with `profile`); ORT writes the trace file. */
  endProfiling(): void {
    this.train.endProfiling();
  }

  async release(): Promise<void> {
    await this.train.release();
    await this.evalSession?.release();
  }
}
