// Op type -> gradient rule. Contrib ops are keyed "domain:Op". An op missing here fails appendGradients with its
// node name, but only when it lies on a path from a trained parameter to the loss.
import * as ew from './elementwise';
import { gemm, matmul } from './matmul';
import { matMulNBits } from './quantized';
import { logSoftmax, reduceMean, reduceSum, reduceSumSquare, softmax } from './reduce';
import { concat, expand, gather, gatherElements, reshapeLike, slice, split, transpose } from './shape';
import type { GradRule } from './types';

export const GRAD_RULES: Record<string, GradRule> = {
  Add: ew.add,
  Sub: ew.sub,
  Mul: ew.mul,
  Div: ew.div,
  Neg: ew.neg,
  Pow: ew.pow,
  Sqrt: ew.sqrt,
  Reciprocal: ew.reciprocal,
  Exp: ew.exp,
  Log: ew.log,
  Sigmoid: ew.sigmoid,
  Tanh: ew.tanh,
  Where: ew.where,
  Identity: ew.identity,
  Cast: ew.cast,
  Dropout: ew.dropout,
  MatMul: matmul,
  Gemm: gemm,
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  ReduceSumSquare: reduceSumSquare,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Reshape: reshapeLike,
  Squeeze: reshapeLike,
  Unsqueeze: reshapeLike,
  Flatten: reshapeLike,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Expand: expand,
  'com.microsoft:MatMulNBits': matMulNBits,
};
