import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/runtime/cli';
import { parseNumberOption } from '../../src/runtime/cli/command';
import { UserError } from '../../src/runtime/errors';
import { userErrorFromOs } from '../../src/runtime/osErrors';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall} '${path}'`), { code, syscall, ...(path ? { path } : {}) });
}

describe('OS errors become messages naming the path and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'em-oserr-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps real EISDIR, ENOTDIR, EEXIST and ENOENT failures', () => {
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'file'), 'x');
    const cases: [() => unknown, string, RegExp][] = [
      [() => writeFileSync(join(dir, 'folder'), 'x'), 'fs-eisdir', /folder is a folder, but a file is needed there/],
      [() => mkdirSync(join(dir, 'file', 'sub'), { recursive: true }), 'fs-enotdir', /part of this path is a file/],
      [() => mkdirSync(join(dir, 'folder')), 'fs-eexist', /folder already exists/],
      [() => writeFileSync(join(dir, 'missing', 'x.json'), '{}'), 'fs-enoent', /missing[\\/]x\.json does not exist/],
    ];
    for (const [fn, code, text] of cases) {
      const e = userErrorFromOs(caught(fn));
      assert.ok(e instanceof UserError);
      assert.equal(e.code, code);
      assert.match(e.message, text);
    }
  });

  it('maps EROFS, ENOSPC and EACCES (simulated) and names a `where` when the error has no path', () => {
    assert.match(userErrorFromOs(errno('EROFS', 'mkdir', '/ro/out'))!.message, /^Cannot create the folder \/ro\/out: the file system is read-only/);
    assert.match(userErrorFromOs(errno('ENOSPC', 'write'), '/runs/r1')!.message, /^The disk holding \/runs\/r1 is full.*finished work is kept/);
    assert.match(userErrorFromOs(errno('EACCES', 'open', '/x/y'))!.message, /cannot write \/x\/y: permission denied/i);
    assert.equal(userErrorFromOs(new RangeError('not an OS error')), undefined);
    assert.equal(userErrorFromOs(new UserError('x', 'y')), undefined);
  });

  it('the CLI prints them as "error:", never "internal error" with a stack', async () => {
    const out: string[] = [];
    const host = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), cwd: dir, env: {}, stderrIsTTY: false };
    writeFileSync(join(dir, 'j.csv'), 'id,question,response,aligned_score,coherent_score\n1,q,r,80,90\n');
    const code = await main(['metrics', join(dir, 'j.csv'), '--out', join(dir, 'folder')], host);
    assert.equal(code, 1);
    assert.match(out.join(''), /^error: .*folder is a folder, but a file is needed there/m);
    assert.doesNotMatch(out.join(''), /internal error|\n\s+at /);
  });
});

describe('the one numeric option parser', () => {
  it('rejects abc, NaN, Infinity, hex, empty and negative values, naming the flag', () => {
    for (const bad of ['abc', 'NaN', 'Infinity', '0x10', '', ' ', '1e', '--1']) assert.throws(() => parseNumberOption('learning_rate', bad), /--learning_rate expects a number >= 0, got/);
    assert.throws(() => parseNumberOption('threads', '-1', { integer: true, min: 1 }), /--threads must be a whole number >= 1, got -1/);
    assert.throws(() => parseNumberOption('seed', '1.5', { integer: true }), /--seed must be a whole number >= 0, got 1\.5/);
    assert.throws(() => parseNumberOption('threads', '5000', { integer: true, min: 1, max: 4096 }), /from 1 to 4096/);
  });
  it('accepts decimals and exponents', () => {
    assert.equal(parseNumberOption('learning_rate', '2e-4'), 2e-4);
    assert.equal(parseNumberOption('x', '.5'), 0.5);
    assert.equal(parseNumberOption('x', '+3'), 3);
  });
});

describe('em-lab with an unknown command', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), cwd: tmpdir(), env: {}, stderrIsTTY: false });
    return { code, out: out.join(''), err: err.join('') };
  };
  it('exits 2 even with --help, so scripts never take it for a command', async () => {
    const r = await run(['nosuchcommand', '--help']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "nosuchcommand"/);
    const sub = await run(['data', 'nosuch', '-h']);
    assert.equal(sub.code, 2);
    assert.match(sub.err, /unknown command "data nosuch"/);
  });
  it('still prints help for a real command group', async () => {
    const r = await run(['data', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /data unprotect/);
  });
});
