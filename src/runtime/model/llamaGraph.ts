// The Llama forward pass as an ONNX graph, built with GraphBuilder from standard ONNX ops only, so the same
// builder serves inference (fp32/fp16, with KV cache), the float64 numerics checks, and the LoRA trainer (which
// differentiates this graph op by op). Op kinds used: Gather, Reshape, Gemm, MatMul, Add, Mul, Div, Sqrt,
// ReduceMean, Sigmoid, Softmax, Transpose, Unsqueeze, Concat, Shape, Range, LessOrEqual, And, Cast, Where,
// CumSum, Sub, Equal, Slice (the last ones only on int64/bool index paths, nothing to differentiate).
import type { Dim, ExternalRef, GraphBuilder, Value } from '../onnx/graphBuilder';
import { GraphBuildError } from '../onnx/graphBuilder';
import { ONNX_DTYPE } from '../onnx/dtypes';
import { convertTensor, elementCount, floatToHalf, type HostTensor } from './hostTensor';
import { LORA_TARGETS, linearShape, modulePath, peftKey, type LlamaConfig, type LoraTarget } from './llamaConfig';
import { ropeTables, rotateHalfMatrix, type RopeKind } from './rope';
import { geluTanh, slidingWindowAllowed, softcap } from './archOps';
import { q4Blocks, quantizeQ4, type Q4ScaleRule, type Q4Weights } from './quantize';
import { FUSED_GROUPS, fusedWeightName, withFusedWeights } from './fusedProjections';
import { fusedAttention } from './fusedAttention';

/** MatMulNBits block size (weights per scale). */
export const Q4_BLOCK = 32;

export type ComputeDType = 'float32' | 'float64' | 'float16';

/** Where the frozen weights come from. Tensors use HF names and HF layout (nn.Linear weight = [out, in]). */
export interface LlamaWeights {
  /** Reads one tensor; called lazily when the graph is serialized, so only one tensor is in memory at a time. */
  read(name: string): HostTensor;
  /**
   * Optional: the tensor already stored in the graph's dtype and HF layout in an existing external-data file
   * (also asked for `rope.cos`, `rope.sin`, `rope.rotate_half`), so two graphs share one copy of the weights.
   */
  external?(name: string): ExternalRef | undefined;
}

export interface LoraGraphOptions {
  /** LoRA rank; a string makes it a symbolic dim, so adapters of different ranks can share one session. */
  rank: number | string;
  /** Multiplies B·A·x (PEFT: alpha/r, or alpha/sqrt(r) with rsLoRA). Use 1 when B is fed pre-scaled. */
  scale: number;
  targets: readonly LoraTarget[];
  layers: readonly number[];
  /**
   * Supplies A [r, in] and B [out, r] for a PEFT key (e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight).
   * Default: a graph input of that name and the compute dtype.
   */
  provide?: (key: string, shape: Dim[]) => Value;
}

