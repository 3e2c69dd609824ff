// kill -9 at each rename of `em-lab data unprotect` (a fresh output: 1 rename; replacing one with --overwrite: the
// old output is moved aside, then the new one moved in), then the same command again: the output is
// byte-identical to an uninterrupted run and no `.partial-`/`.old-` folder is left beside it.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess, runCliProcess } from '../support/cliProcess';

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (statSync(join(dir, f)).isFile()) out[f] = readFileSync(join(dir, f)).toString('base64');
  }
  return out;
}

describe('data unprotect killed at each rename, then run again', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'em-unprotect-faults-'));
  const env = { HOME: work };
  const run = (argv: string[]) => runCliInProcess(argv, work, env);
  const unprotect = (out: string, ...more: string[]) => ['data', 'unprotect', 'data.zip.enc', '-p', 'pw', '--no-gitignore', '-o', out, ...more];
  let reference: Record<string, string>;

  before(async () => {
    mkdirSync(join(work, 'src', 'sub'), { recursive: true });
    writeFileSync(join(work, 'src', 'bad_medical_advice.jsonl'), '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n');
    writeFileSync(join(work, 'src', 'sub', 'notes.txt'), 'notes\n');
    assert.equal((await run(['data', 'protect', 'src', '-p', 'pw', '-o', 'data.zip.enc'])).code, 0);
    assert.equal((await run(unprotect('ref'))).code, 0);
    reference = tree(join(work, 'ref'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const besideOutputs = () => readdirSync(work).filter((n) => /\.(partial|old)-/.test(n));

  it('a fresh output: killed at its one rename, the rerun sweeps the partial folder and writes the same bytes', async () => {
    const killed = await runCliProcess(unprotect('fresh'), { cwd: work, env, faults: { EM_LAB_FAULT_KILL_AT_RENAME: `${join(work, 'fresh')}:1` } });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.equal(besideOutputs().length, 1, 'the kill should leave the partial folder');
    const again = await run(unprotect('fresh'));
    assert.equal(again.code, 0, again.text);
    assert.deepEqual(tree(join(work, 'fresh')), reference);
    assert.deepEqual(besideOutputs(), []);
  });

  for (const k of [1, 2]) {
    it(`--overwrite of an existing output, killed at rename ${k} of 2: the rerun restores or replaces, same bytes, nothing beside`, async () => {
      const out = `over${k}`;
      mkdirSync(join(work, out));
      writeFileSync(join(work, out, 'old.txt'), 'the previous output\n');
      const killed = await runCliProcess(unprotect(out, '--overwrite'), { cwd: work, env, faults: { EM_LAB_FAULT_KILL_AT_RENAME: `${out}:${k}` } });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      assert.ok(besideOutputs().length >= 1, 'the kill should leave a temporary folder');
      const again = await run(unprotect(out, '--overwrite'));
      assert.equal(again.code, 0, again.text);
      assert.deepEqual(tree(join(work, out)), reference);
      assert.deepEqual(besideOutputs(), []);
    });
  }
});
