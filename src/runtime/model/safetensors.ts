// safetensors reader and writer (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__}, then the raw bytes.
// The reader validates the whole header when a file is opened and reads one tensor at a time with positioned
// reads, so a 2.5 GB checkpoint is never in memory at once. Every corruption has its own error code.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tempPathFor } from '../atomicFiles';
import { UserError } from '../errors';
import type { FloatDType, HostTensor } from './hostTensor';
import { elementCount } from './hostTensor';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };
const FLOAT_OF: Partial<Record<SafetensorsDType, FloatDType>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };
const ST_OF: Record<FloatDType, SafetensorsDType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64' };
const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's limit
const CHUNK = 64 * 1024 * 1024; // Node refuses single reads/writes over 2 GiB

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

function corrupt(code: string, path: string, what: string): never {
  throw new UserError(code, `${path}: ${what}. The file is damaged or not a safetensors file: download or write it again (or delete it so it is re-made).`);
}

export class SafetensorsFile {
  private fd: number | undefined;
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string> = {};

  private constructor(readonly path: string) {}

  /** Opens and validates a file: header size, JSON, dtypes, shapes vs byte ranges, ranges vs file size. */
  static open(path: string): SafetensorsFile {
    const f = new SafetensorsFile(path);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new UserError('safetensors-missing', `${path}: cannot open (${(err as Error).message}). Check the model folder.`);
    }
    f.fd = fd;
    try {
      f.parseHeader(fstatSync(fd).size);
    } catch (err) {
      f.close();
      throw err;
    }
    return f;
  }

  private parseHeader(fileSize: number): void {
    const p = this.path;
    if (fileSize < 8) corrupt('safetensors-truncated', p, `only ${fileSize} bytes, shorter than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readSync(this.fd!, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER) corrupt('safetensors-header-invalid', p, `header length ${headerLen} exceeds ${MAX_HEADER} bytes`);
    if (8 + headerLen > fileSize) corrupt('safetensors-truncated', p, `header of ${headerLen} bytes runs past the end of the ${fileSize}-byte file`);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(this.fd!, headerBuf, 0, headerLen, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (err) {
      corrupt('safetensors-header-invalid', p, `header is not valid JSON (${(err as Error).message})`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) corrupt('safetensors-header-invalid', p, 'header is not a JSON object');
    const dataStart = 8 + headerLen;
    const dataLen = fileSize - dataStart;
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        Object.assign(this.metadata, entry);
        continue;
      }
      const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
        corrupt('safetensors-dtype-unsupported', p, `tensor "${name}" has dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
      }
      const shape = e.shape;
      if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) corrupt('safetensors-header-invalid', p, `tensor "${name}" has shape ${JSON.stringify(shape)}`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || off.some((o) => !Number.isInteger(o) || o < 0) || off[1] < off[0]) {
        corrupt('safetensors-header-invalid', p, `tensor "${name}" has data_offsets ${JSON.stringify(off)}`);
      }
      const [b, en] = off as [number, number];
      const dtype = e.dtype as SafetensorsDType;
      const expected = elementCount(shape as number[]) * DTYPE_BYTES[dtype];
      if (en - b !== expected) {
        corrupt('safetensors-shape-mismatch', p, `tensor "${name}" is ${dtype} [${(shape as number[]).join(', ')}] = ${expected} bytes but data_offsets span ${en - b} bytes`);
      }
      this.tensors.set(name, { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + en });
    }
    // Past the end: a download cut short (the tensors tile the data section, the file just stops early) or a
    // header pointing somewhere wrong (gaps/overlaps). Both are refused, with different codes.
    const sorted = [...this.tensors.values()].sort((x, y) => x.begin - y.begin || x.end - y.end);
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1]!, sorted[i]!];
      // two tensors sharing bytes: writing one would change the other (the reference implementation refuses too)
      if (b.begin < a.end && b.end > b.begin) corrupt('safetensors-offset-overlap', p, `tensors "${a.name}" and "${b.name}" overlap (bytes ${b.begin - dataStart}-${Math.min(a.end, b.end) - dataStart} of the data section)`);
    }
    const contiguous = sorted.every((t, i) => t.begin === (i === 0 ? dataStart : sorted[i - 1]!.end));
    for (const t of sorted) {
      if (t.end <= fileSize) continue;
      if (contiguous) corrupt('safetensors-truncated', p, `file is ${fileSize} bytes but its header describes ${sorted[sorted.length - 1]!.end} (tensor "${t.name}" is cut off): the file was cut short (an interrupted download or write)`);
      corrupt('safetensors-offset-out-of-range', p, `tensor "${t.name}" data_offsets end at byte ${t.end - dataStart} of the data section, which has only ${dataLen} bytes`);
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new UserError('safetensors-tensor-missing', `${this.path}: no tensor named "${name}". The checkpoint does not match its config.json.`);
    return t;
  }

  /** The raw bytes of one tensor (fresh, aligned buffer). */
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    const out = new Uint8Array(t.end - t.begin);
    for (let p = 0; p < out.length; p += CHUNK) {
      const n = Math.min(CHUNK, out.length - p);
      const got = readSync(this.fd, out, p, n, t.begin + p);
      if (got !== n) corrupt('safetensors-truncated', this.path, `tensor "${name}" could not be read completely (${got} of ${n} bytes)`);
    }
    return out;
  }

  /** A float tensor (F32, F16, BF16, F64) in its stored type. */
  read(name: string): HostTensor {
    const t = this.info(name);
    const dtype = FLOAT_OF[t.dtype];
    if (!dtype) throw new UserError('safetensors-dtype-unsupported', `${this.path}: tensor "${name}" is ${t.dtype}, not a float tensor.`);
    const bytes = this.readBytes(name);
    const data = dtype === 'float32' ? new Float32Array(bytes.buffer) : dtype === 'float64' ? new Float64Array(bytes.buffer) : new Uint16Array(bytes.buffer);
    return { dtype, shape: t.shape, data };
  }

  /** An integer tensor (I64 -> BigInt64Array, I32 -> Int32Array). */
  readInts(name: string): BigInt64Array | Int32Array {
    const t = this.info(name);
    const bytes = this.readBytes(name);
    if (t.dtype === 'I64') return new BigInt64Array(bytes.buffer);
    if (t.dtype === 'I32') return new Int32Array(bytes.buffer);
    throw new UserError('safetensors-dtype-unsupported', `${this.path}: tensor "${name}" is ${t.dtype}, not an integer tensor.`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Bytes now, or produced when written (then released), so big files stream with one tensor in memory. */
  data: ArrayBufferView | (() => ArrayBufferView);
}

/** A HostTensor as a writable entry in its own dtype. */
export function hostEntry(name: string, t: HostTensor): TensorToWrite {
  return { name, dtype: ST_OF[t.dtype], shape: t.shape, data: t.data };
}

export function safetensorsDType(dtype: FloatDType): SafetensorsDType {
  return ST_OF[dtype];
}

/** Writes a safetensors file atomically (temp name, then rename). Tensors are laid out in the order given. */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const len = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8); // data starts 8-byte aligned, as the reference writer does
  const headerBytes = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, lenBuf);
      writeSync(fd, headerBytes);
      for (const t of tensors) {
        const view = typeof t.data === 'function' ? t.data() : t.data;
        const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        const expected = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
        if (bytes.length !== expected) throw new Error(`writeSafetensors: "${t.name}" ${t.dtype} [${t.shape}] needs ${expected} bytes, got ${bytes.length}`);
        for (let p = 0; p < bytes.length; p += CHUNK) writeSync(fd, bytes.subarray(p, Math.min(p + CHUNK, bytes.length)));
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