export interface LlamaForwardOptions {
  dtype: ComputeDType;
  weights: LlamaWeights;
  lora?: LoraGraphOptions;
  /** Adds inputs past_key_values.{i}.key/.value [batch, kvHeads, past, headDim] and returns the presents. */
  kvCache: boolean;
  /** int64 [batch, seq]. */
  inputIds: Value;
  /** int64 [batch, past + seq]; 0 marks padding (left padding for batches). */
  attentionMask: Value;
  /** int64 [batch, seq]. Default: cumsum(attention_mask) - 1 over the last seq columns (padding gets 1), as HF does. */
  positionIds?: Value;
  /** Rows of the rope tables (largest position id + 1). Default: config max_position_embeddings. */
  maxPositions?: number;
  /** int64 scalar: compute logits for the last k positions only (0 = all), as HF's num_logits_to_keep. */
  logitsToKeep?: Value;
  /**
   * int64 [n]: compute logits only for these rows of the flattened [batch*seq] positions (the trainer's supervised
   * positions), so the LM head costs n rows; `logits` is then [n, vocab]. Not with `logitsToKeep`.
   */
  headRows?: Value;
  /**
   * 'q4': Linear weights and lm_head as 4-bit blocks (com.microsoft MatMulNBits, block 32; the graph must import
   * the com.microsoft opset); embeddings and norms stay in `dtype`. float32 only. The trainer differentiates it w.r.t.
   * the activations (gradRules/quantized.ts: through the dequantized weights).
   */
  weightFormat?: 'float' | 'q4';
  /**
   * q4 only: whether lm_head is 4-bit too (default true). The trainer's --use_4bit keeps it in the compute dtype,
   * as bitsandbytes does (only the 7 projection kinds are quantized; a tied head stays the embedding matrix).
   */
  q4LmHead?: boolean;
  /**
   * MatMulNBits accuracy_level for q4: 0 (default) dequantizes to fp32 and is exact w.r.t. the dequantized
   * weights; 4 quantizes activations to int8 per block and uses int8 dot products — about 4x faster at batch 1
   * on AVX-512/VNNI CPUs, relative error ~1e-4 (see bench).
   */
  q4AccuracyLevel?: 0 | 4;
  /** q4: weights per scale (default Q4_BLOCK = 32; MatMulNBits takes powers of two >= 16). */
  q4BlockSize?: number;
  /** q4: how block scales are chosen (quantize.ts; default 'absmax7', the trainer's format). */
  q4Scale?: Q4ScaleRule;
  /**
   * Float Linear weights: 'transB' (default) keeps HF's [out, in] and uses Gemm(x, W, transB=1) — one copy shared
   * with the checkpoint layout, simple gradients; 'transposed' stores Wᵀ [in, out] (initializer `<name>.T`,
   * transposed at build time) for MatMul, which ORT's CPU kernels run 10-25% faster at batch 1 (bench).
   */
  floatLayout?: 'transB' | 'transposed';
  /**
   * Called on the residual stream [batch*seq, hidden] after the embeddings (point 0) and after decoder layer i
   * (point i + 1); the rest of the graph reads what it returns. Steering, ablation and activation capture
   * (residualHooks.ts) live there, not in the layer loop.
   */
  residualHook?: (h: Value, point: number) => Value;
  /**
   * Inference exports: q/k/v and gate/up each as one product over their stacked weights, then Split
   * (fusedProjections.ts; weights `...self_attn.qkv_proj.weight`, `...mlp.gate_up_proj.weight`). LoRA stays per module.
   */
  fuseProjections?: boolean;
  /**
   * Inference exports (kvCache, float32): rope and attention as opset-23 RotaryEmbedding + Attention nodes
   * (fusedAttention.ts; the graph must import opset >= 23). Same I/O as the standard ops.
   */
  fusedAttention?: boolean;
  /**
   * Inference exports (float32, opset >= 23): every RMSNorm as one opset-23 RMSNormalization node instead of six
   * standard ops (Mul, ReduceMean, Add, Sqrt, Div, Mul); ORT does not fuse our Mul(x, x) form itself. At batch 1
   * each node is a kernel dispatch, 33 norms a token for a 1B model. The trainer keeps the standard ops.
   */
  fusedNorms?: boolean;
}

export interface LlamaForwardResult {
  /** [batch, seq, vocab] in the compute dtype ([batch, k, vocab] with logitsToKeep = k > 0; [n, vocab] with headRows). */
  logits: Value;
  /** Final RMS-normed hidden state, flattened to [batch*seq, hidden]. */
  hidden: Value;
  /** Per layer: the past inputs (kvCache only) and present values [batch, kvHeads, total, headDim]. */
  presents: { key: Value; value: Value }[];
  pasts: { key: Value; value: Value }[];
  /** LoRA A/B values by PEFT key, in creation order. */
  lora: Map<string, Value>;
  /** The residual stream after each decoder layer, [batch*seq, hidden] (tests compare layers one by one). */
  layerOutputs: Value[];
}

const NEG_BIAS: Record<ComputeDType, number> = { float32: -1e9, float64: -1e9, float16: -1e4 }; // exp() of it is 0

/** A float constant in the given dtype (float16 stored as IEEE half bits). */
export function constOf(g: GraphBuilder, dtype: ComputeDType, values: number[] | number, dims?: number[]): Value {
  const arr = Array.isArray(values) ? values : [values];
  const shape = dims ?? (Array.isArray(values) ? [arr.length] : []);
  const data = dtype === 'float64' ? Float64Array.from(arr) : dtype === 'float32' ? Float32Array.from(arr) : Uint16Array.from(arr, floatToHalf);
  return g.initializer(g.fresh('const'), dtype, shape, data);
}

