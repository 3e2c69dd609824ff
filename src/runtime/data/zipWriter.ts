// A ZIP writer that produces what Python's zipfile writes by default: stored (no compression) entries,
// version 2.0, the UTF-8 flag only for non-ASCII names, DOS timestamps. Used by `em-lab data protect`.
// No zip64: archives over 4 GiB or 65 535 entries are refused (easy-dataset-share holds the whole archive in
// memory anyway).
import { crc32 } from 'node:zlib';
import { UserError } from '../errors';

export interface ZipInputEntry {
  /** Relative path with `/` separators; directories end with `/` and have no data. */
  name: string;
  data: Buffer;
  /** Modification time (local time, as DOS timestamps are). */
  mtime?: Date;
}

const VERSION = 20;
const LIMIT_32 = 0xffffffff;

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, Math.min(2107, d.getFullYear()));
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

export function writeZip(entries: ZipInputEntry[]): Buffer {
  if (entries.length > 0xffff) throw new UserError('archive-too-large', `${entries.length} files is more than a ZIP without zip64 holds (65 535); split the folder.`);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const flags = /[^\x00-\x7f]/.test(entry.name) ? 0x800 : 0;
    const crc = crc32(entry.data);
    const { time, date } = dosDateTime(entry.mtime ?? new Date());
    const isDir = entry.name.endsWith('/');
    // Unix mode in the high 16 bits (0o40775 dir / 0o100644 file), plus the MS-DOS directory bit, as zipfile does.
    const external = isDir ? ((0o40775 << 16) | 0x10) >>> 0 : (0o100644 << 16) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | VERSION, 4); // made by: Unix, 2.0
    central.writeUInt16LE(VERSION, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(entry.data.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(external, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, entry.data);
    centrals.push(central, name);
    offset += local.length + name.length + entry.data.length;
    if (offset > LIMIT_32) throw new UserError('archive-too-large', 'The folder holds more than 4 GiB; easy-dataset-share archives are kept in memory and cannot be that large. Protect smaller parts separately.');
  }
  const cdSize = centrals.reduce((n, b) => n + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, eocd]);
}
