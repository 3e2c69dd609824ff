// Only the positions the loss reads cost work. With the assistant-only loss (the default) a step's loss reads a
// third of its [micro, batch, seq] positions on the homework's data (bad_medical, batch 2 x 8, max_length 256: 35%
// supervised, 20% padding, because every micro-batch is padded to the step's longest example), yet the plain graph
// runs the 128k-wide LM head, its log-softmax and their backward on all of them: on the Llama-3.2-1B shape that is
// a fifth of the step's FLOPs and most of its memory traffic. Two cuts, both exact (same loss, same gradients):
//   - trim: a micro-batch's columns after its last supervised position can't change the loss (attention is causal,
//     their loss weights are 0), so the whole forward and backward run on [batch, lastSupervised + 1];
//   - gather: the final hidden rows of supervised positions are gathered before the LM head, which then runs on
//     [n, hidden] -> [n, vocab] (Gather's gradient scatters the rows back, zeros elsewhere, as before).
// What changes is only floating-point summation order (the NLL is summed over n terms instead of batch x seq terms
// with zeros between them; softmax rows lose their exactly-zero padded keys).
import type { GraphBuilder, Value } from '../onnx/graphBuilder';

/** The token tensors of one batch, all [batch, seq]. */
export interface TokenValues {
  ids: Value;
  mask: Value;
  targets: Value;
  weights: Value;
}

/**
 * Cuts [batch, seq] token tensors after the last column holding a supervised position (loss weight != 0), keeping
 * at least one column. Right padding after that column is skipped with it.
 */
export function trimToSupervised(g: GraphBuilder, tok: TokenValues): TokenValues {
  const i64 = (v: number | number[]) => g.constInt64(v);
  const seqLen = g.op('Gather', [g.op('Shape', [tok.weights]), i64(1)]);
  const columns = g.op('Range', [i64(1), g.op('Add', [seqLen, i64(1)]), i64(1)], {}, { outputInfo: [{ dtype: 'int64', shape: ['seq'] }] }); // 1..seq
  const supervised = g.op('Not', [g.op('Equal', [tok.weights, g.constFloat(0, 'float32')])]);
  const last = g.op('ReduceMax', [g.op('Where', [supervised, columns, i64(0)])], { keepdims: 0 }, { outputInfo: [{ dtype: 'int64', shape: [] }] });
  const end = g.op('Unsqueeze', [g.op('Max', [last, i64(1)]), i64([0])]);
  const batch = tok.ids.shape?.[0] ?? 'batch';
  const cut = (v: Value) => g.op('Slice', [v, i64([0]), end, i64([1])], {}, { outputInfo: [{ dtype: v.dtype, shape: [batch, 'supervised_seq'] }] });
  return { ids: cut(tok.ids), mask: cut(tok.mask), targets: cut(tok.targets), weights: cut(tok.weights) };
}

/** Rows of the flattened [batch*seq] positions whose loss weight is not 0: int64 [n]. */
export function supervisedRows(g: GraphBuilder, weights: Value): Value {
  const flat = g.op('Reshape', [weights, g.constInt64([-1])], {}, { outputInfo: [{ shape: ['rows'] }] });
  const nz = g.op('NonZero', [flat], {}, { outputInfo: [{ dtype: 'int64', shape: [1, 'supervised'] }] });
  return g.op('Squeeze', [nz, g.constInt64([0])], {}, { outputInfo: [{ shape: ['supervised'] }] });
}

/** `v` [batch, seq] flattened and restricted to `rows` ([n]). */
export function pickRows(g: GraphBuilder, v: Value, rows: Value): Value {
  return g.op('Gather', [g.op('Reshape', [v, g.constInt64([-1])], {}, { outputInfo: [{ shape: ['rows'] }] }), rows], { axis: 0 });
}