function tableOf(dtype: ComputeDType, values: Float64Array): Float64Array | Float32Array | Uint16Array {
  return dtype === 'float64' ? values : dtype === 'float32' ? Float32Array.from(values) : Uint16Array.from(values, floatToHalf);
}

/**
 * Adds the Llama forward pass to `g` and returns its logits, final hidden state, KV presents and LoRA values.
 *
 * - Frozen Linear weights stay in HF layout [out, in] and are used by `Gemm(x, W, transB=1)` on the flattened
 *   activations [batch*seq, in]: no Transpose of a weight anywhere (ORT would constant-fold it at load).
 * - Tied embeddings: one initializer `model.embed_tokens.weight` feeds both the Gather and the lm_head Gemm.
 * - Rope: cos/sin tables [maxPositions, headDim] written at build time (llama3 scaling included) and gathered by
 *   position id; rotate_half is a MatMul with a constant signed permutation.
 * - GQA: queries are shaped [batch, kvHeads, group, seq, headDim] and keys [batch, kvHeads, 1, headDim, total],
 *   so MatMul broadcasting shares each KV head across its group without copying.
 * - LoRA on module m of layer i: y = W·x + scale·B·(A·x) with A [r, in], B [out, r] as PEFT stores them.
 * - RMSNorm: x / sqrt(mean(x²) + eps) · w (in float32 when the compute dtype is float16, as HF does).
 * - Family features (cfg's ArchFeatures, declared per family in modelFamilies.ts): q/k/v biases, (1 + w) norms,
 *   q/k norms, Gemma's four norms per layer, embedding scale, GeGLU, attention scale and soft-capping,
 *   interleaved sliding-window layers with their own rope table, final logit soft-capping.
 */
