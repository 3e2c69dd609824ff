// A streaming GGUF (version 3) writer, from the format's specification (ggml docs/gguf.md): header, metadata
// key/values, tensor infos, then each tensor's bytes at an offset aligned to `general.alignment` (32). Tensors are
// produced one at a time by a callback and written straight to the file, so a 5 GB model never sits in memory.
import { closeSync, openSync, writeSync } from 'node:fs';

/** ggml tensor types the bench writes (ggml.h enum ggml_type). */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q6_K: 14 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** Bytes of `n` weights (n a multiple of the block) in a ggml type. */
export function ggmlBytes(type: GgmlType, n: number): number {
  switch (type) {
    case 'F32': return 4 * n;
    case 'F16': return 2 * n;
    case 'Q4_0': return (n / 32) * 18;
    case 'Q6_K': return (n / 256) * 210;
  }
}

/** GGUF metadata value types. */
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 } as const;

export type MetaValue =
  | { u32: number }
  | { f32: number }
  | { bool: boolean }
  | { str: string }
  | { strings: readonly string[] }
  | { i32s: Int32Array | readonly number[] }
  | { f32s: Float32Array | readonly number[] };

export interface GgufTensor {
  name: string;
  /** ggml order: ne[0] is the contiguous dimension (an HF [out, in] matrix is [in, out]). */
  dims: number[];
  type: GgmlType;
  /** The tensor's bytes, produced when the writer reaches it. */
  data: () => Uint8Array;
}

/** Grows a byte buffer for the header (metadata with 128k-token vocabularies is a few MB). */
class Bytes {
  private buf = new Uint8Array(1 << 20);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private need(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number) { this.need(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number) { this.need(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  u64(v: number) { this.need(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  f32(v: number) { this.need(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  u8(v: number) { this.need(1); this.buf[this.length++] = v; }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.need(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  pad(align: number) { while (this.length % align) this.u8(0); }
  bytes(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeValue(b: Bytes, v: MetaValue): void {
  if ('u32' in v) { b.u32(T.UINT32); b.u32(v.u32); }
  else if ('f32' in v) { b.u32(T.FLOAT32); b.f32(v.f32); }
  else if ('bool' in v) { b.u32(T.BOOL); b.u8(v.bool ? 1 : 0); }
  else if ('str' in v) { b.u32(T.STRING); b.str(v.str); }
  else if ('strings' in v) { b.u32(T.ARRAY); b.u32(T.STRING); b.u64(v.strings.length); for (const s of v.strings) b.str(s); }
  else if ('i32s' in v) { b.u32(T.ARRAY); b.u32(T.INT32); b.u64(v.i32s.length); for (const x of v.i32s) b.i32(x); }
  else { b.u32(T.ARRAY); b.u32(T.FLOAT32); b.u64(v.f32s.length); for (const x of v.f32s) b.f32(x); }
}

export const GGUF_ALIGNMENT = 32;

/** Writes a GGUF v3 file; returns the bytes written. */
export function writeGguf(path: string, metadata: ReadonlyMap<string, MetaValue>, tensors: readonly GgufTensor[]): number {
  const h = new Bytes();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(metadata.size + 1);
  h.str('general.alignment');
  writeValue(h, { u32: GGUF_ALIGNMENT });
  for (const [k, v] of metadata) {
    h.str(k);
    writeValue(h, v);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const n = t.dims.reduce((p, d) => p * d, 1);
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(GGML_TYPE[t.type]);
    h.u64(offset);
    offsets.push(offset);
    offset += ggmlBytes(t.type, n);
    offset += (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
  }
  h.pad(GGUF_ALIGNMENT);
  const fd = openSync(path, 'w');
  let written = 0;
  const put = (bytes: Uint8Array) => {
    for (let p = 0; p < bytes.length; p += 1 << 28) written += writeSync(fd, bytes.subarray(p, Math.min(p + (1 << 28), bytes.length)));
  };
  try {
    put(h.bytes());
    const dataStart = written;
    tensors.forEach((t, k) => {
      const pad = dataStart + offsets[k]! - written;
      if (pad) put(new Uint8Array(pad));
      const bytes = t.data();
      const expected = ggmlBytes(t.type, t.dims.reduce((p, d) => p * d, 1));
      if (bytes.length !== expected) throw new Error(`GGUF ${path}: tensor ${t.name} has ${bytes.length} bytes, ${t.type} [${t.dims}] needs ${expected}`);
      put(bytes);
    });
  } finally {
    closeSync(fd);
  }
  return written;
}
