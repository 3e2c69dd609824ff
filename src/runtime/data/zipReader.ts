// A ZIP reader for archives held in memory: stored and deflate entries, zip64, CRC-32 checked against the
// central directory, and entry names made safe (no absolute paths, no `..`, so nothing is ever written outside
// the output folder: "zip-slip"). Encrypted entries and other compression methods are refused with a clear error.
import { crc32, inflateRawSync } from 'node:zlib';
import { UserError } from '../errors';

export interface ZipEntry {
  /** Relative path with `/` separators, already checked to stay inside the output folder. */
  name: string;
  isDirectory: boolean;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

// Zip-bomb limits. Deflate cannot beat about 1032:1, and the EM datasets (JSONL text) compress about 5:1, so an
// entry claiming more than 200x its compressed size once past 16 MiB is refused before it is inflated; and no
// entry may inflate past the size the directory declares (inflateRawSync's maxOutputLength stops it there).
const MAX_RATIO = 200;
const RATIO_FREE_BYTES = 16 * 1024 * 1024;
/** Total bytes an archive may extract to: the whole archive is held in memory (easyDatasetShare.ts). */
export const MAX_EXTRACTED_BYTES = 2 * 1024 * 1024 * 1024;

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;
// Code page 437, bytes 0x80-0xFF: the legacy encoding of entry names without the UTF-8 flag (bit 11).
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╪╫╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function corrupt(detail: string): UserError {
  return new UserError('corrupt-archive', `The decrypted data is not a valid ZIP archive (${detail}); the archive file is damaged or was not made by easy-dataset-share. Download it again.`);
}

function decodeName(bytes: Buffer, utf8: boolean): string {
  if (utf8 || bytes.every((b) => b < 0x80)) return bytes.toString('utf8');
  let s = '';
  for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

/**
 * Returns the entry's path as a safe relative path, or throws. Backslashes count as separators (Windows
 * archivers), `.` segments are dropped; absolute paths, drive letters and `..` segments are rejected.
 */
export function safeEntryPath(rawName: string): string {
  const name = rawName.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0')) {
    throw new UserError('unsafe-archive-path', `The archive contains an entry with an absolute path ("${rawName}"). Refusing to extract it, since it would be written outside the output folder; the archive is malicious or damaged.`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new UserError('unsafe-archive-path', `The archive contains an entry that climbs out of the output folder ("${rawName}"). Refusing to extract anything; the archive is malicious or damaged.`);
  }
  return parts.join('/');
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const stop = Math.max(0, zip.length - 22 - MAX_COMMENT);
  for (let p = zip.length - 22; p >= stop; p--) {
    if (zip.readUInt32LE(p) === SIG_EOCD && p + 22 + zip.readUInt16LE(p + 20) <= zip.length) return p;
  }
  throw corrupt('no end-of-central-directory record');
}

function readBig(zip: Buffer, at: number, what: string): number {
  const v = zip.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} too large`);
  return Number(v);
}

/** Lists the entries from the central directory (zip64 aware), validating names and bounds. */
export function listZipEntries(zip: Buffer): ZipEntry[] {
  if (zip.length < 22) throw corrupt('too short');
  const eocd = findEndOfCentralDirectory(zip);
  let count = zip.readUInt16LE(eocd + 10);
  let cdSize = zip.readUInt32LE(eocd + 12);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || zip.readUInt32LE(locator) !== SIG_ZIP64_LOCATOR) throw corrupt('zip64 locator missing');
    const z64 = readBig(zip, locator + 8, 'zip64 record offset');
    if (z64 + 56 > zip.length || zip.readUInt32LE(z64) !== SIG_ZIP64_EOCD) throw corrupt('zip64 end record missing');
    count = readBig(zip, z64 + 32, 'entry count');
    cdSize = readBig(zip, z64 + 40, 'central directory size');
    cdOffset = readBig(zip, z64 + 48, 'central directory offset');
  }
  if (cdOffset + cdSize > zip.length) throw corrupt('central directory beyond the end of the data');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt(`central directory entry ${n + 1} is damaged`);
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    let compressedSize = zip.readUInt32LE(p + 20);
    let uncompressedSize = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    let localHeaderOffset = zip.readUInt32LE(p + 42);
    const rawName = decodeName(zip.subarray(p + 46, p + 46 + nameLen), (flags & 0x800) !== 0);
    // zip64 extended information (header 0x0001): only the fields whose 32-bit slot is 0xFFFFFFFF, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = zip.readUInt16LE(e);
      const size = zip.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) {
          uncompressedSize = readBig(zip, q, 'entry size');
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = readBig(zip, q, 'entry size');
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = readBig(zip, q, 'entry offset');
      }
      e += 4 + size;
    }
    if (flags & 0x1) {
      throw new UserError('unsupported-archive', `The ZIP entry "${rawName}" uses ZIP's own encryption, which EM Lab does not support. Re-create the archive without a ZIP password.`);
    }
    const isDirectory = rawName.endsWith('/') || rawName.endsWith('\\');
    const name = safeEntryPath(rawName);
    if (name === '' && !isDirectory) throw corrupt(`an entry has an empty name ("${rawName}")`);
    if (!isDirectory && uncompressedSize > RATIO_FREE_BYTES && uncompressedSize > MAX_RATIO * compressedSize) {
      throw corrupt(`"${name}" claims ${uncompressedSize} bytes from ${compressedSize} compressed (over ${MAX_RATIO}:1): a zip bomb`);
    }
    entries.push({ name, isDirectory, method, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  checkEntryNames(entries);
  const total = entries.reduce((n, e) => n + e.uncompressedSize, 0);
  if (total > MAX_EXTRACTED_BYTES) throw corrupt(`its entries add up to ${total} bytes, more than the ${MAX_EXTRACTED_BYTES} EM Lab extracts`);
  return entries;
}

/** Two entries with one name, or a name that is both a file and a folder, would overwrite each other. */
function checkEntryNames(entries: ZipEntry[]): void {
  const files = new Set<string>();
  const folders = new Set<string>();
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    if (e.isDirectory) {
      if (e.name) folders.add(e.name);
      continue;
    }
    if (files.has(e.name)) throw corrupt(`the entry "${e.name}" appears twice, and one copy would silently replace the other`);
    files.add(e.name);
  }
  for (const f of files) if (folders.has(f)) throw corrupt(`"${f}" is both a file and a folder`);
}

/** The entry's bytes, decompressed and CRC-checked. */
export function readZipEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const h = entry.localHeaderOffset;
  if (h + 30 > zip.length || zip.readUInt32LE(h) !== SIG_LOCAL) throw corrupt(`local header of "${entry.name}" missing`);
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const end = start + entry.compressedSize;
  if (end > zip.length) throw corrupt(`"${entry.name}" runs past the end of the data`);
  const raw = zip.subarray(start, end);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      // one byte of headroom tells "too long" apart from "exactly as declared"
      data = inflateRawSync(raw, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw corrupt(`"${entry.name}" inflates to more than the ${entry.uncompressedSize} bytes the directory declares`);
      throw corrupt(`"${entry.name}" does not inflate: ${(err as Error).message}`);
    }
  } else {
    throw new UserError('unsupported-archive', `The ZIP entry "${entry.name}" uses compression method ${entry.method}; EM Lab reads only stored (0) and deflate (8) entries. Re-create the archive with standard ZIP settings.`);
  }
  if (data.length !== entry.uncompressedSize) throw corrupt(`"${entry.name}" is ${data.length} bytes, the directory says ${entry.uncompressedSize}`);
  if (crc32(data) !== entry.crc32) throw corrupt(`CRC-32 mismatch in "${entry.name}"`);
  return data;
}