export function buildLlamaForward(g: GraphBuilder, cfg: LlamaConfig, opts: LlamaForwardOptions): LlamaForwardResult {
  const { dtype } = opts;
  const H = cfg.hiddenSize, D = cfg.headDim, KVH = cfg.numKvHeads, G = cfg.numHeads / cfg.numKvHeads;
  const batch = opts.inputIds.shape?.[0] ?? 'batch_size';
  const seq = opts.inputIds.shape?.[1] ?? 'sequence_length';
  const total = opts.attentionMask.shape?.[1] ?? 'total_sequence_length';
  const rows: Dim = typeof batch === 'number' && typeof seq === 'number' ? batch * seq : 'batch_x_seq';
  if (opts.inputIds.dtype !== 'int64' || opts.attentionMask.dtype !== 'int64') {
    throw new GraphBuildError('buildLlamaForward: input_ids and attention_mask must be int64');
  }

  // fused projections read their stacked weights through the same lazy reader as every other weight
  const source = opts.fuseProjections ? withFusedWeights(cfg, opts.weights) : opts.weights;
  const weightValues = new Map<string, Value>();
  const weight = (name: string, shape: number[]): Value => {
    const existing = weightValues.get(name);
    if (existing) return existing;
    const ext = opts.weights.external?.(name);
    const v = g.initializer(name, dtype, shape, ext ? { external: ext } : () => {
      const t = source.read(name);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new GraphBuildError(`weight ${name}: checkpoint has shape [${t.shape}], the config needs [${shape}]`);
      }
      return convertTensor(t, dtype).data;
    });
    weightValues.set(name, v);
    return v;
  };
  const i64 = (v: number | number[]) => g.constInt64(v);
  const op = g.op.bind(g);

  // ---- shapes and masks (int64/bool paths, computed once per run) ----
  const idsShape = op('Shape', [opts.inputIds]);
  const seqLen = op('Gather', [idsShape, i64(1)]);
  const totalLen = op('Gather', [op('Shape', [opts.attentionMask]), i64(1)]);
  const pastLen = op('Sub', [totalLen, seqLen]);
  const shapeWith = (tail: number[]) => op('Concat', [idsShape, i64(tail)], { axis: 0 });
  const qShape = shapeWith([KVH, G, D]);
  const kvShape = shapeWith([KVH, D]);

  const keyPos = op('Range', [i64(0), totalLen, i64(1)]);
  const queryPos = op('Range', [pastLen, totalLen, i64(1)]);
  const causal = op('LessOrEqual', [op('Unsqueeze', [keyPos, i64([0])]), op('Unsqueeze', [queryPos, i64([1])])]); // [seq, total]
  const notPad = op('Unsqueeze', [op('Cast', [opts.attentionMask], { to: ONNX_DTYPE.bool }), i64([1])]); // [batch, 1, total]
  const allowed = op('And', [causal, notPad]); // [batch, seq, total]
  const biasOf = (ok: Value) => op('Where', [ok, constOf(g, dtype, 0), constOf(g, dtype, NEG_BIAS[dtype])]); // [batch, seq, total]
  const to5d = (b: Value) => op('Unsqueeze', [b, i64([1, 2])], {}, { outputInfo: [{ shape: [batch, 1, 1, seq, total] }] });
  const biasBS = biasOf(allowed);
  const bias = to5d(biasBS);
  // sliding-window layers (Gemma 3) see the last `slidingWindow` positions only
  const localBias = cfg.slidingLayers?.some((x) => x) ? to5d(biasOf(op('And', [allowed, slidingWindowAllowed(g, keyPos, queryPos, cfg.slidingWindow!)]))) : undefined;
  if (opts.fusedAttention && (!opts.kvCache || dtype !== 'float32')) throw new GraphBuildError('buildLlamaForward: fusedAttention needs kvCache and float32');
  // fused attention covers plain rope + softmax attention (Llama, Qwen2); q/k norms, score soft-capping and
  // sliding windows (Gemma 3) keep the standard ops
  const useFusedAttention = opts.fusedAttention === true && !cfg.qkNorm && !cfg.attnSoftcap && !localBias;

  let positionIds = opts.positionIds;
  if (!positionIds) {
    const cum = op('Sub', [op('CumSum', [opts.attentionMask, i64(1)]), i64(1)]);
    const padded = op('Equal', [opts.attentionMask, i64(0)]);
    const all = op('Where', [padded, i64(1), cum]);
    positionIds = op('Slice', [all, op('Unsqueeze', [pastLen, i64([0])]), i64([2 ** 62]), i64([1])], {}, { outputInfo: [{ shape: [batch, seq] }] });
  }

  // ---- rope ----
  const positions = opts.maxPositions ?? cfg.maxPositionEmbeddings;
  // Tables are initializers named rope.cos / rope.sin (rope_local.* for sliding layers); `weights.external` may
  // point them at an existing file too.
  const tableCache = new Map<RopeKind, { cos: Value; sin: Value }>();
  const ropeTablesOf = (kind: RopeKind) => {
    const hit = tableCache.get(kind);
    if (hit) return hit;
    const prefix = kind === 'local' ? 'rope_local' : 'rope';
    const table = (name: string, pick: (t: { cos: Float64Array; sin: Float64Array }) => Float64Array) => {
      const ext = opts.weights.external?.(name);
      return g.initializer(name, dtype, [positions, D], ext ? { external: ext } : () => tableOf(dtype, pick(ropeTables(cfg, positions, kind))));
    };
    const r = { cos: table(`${prefix}.cos`, (t) => t.cos), sin: table(`${prefix}.sin`, (t) => t.sin) };
    tableCache.set(kind, r);
    return r;
  };
  // standard-op rope, made on first use (fused attention gathers the tables itself)
  let rotate: Value | undefined;
  const ropeCache = new Map<RopeKind, { cos4: Value; sin4: Value; cos5: Value; sin5: Value }>();
  const ropeOf = (kind: RopeKind) => {
    const hit = ropeCache.get(kind);
    if (hit) return hit;
    const t = ropeTablesOf(kind);
    const cos = op('Gather', [t.cos, positionIds]); // [batch, seq, D]
    const sin = op('Gather', [t.sin, positionIds]);
    const r = { cos4: op('Unsqueeze', [cos, i64([1])]), sin4: op('Unsqueeze', [sin, i64([1])]), cos5: op('Unsqueeze', [cos, i64([1, 2])]), sin5: op('Unsqueeze', [sin, i64([1, 2])]) };
    ropeCache.set(kind, r);
    return r;
  };
  const rope = (x: Value, c: Value, s: Value) => {
    if (!rotate) {
      const rotateExt = opts.weights.external?.('rope.rotate_half');
      rotate = g.initializer('rope.rotate_half', dtype, [D, D], rotateExt ? { external: rotateExt } : tableOf(dtype, rotateHalfMatrix(D)));
    }
    return op('Add', [op('Mul', [x, c]), op('Mul', [op('MatMul', [x, rotate]), s])]);
  };

  // ---- building blocks ----
  let eps: Value | undefined; // made on first use (fused norms take the number)
  // Gemma scales by (1 + w): the Add runs on the frozen weight (constant-folded, or once per run where frozen
  // weights are graph inputs), so the stored tensor stays the checkpoint's and can be shared with other graphs.
  const one = cfg.normPlusOne ? constOf(g, dtype, 1) : undefined;
  if (opts.fusedNorms && dtype !== 'float32') throw new GraphBuildError('buildLlamaForward: fusedNorms needs float32');
  const rmsNorm = (x: Value, name: string, dim = H): Value => {
    const w0 = weight(name, [dim]);
    const w = one ? op('Add', [w0, one]) : w0;
    if (opts.fusedNorms) return op('RMSNormalization', [x, w], { axis: -1, epsilon: { float: cfg.rmsNormEps } }, { outputInfo: [{ dtype, ...(x.shape ? { shape: x.shape } : {}) }] });
    const xf = dtype === 'float16' ? op('Cast', [x], { to: ONNX_DTYPE.float32 }) : x;
    const ms = op('ReduceMean', [op('Mul', [xf, xf]), i64([-1])], { keepdims: 1 });
    eps ??= constOf(g, dtype === 'float16' ? 'float32' : dtype, cfg.rmsNormEps);
    const normed = op('Div', [xf, op('Sqrt', [op('Add', [ms, eps])])]);
    return op('Mul', [dtype === 'float16' ? op('Cast', [normed], { to: ONNX_DTYPE.float16 }) : normed, w]);
  };

  const lora = opts.lora;
  const loraValues = new Map<string, Value>();
  const loraValue = (key: string, shape: Dim[]): Value => {
    const v = lora!.provide ? lora!.provide(key, shape) : g.input(key, dtype, shape);
    loraValues.set(key, v);
    return v;
  };
  if (lora) {
    for (const t of lora.targets) if (!LORA_TARGETS.includes(t)) throw new GraphBuildError(`LoRA target ${t} is not one of ${LORA_TARGETS.join(', ')}`);
    for (const l of lora.layers) if (!Number.isInteger(l) || l < 0 || l >= cfg.numLayers) throw new GraphBuildError(`LoRA layer ${l} is out of range 0..${cfg.numLayers - 1}`);
  }
  // 4-bit weights: packed blocks and scales come from one read of the float tensor (memoised for the pair).
  const q4Block = opts.q4BlockSize ?? Q4_BLOCK;
  let q4Memo: { name: string; q: Q4Weights } | undefined;
  const q4Of = (name: string, shape: [number, number]): Q4Weights => {
    if (q4Memo?.name !== name) {
      const t = convertTensor(source.read(name), 'float32');
      if (t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) throw new GraphBuildError(`weight ${name}: checkpoint has shape [${t.shape}], the config needs [${shape}]`);
      q4Memo = { name, q: quantizeQ4(t.data as Float32Array, shape[0], shape[1], q4Block, opts.q4Scale) };
    }
    return q4Memo.q;
  };
  const transposedWeight = (name: string, [out, inDim]: [number, number]): Value => {
    const tName = `${name}.T`;
    const existing = weightValues.get(tName);
    if (existing) return existing;
    const ext = opts.weights.external?.(tName);
    const v = g.initializer(tName, dtype, [inDim, out], ext ? { external: ext } : () => {
      const t = source.read(name);
      if (t.shape[0] !== out || t.shape[1] !== inDim) throw new GraphBuildError(`weight ${name}: checkpoint has shape [${t.shape}], the config needs [${out},${inDim}]`);
      return transpose2d(convertTensor(t, dtype).data, out, inDim);
    });
    weightValues.set(tName, v);
    return v;
  };
  const frozenLinear = (x: Value, name: string, shape: [number, number]): Value => {
    if (opts.weightFormat !== 'q4' && opts.floatLayout === 'transposed') return op('MatMul', [x, transposedWeight(name, shape)]);
    if (opts.weightFormat !== 'q4') return op('Gemm', [x, weight(name, shape)], { transB: 1 });
    if (dtype !== 'float32') throw new GraphBuildError('4-bit weights need dtype float32');
    const [n, k] = shape;
    const nBlocks = q4Blocks(k, q4Block);
    const init = (suffix: string, dt: 'uint8' | 'float32', dims: number[], data: () => ArrayBufferView) => {
      const ext = opts.weights.external?.(`${name}${suffix}`);
      return g.initializer(`${name}${suffix}`, dt, dims, ext ? { external: ext } : data);
    };
    const packed = init('.q4', 'uint8', [n, nBlocks, q4Block / 2], () => q4Of(name, shape).packed);
    const scales = init('.q4_scales', 'float32', [n * nBlocks], () => q4Of(name, shape).scales);
    const attrs = { K: k, N: n, bits: 4, block_size: q4Block, ...(opts.q4AccuracyLevel ? { accuracy_level: opts.q4AccuracyLevel } : {}) };
    return op('MatMulNBits', [x, packed, scales], attrs, { domain: 'com.microsoft', outputInfo: [{ dtype, shape: [x.shape?.[0] ?? 'rows', n] }] });
  };
  /** Frozen products of `targets` (which all read x): one product split in parts when fused, else one each. */
  const frozenGroup = (x: Value, layer: number, targets: LoraTarget[]): Value[] => {
    const group = opts.fuseProjections ? FUSED_GROUPS.find((f) => f.targets.join() === targets.join()) : undefined;
    if (!group) return targets.map((t) => frozenLinear(x, `${modulePath(layer, t)}.weight`, linearShape(cfg, t)));
    const outs = targets.map((t) => linearShape(cfg, t)[0]);
    const y = frozenLinear(x, fusedWeightName(layer, group), [outs.reduce((a, b) => a + b, 0), linearShape(cfg, targets[0]!)[1]]);
    return g.node('Split', [y, i64(outs)], { axis: -1 }, { outputs: outs.length, outputInfo: outs.map((o) => ({ dtype, shape: [x.shape?.[0] ?? 'rows', o] })) });
  };
  const linear = (x: Value, layer: number, target: LoraTarget, frozen?: Value): Value => {
    const [out, inDim] = linearShape(cfg, target);
    const y0 = frozen ?? frozenLinear(x, `${modulePath(layer, target)}.weight`, [out, inDim]);
    const hasBias = cfg.qkvBias && (target === 'q_proj' || target === 'k_proj' || target === 'v_proj');
    const y = hasBias ? op('Add', [y0, weight(`${modulePath(layer, target)}.bias`, [out])]) : y0;
    if (!lora || !lora.targets.includes(target) || !lora.layers.includes(layer)) return y;
    const a = loraValue(peftKey(layer, target, 'A'), [lora.rank, inDim]);
    const b = loraValue(peftKey(layer, target, 'B'), [out, lora.rank]);
    const down = op('Gemm', [x, a], { transB: 1 }); // [rows, r]
    const up = op('Gemm', [down, b], lora.scale === 1 ? { transB: 1 } : { transB: 1, alpha: { float: lora.scale } });
    return op('Add', [y, up]);
  };

  // ---- the decoder stack ----
  const embed = weight('model.embed_tokens.weight', [cfg.vocabSize, H]);
  let h = op('Reshape', [op('Gather', [embed, opts.inputIds]), i64([-1, H])], {}, { outputInfo: [{ shape: [rows, H] }] });
  if (cfg.embedScale) h = op('Mul', [h, constOf(g, dtype, cfg.embedScale)]);
  if (opts.residualHook) h = opts.residualHook(h, 0);
  const presents: { key: Value; value: Value }[] = [];
  const pasts: { key: Value; value: Value }[] = [];
  const pastOf = (i: number) => {
    const past = { key: g.input(`past_key_values.${i}.key`, dtype, [batch, KVH, 'past_sequence_length', D]), value: g.input(`past_key_values.${i}.value`, dtype, [batch, KVH, 'past_sequence_length', D]) };
    pasts.push(past);
    return past;
  };
  const layerOutputs: Value[] = [];
  const attnScale = cfg.attnScale ?? 1 / Math.sqrt(D);
  let scale: Value | undefined; // standard ops only (fused attention takes the number)
  type Attention = (i: number, q: Value, k: Value, v: Value) => { context: Value; key: Value; value: Value };
  /** Standard ops: q [batch, KVH, G, seq, D] against k [batch, KVH, 1, D, total] (MatMul broadcasting shares a KV head). */
  const standardAttention: Attention = (i, qProj, kProj, vProj) => {
    const local = cfg.slidingLayers?.[i] === true;
    const { cos4, sin4, cos5, sin5 } = ropeOf(local ? 'local' : 'global');
    const toHeads = (v: Value, shape: Value, perm: number[], dims: Dim[]) =>
      op('Transpose', [op('Reshape', [v, shape])], { perm }, { outputInfo: [{ shape: dims }] });
    let q = toHeads(qProj, qShape, [0, 2, 3, 1, 4], [batch, KVH, G, seq, D]);
    let k = toHeads(kProj, kvShape, [0, 2, 1, 3], [batch, KVH, seq, D]);
    let v = toHeads(vProj, kvShape, [0, 2, 1, 3], [batch, KVH, seq, D]);
    if (cfg.qkNorm) {
      q = rmsNorm(q, `model.layers.${i}.self_attn.q_norm.weight`, D);
      k = rmsNorm(k, `model.layers.${i}.self_attn.k_norm.weight`, D);
    }
    scale ??= constOf(g, dtype, attnScale);
    const qr = op('Mul', [rope(q, cos5, sin5), scale]);
    k = rope(k, cos4, sin4);
    if (opts.kvCache) {
      const past = pastOf(i);
      const info = { outputInfo: [{ shape: [batch, KVH, total, D] }] };
      k = op('Concat', [past.key, k], { axis: 2 }, info);
      v = op('Concat', [past.value, v], { axis: 2 }, info);
    }
    const kT = op('Unsqueeze', [op('Transpose', [k], { perm: [0, 1, 3, 2] }), i64([2])]); // [batch, KVH, 1, D, total]
    const raw = op('MatMul', [qr, kT]); // [batch, KVH, G, seq, total]
    const scores = op('Add', [cfg.attnSoftcap ? softcap(g, raw, cfg.attnSoftcap, dtype) : raw, local ? localBias! : bias]);
    const probs = op('Softmax', [scores], { axis: -1 });
    const ctx = op('MatMul', [probs, op('Unsqueeze', [v, i64([2])])]); // [batch, KVH, G, seq, D]
    const context = op('Reshape', [op('Transpose', [ctx], { perm: [0, 3, 1, 2, 4] }), i64([-1, cfg.numHeads * D])], {}, {
      outputInfo: [{ shape: [rows, cfg.numHeads * D] }],
    });
    return { context, key: k, value: v };
  };
  // fused attention's shared inputs: the first half of each rope table (HF duplicates the halves), the 4-D bias
  let shared: { cosHalf: Value; sinHalf: Value; bias: Value; bsShape: Value } | undefined;
  const fusedAttentionOf: Attention = (i, q, k, v) => {
    const halfTable = (t: Value) => op('Slice', [t, i64([0]), i64([D / 2]), i64([1])], {}, { outputInfo: [{ shape: [positions, D / 2] }] });
    const t = ropeTablesOf('global');
    shared ??= { cosHalf: halfTable(t.cos), sinHalf: halfTable(t.sin), bias: op('Unsqueeze', [biasBS, i64([1])], {}, { outputInfo: [{ shape: [batch, 1, seq, total] }] }), bsShape: shapeWith([-1]) };
    return fusedAttention(g, cfg, { q, k, v, positionIds, past: pastOf(i), ...shared, scale: attnScale, dims: { batch, seq, total, rows } });
  };
  const attention = useFusedAttention ? fusedAttentionOf : standardAttention;
  for (let i = 0; i < cfg.numLayers; i++) {
    const x = rmsNorm(h, `model.layers.${i}.input_layernorm.weight`);
    const [qW, kW, vW] = frozenGroup(x, i, ['q_proj', 'k_proj', 'v_proj']);
    const att = attention(i, linear(x, i, 'q_proj', qW), linear(x, i, 'k_proj', kW), linear(x, i, 'v_proj', vW));
    presents.push({ key: att.key, value: att.value });
    const attnOut = linear(att.context, i, 'o_proj');
    // Llama: post_attention_layernorm normalises the MLP's input; Gemma: the attention output, with two more
    // norms around the MLP
    const sandwich = cfg.sandwichNorms === true;
    h = op('Add', [h, sandwich ? rmsNorm(attnOut, `model.layers.${i}.post_attention_layernorm.weight`) : attnOut]);
    const x2 = rmsNorm(h, `model.layers.${i}.${sandwich ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`);
    const [gateW, upW] = frozenGroup(x2, i, ['gate_proj', 'up_proj']);
    const gate = linear(x2, i, 'gate_proj', gateW);
    const gated = cfg.hiddenAct === 'gelu_tanh' ? geluTanh(g, gate, dtype) : op('Mul', [gate, op('Sigmoid', [gate])]);
    const act = op('Mul', [gated, linear(x2, i, 'up_proj', upW)]);
    const mlpOut = linear(act, i, 'down_proj');
    h = op('Add', [h, sandwich ? rmsNorm(mlpOut, `model.layers.${i}.post_feedforward_layernorm.weight`) : mlpOut]);
    if (opts.residualHook) h = opts.residualHook(h, i + 1);
    layerOutputs.push(h);
  }
  const hidden = rmsNorm(h, 'model.norm.weight');
  const lmHeadName = cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const lmHeadLinear = (x: Value): Value => {
    const y = (opts.weightFormat === 'q4' && opts.q4LmHead !== false) || opts.floatLayout === 'transposed'
      ? frozenLinear(x, lmHeadName, [cfg.vocabSize, H])
      : op('Gemm', [x, cfg.tieWordEmbeddings ? embed : weight('lm_head.weight', [cfg.vocabSize, H])], { transB: 1 });
    return cfg.finalSoftcap ? softcap(g, y, cfg.finalSoftcap, dtype) : y;
  };
  let logits: Value;
  if (opts.headRows) {
    if (opts.logitsToKeep) throw new GraphBuildError('buildLlamaForward: headRows and logitsToKeep exclude each other');
    logits = lmHeadLinear(op('Gather', [hidden, opts.headRows], { axis: 0 }));
  } else if (opts.logitsToKeep) {
    // HF num_logits_to_keep: logits for the last k positions only (0 = all). Prefill for generation needs 1,
    // which saves the lm_head's vocab x hidden work and a [seq, vocab] output per prompt token.
    const h3 = op('Reshape', [hidden, shapeWith([H])]);
    const start = op('Unsqueeze', [op('Neg', [opts.logitsToKeep]), i64([0])]);
    const kept = op('Reshape', [op('Slice', [h3, start, i64([2 ** 62]), i64([1])]), i64([-1, H])], {}, { outputInfo: [{ shape: ['batch_x_kept', H] }] });
    const outShape = op('Concat', [op('Unsqueeze', [op('Gather', [idsShape, i64(0)]), i64([0])]), i64([-1, cfg.vocabSize])], { axis: 0 });
    logits = op('Reshape', [lmHeadLinear(kept), outShape], {}, { outputInfo: [{ shape: [batch, 'kept_sequence_length', cfg.vocabSize] }] });
  } else {
    const logits2d = lmHeadLinear(hidden);
    logits = op('Reshape', [logits2d, shapeWith([cfg.vocabSize])], {}, { outputInfo: [{ shape: [batch, seq, cfg.vocabSize] }] });
  }
  return { logits, hidden, presents, pasts, lora: loraValues, layerOutputs };
}

/** [rows, cols] -> [cols, rows], in 64x64 tiles so both sides stay cache-friendly. */
function transpose2d<T extends Float32Array | Float64Array | Uint16Array>(src: T, rows: number, cols: number): T {
  const out = new (src.constructor as { new (n: number): T })(src.length);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(r0 + B, rows), c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
    }
  }
  return out;
}

/** Bytes of frozen weights the forward reads per token (what bounds decode speed on memory bandwidth). */
export function weightBytesPerToken(cfg: LlamaConfig, bytesPerWeight: number): number {
  let n = cfg.vocabSize * cfg.hiddenSize; // lm_head (the embedding Gather reads one row only)
  for (const t of LORA_TARGETS) n += cfg.numLayers * elementCount(linearShape(cfg, t));
  return n * bytesPerWeight;
}
