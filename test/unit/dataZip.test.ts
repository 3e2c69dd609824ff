import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { listZipEntries, readZipEntry, safeEntryPath } from '../../src/runtime/data/zipReader';
import { writeZip } from '../../src/runtime/data/zipWriter';
import { UserError } from '../../src/runtime/errors';

interface HandEntry {
  name: string;
  data: Buffer;
  deflate?: boolean;
  zip64?: boolean;
  /** Override the CRC written in the headers (to test the check). */
  crc?: number;
}

/** Builds a ZIP by hand from the APPNOTE layout: optional deflate, zip64 sizes/offsets and zip64 end records. */
function handZip(entries: HandEntry[], forceZip64End: boolean): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const z64Extra = Buffer.alloc(4 + 16);
    z64Extra.writeUInt16LE(1, 0);
    z64Extra.writeUInt16LE(16, 2);
    z64Extra.writeBigUInt64LE(BigInt(e.data.length), 4);
    z64Extra.writeBigUInt64LE(BigInt(body.length), 12);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.zip64 ? 0xffffffff : body.length, 18);
    local.writeUInt32LE(e.zip64 ? 0xffffffff : e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(e.zip64 ? z64Extra.length : 0, 28);
    const localExtra = e.zip64 ? z64Extra : Buffer.alloc(0);
    // Central zip64 extra: uncompressed, compressed, local header offset (all three forced to 0xFFFFFFFF).
    const cExtra = Buffer.alloc(4 + 24);
    cExtra.writeUInt16LE(1, 0);
    cExtra.writeUInt16LE(24, 2);
    cExtra.writeBigUInt64LE(BigInt(e.data.length), 4);
    cExtra.writeBigUInt64LE(BigInt(body.length), 12);
    cExtra.writeBigUInt64LE(BigInt(offset), 20);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4);
    c.writeUInt16LE(e.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(e.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(e.zip64 ? cExtra.length : 0, 30);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : offset, 42);
    parts.push(local, name, localExtra, body);
    central.push(c, name, e.zip64 ? cExtra : Buffer.alloc(0));
    offset += local.length + name.length + localExtra.length + body.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (forceZip64End) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(forceZip64End ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(forceZip64End ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(forceZip64End ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(forceZip64End ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    return err.code;
  }
  return assert.fail('expected an error');
}

const text = Buffer.from('The quick brown fox jumps over the lazy dog.\n'.repeat(500) + 'é ünïcödé 😀\n');

describe('data: ZIP reader and writer', () => {
  it('reads zip64 records and deflate entries, matching the original bytes', () => {
    const zip = handZip(
      [
        { name: 'a/deflated.txt', data: text, deflate: true, zip64: true },
        { name: 'stored.bin', data: Buffer.from([0, 1, 2, 255]), zip64: true },
        { name: 'plain.txt', data: Buffer.from('plain') },
      ],
      true,
    );
    const entries = listZipEntries(zip);
    assert.deepEqual(entries.map((e) => [e.name, e.method, e.uncompressedSize]), [['a/deflated.txt', 8, text.length], ['stored.bin', 0, 4], ['plain.txt', 0, 5]]);
    assert.ok(entries[0]!.compressedSize < text.length / 10, 'deflate really compressed');
    assert.deepEqual(readZipEntry(zip, entries[0]!), text);
    assert.deepEqual(readZipEntry(zip, entries[1]!), Buffer.from([0, 1, 2, 255]));
    assert.equal(readZipEntry(zip, entries[2]!).toString(), 'plain');
  });

  it('refuses an entry whose CRC-32 does not match its data', () => {
    const zip = handZip([{ name: 'x.txt', data: text, deflate: true, crc: (crc32(text) ^ 1) >>> 0 }], false);
    assert.equal(codeOf(() => readZipEntry(zip, listZipEntries(zip)[0]!)), 'corrupt-archive');
  });

  it('refuses zip-slip names: parent segments, absolute paths, drive letters, backslashes', () => {
    for (const bad of ['../evil.txt', 'a/../../evil.txt', '/etc/passwd', 'C:/Windows/x', 'a\\..\\..\\evil', '..']) {
      assert.equal(codeOf(() => safeEntryPath(bad)), 'unsafe-archive-path', bad);
      const zip = handZip([{ name: 'ok.txt', data: Buffer.from('ok') }, { name: bad, data: Buffer.from('x') }], false);
      assert.equal(codeOf(() => listZipEntries(zip)), 'unsafe-archive-path', bad);
    }
    assert.equal(safeEntryPath('./a//b/./c.txt'), 'a/b/c.txt');
    assert.equal(safeEntryPath('dir\\file.txt'), 'dir/file.txt');
    assert.equal(safeEntryPath('a..b/..c'), 'a..b/..c');
  });

  it('reports garbage and truncated data as a corrupt archive', () => {
    const zip = writeZip([{ name: 'a.txt', data: text }]);
    assert.equal(codeOf(() => listZipEntries(Buffer.from('not a zip at all, just text'))), 'corrupt-archive');
    assert.equal(codeOf(() => listZipEntries(zip.subarray(0, zip.length - 30))), 'corrupt-archive');
    const cut = Buffer.concat([zip.subarray(0, 100), zip.subarray(zip.length - 200)]);
    assert.throws(() => readZipEntry(cut, listZipEntries(cut)[0]!), UserError);
  });

  it('writes stored entries that its reader and the headers agree on (names, CRC, directories)', () => {
    const entries = [
      { name: 'dir/', data: Buffer.alloc(0) },
      { name: 'dir/nested/deep.jsonl', data: Buffer.from('{"a": 1}\n') },
      { name: 'ünï.txt', data: text },
    ];
    const zip = writeZip(entries);
    const listed = listZipEntries(zip);
    assert.deepEqual(listed.map((e) => [e.name, e.isDirectory, e.method, e.crc32]), [['dir', true, 0, 0], ['dir/nested/deep.jsonl', false, 0, crc32(entries[1]!.data)], ['ünï.txt', false, 0, crc32(text)]]);
    assert.deepEqual(readZipEntry(zip, listed[2]!), text);
    // The UTF-8 flag (bit 11) is set only for the non-ASCII name, as Python's zipfile does.
    assert.equal(zip.readUInt16LE(6), 0);
  });

  const hasZip = spawnSync('zip', ['-v']).status === 0 && spawnSync('unzip', ['-v']).status === 0;
  (hasZip ? it : it.skip)('agrees with Info-ZIP: reads `zip -fz` (zip64, deflate) output, and `unzip -t` accepts our writer', function () {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-zip-'));
    try {
      mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
      writeFileSync(join(dir, 'in', 'sub', 'text.txt'), text);
      writeFileSync(join(dir, 'in', 'small.txt'), 'small');
      execFileSync('zip', ['-q', '-r', '-fz', '-9', join(dir, 'info.zip'), '.'], { cwd: join(dir, 'in') });
      const zip = readFileSync(join(dir, 'info.zip'));
      const files = listZipEntries(zip).filter((e) => !e.isDirectory);
      const byName = new Map(files.map((e) => [e.name, readZipEntry(zip, e)]));
      assert.deepEqual(byName.get('sub/text.txt'), text);
      assert.equal(byName.get('small.txt')?.toString(), 'small');
      assert.ok(files.some((e) => e.method === 8), 'Info-ZIP used deflate');
      writeFileSync(join(dir, 'ours.zip'), writeZip([{ name: 'sub/text.txt', data: text }, { name: 'small.txt', data: Buffer.from('small') }]));
      const out = execFileSync('unzip', ['-t', join(dir, 'ours.zip')]).toString();
      assert.match(out, /No errors detected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!hasZip) it('Info-ZIP cross-check skipped: `zip`/`unzip` not installed (apt-get install zip unzip)', () => undefined);
});
