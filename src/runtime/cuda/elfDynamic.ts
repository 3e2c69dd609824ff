// Reads the dynamic section of an ELF64 shared library: DT_NEEDED (the sonames the loader must find), DT_RUNPATH,
// DT_RPATH and DT_SONAME. Written here instead of shelling out to `ldd`/`readelf` because those may be missing
// (minimal containers, Windows WSL images) and `ldd` executes the library's loader. Reads only the headers and the
// dynamic/string tables with positional reads, so a 600 MB CUDA provider library costs a few KiB of I/O.
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors';

export interface ElfDynamicInfo {
  /** e_machine: 62 = x86-64, 183 = AArch64. */
  machine: number;
  soname?: string;
  /** DT_NEEDED sonames, in file order (the loader's search order). */
  needed: string[];
  /** DT_RUNPATH entries (colon-separated in the file), unexpanded ($ORIGIN stays). */
  runpath: string[];
  /** DT_RPATH entries (used only when there is no DT_RUNPATH). */
  rpath: string[];
}

export const ELF_MACHINE = { x86_64: 62, aarch64: 183 } as const;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

function notElf(path: string, why: string): UserError {
  return new UserError('not-elf', `${path} is not a readable 64-bit little-endian ELF shared library (${why}). Point EM Lab at the .so file from the package's runtimes/linux-x64/native/ folder.`);
}

/** Parses the dynamic section of the ELF64 little-endian file at `path`. Throws UserError('not-elf') otherwise. */
export function readElfDynamic(path: string): ElfDynamicInfo {
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      const got = readSync(fd, buf, 0, length, offset);
      if (got !== length) throw notElf(path, `truncated at byte ${offset + got}`);
      return buf;
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46) throw notElf(path, 'no ELF magic');
    if (header[4] !== 2) throw notElf(path, '32-bit ELF');
    if (header[5] !== 1) throw notElf(path, 'big-endian ELF');
    const machine = header.readUInt16LE(18);
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    if (phentsize < 56 || phnum === 0) throw notElf(path, 'no program headers');
    const table = read(phoff, phentsize * phnum);
    const segments: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const p = i * phentsize;
      segments.push({
        type: table.readUInt32LE(p),
        offset: Number(table.readBigUInt64LE(p + 8)),
        vaddr: Number(table.readBigUInt64LE(p + 16)),
        filesz: Number(table.readBigUInt64LE(p + 32)),
      });
    }
    const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamic) return { machine, needed: [], runpath: [], rpath: [] }; // statically linked
    // DT_STRTAB holds a virtual address: map it to a file offset through the PT_LOAD segment that contains it.
    const fileOffset = (vaddr: number): number => {
      const seg = segments.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
      if (!seg) throw notElf(path, `address 0x${vaddr.toString(16)} is in no loaded segment`);
      return vaddr - seg.vaddr + seg.offset;
    };
    const dyn = read(dynamic.offset, dynamic.filesz);
    const entries: { tag: bigint; value: bigint }[] = [];
    for (let p = 0; p + 16 <= dyn.length; p += 16) {
      const tag = dyn.readBigInt64LE(p);
      if (tag === DT_NULL) break;
      entries.push({ tag, value: dyn.readBigUInt64LE(p + 8) });
    }
    const strtab = entries.find((e) => e.tag === DT_STRTAB);
    const strsz = entries.find((e) => e.tag === DT_STRSZ);
    if (!strtab || !strsz) throw notElf(path, 'dynamic section without a string table');
    const strings = read(fileOffset(Number(strtab.value)), Number(strsz.value));
    const str = (offset: bigint): string => {
      const start = Number(offset);
      const end = strings.indexOf(0, start);
      if (start >= strings.length || end < 0) throw notElf(path, `string offset ${start} outside the string table`);
      return strings.toString('utf8', start, end);
    };
    const split = (s: string) => s.split(':').filter(Boolean);
    const info: ElfDynamicInfo = { machine, needed: [], runpath: [], rpath: [] };
    for (const e of entries) {
      if (e.tag === DT_NEEDED) info.needed.push(str(e.value));
      else if (e.tag === DT_SONAME) info.soname = str(e.value);
      else if (e.tag === DT_RUNPATH) info.runpath.push(...split(str(e.value)));
      else if (e.tag === DT_RPATH) info.rpath.push(...split(str(e.value)));
    }
    return info;
  } finally {
    closeSync(fd);
  }
}
