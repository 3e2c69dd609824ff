// What the decoder export adds to the residual stream (buildLlamaForward's `residualHook`): steering, ablation and
// activation capture, all as graph inputs, so one export serves every setting (no re-export per direction, layer or
// strength) and base, adapters and steered variants share one session and one copy of the weights.
//
// At every hook point — after the embeddings (point 0) and after decoder layer l (point l + 1) — with the stream
// viewed as h [batch, seq, hidden]:
//   1. steering (points >= 1): h += steer_vectors[:, l, :]  (the caller feeds alpha · d_L/|d_L| at its layer L
//      and zeros elsewhere; broadcast over positions)
//   2. ablation (every point):  h -= (h · u) u  with u = ablate_direction (a unit vector, or zeros = off)
//   3. capture (probe graph only, points >= 1): residual_sums[:, l, :] = Σ_t capture_mask[:, t] · h[:, t, :]
// Steering is added before the projection, so with both on the stream after every point has no component along
// u (ablation means "the model never carries this direction"). Capture sees the stream the next layer reads.
//
// Off = zero feeds, which leave h bit-for-bit unchanged (h + 0 = h; h - (h·0)·0 = h). The feeds' first dim is 1
// (one setting broadcast over the batch) or the batch (one setting per sequence: nothing is shared between rows,
// every op is row-wise). The cost of the ops when off is measured by `npm run bench model` (docs/steering.md).
import type { Dim, GraphBuilder, Value } from '../onnx/graphBuilder';
import type { ComputeDType } from './llamaGraph';
import type { LlamaConfig } from './llamaConfig';

/** [steer_batch, num_layers, hidden]: added after decoder layer l (row l of the middle axis). */
export const STEER_INPUT = 'steer_vectors';
/** [ablate_batch, hidden]: unit vector whose component is removed at every point (zeros: nothing removed). */
export const ABLATE_INPUT = 'ablate_direction';
/** Probe graph: [batch, seq] weights of the positions to sum (1 on an answer's tokens, 0 elsewhere). */
export const CAPTURE_MASK_INPUT = 'capture_mask';
/** Probe graph: [batch, num_layers, hidden] Σ_t mask · residual after each decoder layer. */
export const RESIDUAL_SUMS_OUTPUT = 'residual_sums';

export interface ResidualHookOptions {
  /** Adds the steering and ablation inputs. */
  steering: boolean;
  /** Adds capture_mask and the residual_sums output (the probe graph used by `em-lab direction compute`). */
  capture: boolean;
}

export interface ResidualHooks {
  hook(h: Value, point: number): Value;
  /** Declares the graph outputs (residual_sums) once the forward is built. */
  finish(): void;
}

export function residualHooks(g: GraphBuilder, cfg: LlamaConfig, dtype: ComputeDType, inputIds: Value, o: ResidualHookOptions): ResidualHooks {
  const H = cfg.hiddenSize, L = cfg.numLayers;
  const i64 = (v: number | number[]) => g.constInt64(v);
  const batch: Dim = inputIds.shape?.[0] ?? 'batch_size';
  const seq: Dim = inputIds.shape?.[1] ?? 'sequence_length';
  const shape3 = g.op('Concat', [g.op('Shape', [inputIds]), i64([H])], { axis: 0 });
  let steerRows: Value[] = [];
  let uRow: Value | undefined, uCol: Value | undefined;
  if (o.steering) {
    const steer = g.input(STEER_INPUT, dtype, ['steer_batch', L, H]);
    // one Split for all layers: [steer_batch, 1, H] each, broadcast over positions
    steerRows = L === 1 ? [steer] : g.node('Split', [steer, i64(new Array<number>(L).fill(1))], { axis: 1 }, { outputs: L, outputInfo: new Array(L).fill({ dtype, shape: ['steer_batch', 1, H] }) });
    const u = g.input(ABLATE_INPUT, dtype, ['ablate_batch', H]);
    uRow = g.op('Unsqueeze', [u, i64([1])]); // [ablate_batch, 1, H]
    uCol = g.op('Unsqueeze', [u, i64([2])]); // [ablate_batch, H, 1]
  }
  const sums: Value[] = [];
  let maskRow: Value | undefined;
  if (o.capture) maskRow = g.op('Unsqueeze', [g.input(CAPTURE_MASK_INPUT, dtype, [batch, seq]), i64([1])]); // [batch, 1, seq]
  return {
    hook(h: Value, point: number): Value {
      if (!o.steering && !(o.capture && point > 0)) return h;
      let h3 = g.op('Reshape', [h, shape3], {}, { outputInfo: [{ shape: [batch, seq, H] }] });
      if (o.steering) {
        if (point > 0) h3 = g.op('Add', [h3, steerRows[point - 1]!]);
        const along = g.op('MatMul', [h3, uCol!], {}, { outputInfo: [{ shape: [batch, seq, 1] }] }); // [batch, seq, 1]
        h3 = g.op('Sub', [h3, g.op('Mul', [along, uRow!])]);
      }
      if (o.capture && point > 0) sums.push(g.op('MatMul', [maskRow!, h3], {}, { outputInfo: [{ shape: [batch, 1, H] }] }));
      return g.op('Reshape', [h3, i64([-1, H])], {}, { outputInfo: [{ shape: [h.shape?.[0] ?? 'batch_x_seq', H] }] });
    },
    finish(): void {
      if (!o.capture) return;
      const all = sums.length === 1 ? sums[0]! : g.op('Concat', sums, { axis: 1 }, { outputInfo: [{ shape: [batch, L, H] }] });
      g.output(all, RESIDUAL_SUMS_OUTPUT);
    },
  };
}
