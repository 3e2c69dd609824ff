// Element types the graph builder knows, and how they map to ONNX TensorProto.DataType and JS typed arrays.
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool' | 'uint4';

/** ONNX TensorProto.DataType codes (onnx.proto). */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
  uint4: 21, // two per byte, low nibble first (initializers only: the 4-bit training path's DequantizeLinear views)
};

export const DTYPE_FROM_ONNX: Record<number, DType> = Object.fromEntries(
  Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]),
) as Record<number, DType>;

/** Bytes per element. */
export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
  uint4: 0.5, // an odd count takes ceil(count / 2) bytes
};

export const FLOAT_DTYPES: ReadonlySet<DType> = new Set<DType>(['float32', 'float16', 'bfloat16', 'float64']);

export function isFloat(d: DType): boolean {
  return FLOAT_DTYPES.has(d);
}

export type TypedArrayFor = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;
