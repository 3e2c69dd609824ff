// Attention for inference exports as ONNX opset-23 fused ops: RotaryEmbedding on q and k (rotate_half layout, HF's
// cos/sin halves gathered by position id) and one Attention node (grouped KV heads, the additive padding/causal
// bias, the KV cache concatenated inside: present = past ++ new). The standard-op version in llamaGraph.ts is
// ~26 nodes per layer (reshapes, transposes, two rope chains, the concats, two batched MatMuls, softmax); at batch 1
// every node is a kernel dispatch on the decode path, which a 1B model pays 16 times per token. Same I/O contract
// (past/present [batch, kvHeads, length, headDim]); float32 compute only; the trainer keeps the standard ops (its
// graphs are differentiated op by op).
import type { Dim, GraphBuilder, Value } from '../onnx/graphBuilder';
import type { LlamaConfig } from './llamaConfig';

export interface FusedAttentionInputs {
  /** Projections [rows, heads·headDim] and [rows, kvHeads·headDim], rows = batch·seq. */
  q: Value;
  k: Value;
  v: Value;
  /** [batch, seq] int64. */
  positionIds: Value;
  /** Rope tables [maxPositions, headDim/2]: HF's cos/sin (the halves of its duplicated tables). */
  cosHalf: Value;
  sinHalf: Value;
  /** Additive bias [batch, 1, seq, total] (0 or a large negative number). */
  bias: Value;
  /** Cache so far [batch, kvHeads, past, headDim] (possibly past = 0). */
  past: { key: Value; value: Value };
  /** int64 [3]: [batch, seq, -1], to give the projections their [batch, seq, features] form. */
  bsShape: Value;
  /** Score scale (1/sqrt(headDim) unless the family says otherwise). */
  scale: number;
  dims: { batch: Dim; seq: Dim; total: Dim; rows: Dim };
}

/** The attention block of one layer: context [rows, heads·headDim] and the present keys/values. */
export function fusedAttention(g: GraphBuilder, cfg: LlamaConfig, a: FusedAttentionInputs): { context: Value; key: Value; value: Value } {
  const { batch, seq, total, rows } = a.dims;
  const D = cfg.headDim, H = cfg.numHeads, KVH = cfg.numKvHeads;
  const to3d = (x: Value, width: number) => g.op('Reshape', [x, a.bsShape], {}, { outputInfo: [{ shape: [batch, seq, width] }] });
  const rotary = (x: Value, heads: number) =>
    g.op('RotaryEmbedding', [to3d(x, heads * D), a.cosHalf, a.sinHalf, a.positionIds], { interleaved: 0, num_heads: heads }, { outputInfo: [{ dtype: x.dtype, shape: [batch, seq, heads * D] }] });
  const kvDims = [batch, KVH, total, D];
  const [y, key, value] = g.node(
    'Attention',
    [rotary(a.q, H), rotary(a.k, KVH), to3d(a.v, KVH * D), a.bias, a.past.key, a.past.value],
    { q_num_heads: H, kv_num_heads: KVH, scale: { float: a.scale } },
    { outputs: 3, outputInfo: [{ dtype: a.q.dtype, shape: [batch, seq, H * D] }, { dtype: a.q.dtype, shape: kvDims }, { dtype: a.q.dtype, shape: kvDims }] },
  );
  const context = g.op('Reshape', [y!, g.constInt64([-1, H * D])], {}, { outputInfo: [{ shape: [rows, H * D] }] });
  return { context, key: key!, value: value! };
}
