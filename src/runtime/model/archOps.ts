// Graph pieces of the non-Llama family features (modelFamilies.ts), kept out of the decoder stack's main loop in
// llamaGraph.ts. All are standard ONNX ops with autodiff rules (Tanh, Mul, Add, Div), so the trainer
// differentiates them like the rest of the forward.
import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import { floatToHalf } from './hostTensor';

type FloatDType = 'float32' | 'float64' | 'float16';

function scalar(g: GraphBuilder, dtype: FloatDType, v: number): Value {
  const data = dtype === 'float64' ? Float64Array.of(v) : dtype === 'float32' ? Float32Array.of(v) : Uint16Array.of(floatToHalf(v));
  return g.initializer(g.fresh('const'), dtype, [], data);
}

/**
 * GELU, tanh approximation (PyTorch's gelu(approximate="tanh"), HF's gelu_pytorch_tanh):
 * 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))).
 */
export function geluTanh(g: GraphBuilder, x: Value, dtype: FloatDType): Value {
  const op = g.op.bind(g);
  const x3 = op('Mul', [op('Mul', [x, x]), x]);
  const inner = op('Mul', [op('Add', [x, op('Mul', [x3, scalar(g, dtype, 0.044715)])]), scalar(g, dtype, Math.sqrt(2 / Math.PI))]);
  return op('Mul', [op('Mul', [x, scalar(g, dtype, 0.5)]), op('Add', [op('Tanh', [inner]), scalar(g, dtype, 1)])]);
}

/** Soft-capping as Gemma does it: cap·tanh(x/cap). */
export function softcap(g: GraphBuilder, x: Value, cap: number, dtype: FloatDType): Value {
  return g.op('Mul', [g.op('Tanh', [g.op('Div', [x, scalar(g, dtype, cap)])]), scalar(g, dtype, cap)]);
}

/**
 * bool [seq, total]: key j is within the sliding window of query i, i.e. i - j < window (HF's sliding_window_overlay:
 * kv_idx > q_idx - sliding_window). Indices are cache positions; with left padding only, a row's real tokens are
 * contiguous, so index distance equals position distance.
 */
export function slidingWindowAllowed(g: GraphBuilder, keyPos: Value, queryPos: Value, window: number): Value {
  const dist = g.op('Sub', [g.op('Unsqueeze', [queryPos, g.constInt64([1])]), g.op('Unsqueeze', [keyPos, g.constInt64([0])])]);
  return g.op('Less', [dist, g.constInt64(window)]);
}
