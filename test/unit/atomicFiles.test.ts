import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepStaleTemps, tempOwner, writeFileAtomic } from '../../src/runtime/atomicFiles';
import { lockRunDir } from '../../src/runtime/train/runLock';

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('atomic writes and the sweep of stale temporary files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'em-atomic-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the pid out of both temporary-name forms', () => {
    assert.equal(tempOwner('adapter_model.safetensors.tmp-1234'), 1234);
    assert.equal(tempOwner('.data.partial-77-0a1b2c3d'), 77);
    assert.equal(tempOwner('.data.old-77-0a1b2c3d'), 77);
    assert.equal(tempOwner('metrics.jsonl'), undefined);
    assert.equal(tempOwner('step-4'), undefined);
  });

  it('removes leftovers of dead processes only: live writers and other files stay', () => {
    const dead = deadPid();
    const d = join(dir, 'sweep');
    mkdirSync(join(d, `step-4.tmp-${dead}`), { recursive: true });
    writeFileSync(join(d, `run.json.tmp-${dead}`), '{');
    writeFileSync(join(d, `.data.partial-${dead}-deadbeef`), '');
    writeFileSync(join(d, `run.json.tmp-${process.ppid}`), '{'); // a live process (our parent) is writing this one
    writeFileSync(join(d, 'run.json'), '{}');
    const removed = sweepStaleTemps(d);
    assert.equal(removed.length, 3);
    assert.deepEqual(readdirSync(d).sort(), ['run.json', `run.json.tmp-${process.ppid}`].sort());
  });

  it('leaves no temporary file when the write fails, and the old content intact', () => {
    const target = join(dir, 'x.json');
    writeFileSync(target, 'old');
    mkdirSync(`${target}.tmp-${process.pid}`); // the temp name is taken by a folder: writeFileSync fails
    assert.throws(() => writeFileAtomic(target, 'new'), /EISDIR/);
    rmSync(`${target}.tmp-${process.pid}`, { recursive: true });
    assert.equal(readFileSync(target, 'utf8'), 'old');
    writeFileAtomic(target, 'new');
    assert.equal(readFileSync(target, 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });
});

describe('the run-directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'em-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second trainer while the first is alive, naming its pid; takes over a stale lock', () => {
    writeFileSync(join(dir, 'train.lock'), JSON.stringify({ pid: process.ppid, since: 'then' }));
    assert.throws(() => lockRunDir(dir), (e: Error) => e.message.includes(`pid ${process.ppid}`) && (e as { code?: string }).code === 'train-locked');
    writeFileSync(join(dir, 'train.lock'), JSON.stringify({ pid: deadPid(), since: 'then' }));
    const lock = lockRunDir(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'train.lock'), 'utf8')).pid, process.pid);
    lock.release();
    assert.equal(existsSync(join(dir, 'train.lock')), false);
  });
});
