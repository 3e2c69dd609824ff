// Damaged and malicious easy-dataset-share archives, each decrypted with `em-lab data unprotect`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { rawZip, type RawEntry } from '../../support/rawZip';
import { conv, PASSWORD, type BadCase, type CorpusContext } from './types';

const GOOD = Buffer.from(conv('q', 'a') + '\n');

/** Writes `data.zip.enc` holding these entries and returns the unprotect arguments. */
function archive(dir: string, ctx: CorpusContext, entries: RawEntry[], extra: string[] = []): string[] {
  writeFileSync(join(dir, 'data.zip.enc'), ctx.encrypt(rawZip(entries)));
  return ['data', 'unprotect', 'data.zip.enc', '-p', PASSWORD, '--no-gitignore', ...extra];
}

function unprotectInto(dir: string, ctx: CorpusContext, out: string): string[] {
  return archive(dir, ctx, [{ name: 'bad_medical_advice.jsonl', data: GOOD }], ['-o', out]);
}

export const ARCHIVE_CASES: BadCase[] = [
  {
    kind: 'archive', name: 'a 1 GiB entry whose directory declares 100 bytes (zip bomb)',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'bomb.jsonl', method: 8, compressed: ctx.bomb, declaredSize: 100, crc: 0 }]),
    expect: /"bomb\.jsonl" inflates to more than the 100 bytes the directory declares/,
    process: { rssMiB: 500 },
  },
  {
    kind: 'archive', name: 'a 1 GiB entry declared as such (over 200:1, refused before inflating)',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'bomb.jsonl', method: 8, compressed: ctx.bomb, declaredSize: 2 ** 30, crc: 0 }]),
    expect: /"bomb\.jsonl" claims 1073741824 bytes from \d+ compressed .*zip bomb/,
    process: { rssMiB: 500 },
  },
  {
    kind: 'archive', name: 'both a file "a" and a file "a/b.jsonl"',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'a', data: GOOD }, { name: 'a/b.jsonl', data: GOOD }]),
    expect: /"a" is both a file and a folder/,
  },
  {
    kind: 'archive', name: 'the same entry name twice (last would win)',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'x.jsonl', data: GOOD }, { name: 'x.jsonl', data: Buffer.from('other\n') }]),
    expect: /the entry "x\.jsonl" appears twice/,
  },
  {
    kind: 'archive', name: 'a CRC-32 that does not match',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'x.jsonl', data: GOOD, crc: (crc32(GOOD) ^ 1) >>> 0 }]),
    expect: /CRC-32 mismatch in "x\.jsonl"/,
  },
  {
    kind: 'archive', name: 'an entry climbing out with ../',
    make: (dir, ctx) => archive(dir, ctx, [{ name: '../evil.jsonl', data: GOOD }]),
    expect: /climbs out of the output folder \("\.\.\/evil\.jsonl"\)/,
    check: (dir) => {
      if (require('node:fs').existsSync(join(dir, '..', 'evil.jsonl'))) throw new Error('evil.jsonl was written outside');
    },
  },
  {
    kind: 'archive', name: 'an absolute entry path',
    make: (dir, ctx) => archive(dir, ctx, [{ name: '/tmp/evil.jsonl', data: GOOD }]),
    expect: /entry with an absolute path \("\/tmp\/evil\.jsonl"\)/,
  },
  {
    kind: 'archive', name: 'compression method 12 (bzip2)',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'x.jsonl', data: GOOD, method: 12 }]),
    expect: /"x\.jsonl" uses compression method 12/,
  },
  {
    kind: 'archive', name: 'ZIP encryption flag',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'x.jsonl', data: GOOD, flags: 1 }]),
    expect: /"x\.jsonl" uses ZIP's own encryption/,
  },
  {
    kind: 'archive', name: 'an archive with no files',
    make: (dir, ctx) => archive(dir, ctx, []),
    expect: /data\.zip\.enc decrypts to an archive with no files/,
  },
  {
    kind: 'archive', name: 'decrypts to bytes that are not a ZIP',
    make: (dir, ctx) => {
      writeFileSync(join(dir, 'data.zip.enc'), ctx.encrypt(Buffer.from('this is not a zip file at all, just text')));
      return ['data', 'unprotect', 'data.zip.enc', '-p', PASSWORD];
    },
    expect: /not a valid ZIP archive \(no end-of-central-directory record\)/,
  },
  {
    kind: 'archive', name: 'wrong password',
    make: (dir, ctx) => archive(dir, ctx, [{ name: 'x.jsonl', data: GOOD }]).map((a) => (a === PASSWORD ? 'not-the-password' : a)),
    expect: /Wrong password for .*data\.zip\.enc/,
  },
  {
    kind: 'archive', name: 'cut short after 1000 bytes',
    make: (dir, ctx) => {
      writeFileSync(join(dir, 'data.zip.enc'), ctx.encrypt(rawZip([{ name: 'x.jsonl', data: Buffer.alloc(5000, 0x61) }])).subarray(0, 1000));
      return ['data', 'unprotect', 'data.zip.enc', '-p', PASSWORD];
    },
    expect: /data\.zip\.enc.*(truncated|not valid|signature)/,
  },
  {
    kind: 'archive', name: 'a 10-byte file',
    make: (dir) => {
      writeFileSync(join(dir, 'data.zip.enc'), Buffer.alloc(10));
      return ['data', 'unprotect', 'data.zip.enc', '-p', PASSWORD];
    },
    expect: /data\.zip\.enc is only 10 bytes: too short/,
  },
  {
    kind: 'archive', name: 'no such archive',
    make: () => ['data', 'unprotect', 'missing.zip.enc', '-p', PASSWORD],
    expect: /No archive at .*missing\.zip\.enc/,
  },
  {
    kind: 'archive', name: 'the archive path is a folder',
    make: (dir) => {
      mkdirSync(join(dir, 'folder.zip.enc'));
      return ['data', 'unprotect', 'folder.zip.enc', '-p', PASSWORD];
    },
    expect: /folder\.zip\.enc is a folder, not an archive/,
  },
  {
    kind: 'archive', name: '-o names an existing file',
    make: (dir, ctx) => {
      writeFileSync(join(dir, 'out'), 'x');
      return unprotectInto(dir, ctx, 'out');
    },
    expect: /The output path .*out exists and is not a folder/,
  },
  {
    kind: 'archive', name: '-o is a non-empty folder without --overwrite',
    make: (dir, ctx) => {
      mkdirSync(join(dir, 'out'));
      writeFileSync(join(dir, 'out', 'keep.txt'), 'mine');
      return unprotectInto(dir, ctx, 'out');
    },
    expect: /The output folder .*out already exists and is not empty.*--overwrite/,
  },
  {
    kind: 'archive', name: '-o on a read-only file system (EROFS)',
    make: (dir, ctx) => unprotectInto(dir, ctx, 'ro/out'),
    process: { rssMiB: 500, faults: (dir) => ({ EM_LAB_FAULT_ERRNO: `EROFS:${join(dir, 'ro')}` }) },
    expect: /Cannot create the folder .*ro.*: the file system is read-only/,
  },
  {
    kind: 'archive', name: '-o on a full disk (ENOSPC)',
    make: (dir, ctx) => unprotectInto(dir, ctx, 'full/out'),
    process: { rssMiB: 500, faults: (dir) => ({ EM_LAB_FAULT_ERRNO: `ENOSPC:${join(dir, 'full', '.out.partial')}` }) },
    expect: /The disk holding .*full[\\/]out is full/,
  },
  {
    kind: 'archive', name: '-o where a parent is a file (ENOTDIR)',
    make: (dir, ctx) => {
      writeFileSync(join(dir, 'afile'), 'x');
      return unprotectInto(dir, ctx, 'afile/out');
    },
    expect: /afile is a file, where a folder is needed/,
  },
];
