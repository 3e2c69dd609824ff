// Writes a minimal ELF64 little-endian shared object: a header, one PT_LOAD covering the file (at a virtual address
// different from the file offset, so readers must map DT_STRTAB through it), a PT_DYNAMIC segment with DT_NEEDED /
// DT_SONAME / DT_RUNPATH entries, and the string table. Not loadable (no code), but enough for dependency readers.
export interface FakeElfSpec {
  needed: string[];
  soname?: string;
  runpath?: string;
  rpath?: string;
  /** e_machine (default 62 = x86-64). */
  machine?: number;
}

const BASE_VADDR = 0x400000;

export function fakeElf(spec: FakeElfSpec): Buffer {
  const strings: string[] = [''];
  const strOffset = (s: string): number => {
    let off = 0;
    for (const x of strings) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    strings.push(s);
    return off;
  };
  const dyn: [bigint, number][] = spec.needed.map((n) => [1n, strOffset(n)]);
  if (spec.soname) dyn.push([14n, strOffset(spec.soname)]);
  if (spec.rpath) dyn.push([15n, strOffset(spec.rpath)]);
  if (spec.runpath) dyn.push([29n, strOffset(spec.runpath)]);
  const strtab = Buffer.concat(strings.map((s) => Buffer.from(s + '\0')));
  const dynOff = 64 + 2 * 56;
  const dynSize = (dyn.length + 3) * 16; // + STRTAB, STRSZ, NULL
  const strOff = dynOff + dynSize;
  const size = strOff + strtab.length;
  const b = Buffer.alloc(size);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(spec.machine ?? 62, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(2, 56); // e_phnum
  const phdr = (at: number, type: number, offset: number, filesz: number) => {
    b.writeUInt32LE(type, at);
    b.writeUInt32LE(4, at + 4);
    b.writeBigUInt64LE(BigInt(offset), at + 8);
    b.writeBigUInt64LE(BigInt(BASE_VADDR + offset), at + 16);
    b.writeBigUInt64LE(BigInt(BASE_VADDR + offset), at + 24);
    b.writeBigUInt64LE(BigInt(filesz), at + 32);
    b.writeBigUInt64LE(BigInt(filesz), at + 40);
  };
  phdr(64, 1, 0, size); // PT_LOAD
  phdr(64 + 56, 2, dynOff, dynSize); // PT_DYNAMIC
  let p = dynOff;
  const entry = (tag: bigint, value: number) => {
    b.writeBigInt64LE(tag, p);
    b.writeBigUInt64LE(BigInt(value), p + 8);
    p += 16;
  };
  for (const [tag, value] of dyn) entry(tag, value);
  entry(5n, BASE_VADDR + strOff); // DT_STRTAB (a virtual address)
  entry(10n, strtab.length); // DT_STRSZ
  entry(0n, 0);
  strtab.copy(b, strOff);
  return b;
}
