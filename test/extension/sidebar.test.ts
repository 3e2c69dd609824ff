// The Experiment sidebar's Runs section reads run folders from disk: a run whose training process died must not
// read "running" forever.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMarkedFolders } from '../../src/views/sidebar/experimentTree';

describe('Experiment sidebar: runs', () => {
  it('shows a running run whose process is gone as crashed, and keeps the status of live or finished runs', () => {
    const root = mkdtempSync(join(tmpdir(), 'emlab-sidebar-'));
    try {
      // A pid that certainly existed and is gone now: a child that already exited.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      const write = (name: string, run: object) => {
        mkdirSync(join(root, name));
        writeFileSync(join(root, name, 'run.json'), JSON.stringify(run));
      };
      write('a-dead', { status: 'running', pid: dead });
      write('b-live', { status: 'running', pid: process.pid });
      write('c-done', { status: 'finished', pid: dead });
      const byName = Object.fromEntries(listMarkedFolders(root, 'run.json').map((r) => [r.name, r.status]));
      assert.deepEqual(byName, { 'a-dead': 'crashed', 'b-live': 'running', 'c-done': 'finished' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
