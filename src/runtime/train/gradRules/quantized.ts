// Gradient rule for com.microsoft MatMulNBits (4-bit frozen weights, the trainer's --use_4bit): Y = A · Wᵀ with
// W = dequant(B) [N, K] = (q - 8) · scale per block of K. Only A gets a gradient (the weights are frozen):
//   dA = dY · W,  W rebuilt in the backward pass by an ONNX DequantizeLinear of the same bytes.
// The packed B [N, K/32, 16] uint8 of MatMulNBits is, byte for byte, a uint4 [N, K] tensor (two per byte, low
// nibble first) when K is a multiple of the block size, and its scales [N·K/32] are a [N, K/32] tensor: the rule
// adds initializers that view the same data (the same external-data range in weights.bin), so the 4-bit weights
// are stored once on disk. DequantizeLinear with block_size (opset 21) gives exactly (q - 8) · scale with zero
// point 8, so the gradient is the exact gradient through the dequantized weights. ORT does not constant-fold
// DequantizeLinear (it keeps QDQ patterns), so the fp32 copy of W exists only while this Gemm runs: one
// projection at a time, freed right after, which is where the memory saving comes from (the cost is one
// dequantization per frozen linear per micro-batch).
import type { InitializerIR, Value } from '../../onnx/graphBuilder';
import { GraphBuildError, type GraphBuilder } from '../../onnx/graphBuilder';
import type { GradCtx } from '../gradCtx';
import { intAttr } from '../gradCtx';
import type { GradRule } from './types';

function initializerOf(g: GraphBuilder, name: string): InitializerIR | undefined {
  for (let s: GraphBuilder | undefined = g; s; s = s.parent) {
    const init = s.initializers.get(name);
    if (init) return init;
  }
  return undefined;
}

/** An initializer `name` that views `source`'s data with another type and shape (created once per graph). */
function view(ctx: GradCtx, name: string, source: InitializerIR, dtype: 'uint4' | 'float32', dims: number[]): Value {
  return ctx.g.lookup(name) ?? ctx.g.initializer(name, dtype, dims, source.data);
}

/** uint4 [n, blocks] of 8s: the symmetric zero point, shared by every weight of that shape. */
function zeroPoints(ctx: GradCtx, n: number, blocks: number): Value {
  const name = `q4.zero_points.${n}x${blocks}`;
  return ctx.g.lookup(name) ?? ctx.g.initializer(name, 'uint4', [n, blocks], new Uint8Array(Math.ceil((n * blocks) / 2)).fill(0x88));
}

export const matMulNBits: GradRule = (ctx, n, [dy], needs) => {
  if (needs.slice(1).some(Boolean)) throw new GraphBuildError(`${n.name} (MatMulNBits): its 4-bit weights are frozen; only the input A can get a gradient`);
  if (!needs[0]) return n.inputs.map(() => undefined);
  const K = intAttr(n, 'K', 0), N = intAttr(n, 'N', 0), block = intAttr(n, 'block_size', 0), bits = intAttr(n, 'bits', 4);
  if (bits !== 4) throw new GraphBuildError(`${n.name} (MatMulNBits): the gradient rule supports bits=4, got ${bits}`);
  if (n.inputs.slice(3).some((i) => i)) throw new GraphBuildError(`${n.name} (MatMulNBits): zero_points, g_idx and bias inputs are not supported by the gradient rule (symmetric weights only)`);
  if (K % block !== 0) throw new GraphBuildError(`${n.name} (MatMulNBits): K=${K} is not a multiple of the block size ${block}, so the packed weights are not a plain [N, K] 4-bit tensor`);
  const packed = initializerOf(ctx.g, n.inputs[1]!), scales = initializerOf(ctx.g, n.inputs[2]!);
  if (!packed || !scales) throw new GraphBuildError(`${n.name} (MatMulNBits): the gradient rule needs B and scales as initializers`);
  const blocks = K / block;
  const w = ctx.op(
    'DequantizeLinear',
    [view(ctx, `${packed.name}.as_uint4`, packed, 'uint4', [N, K]), view(ctx, `${scales.name}.as_2d`, scales, 'float32', [N, blocks]), zeroPoints(ctx, N, blocks)],
    { axis: 1, block_size: block },
    { outputInfo: [{ dtype: 'float32', shape: [N, K] }] },
  );
  const a = ctx.value(n.inputs[0]!);
  const rank = ctx.rank(a);
  const flat = rank === 2 ? dy! : ctx.flatten2d(dy!);
  const da = ctx.op('Gemm', [flat, w]); // [rows, N] x [N, K]
  return [rank === 2 ? da : ctx.reshapeLike(da, a), undefined, undefined];
};
