// The sidebar reads run folders from disk (src/views/sidebar/sidebarFolders.ts): a run whose training process died
// must not read "running" forever. Runs inside the extension host, where the sidebar itself runs.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRuns } from '../../src/views/sidebar/sidebarFolders';

describe('Sidebar: runs', () => {
  it('shows a running run whose process is gone as crashed, and keeps the status of live or finished runs', () => {
    const root = mkdtempSync(join(tmpdir(), 'emlab-sidebar-'));
    try {
      // A pid that certainly existed and is gone now: a child that already exited.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      const write = (name: string, run: object) => {
        mkdirSync(join(root, name), { recursive: true });
        writeFileSync(join(root, name, 'run.json'), JSON.stringify(run));
      };
      write('a-dead', { status: 'running', pid: dead });
      write('b-live', { status: 'running', pid: process.pid });
      write('c-done', { status: 'finished', pid: dead });
      write('exp1/train', { status: 'finished', pid: dead });
      const byName = Object.fromEntries(listRuns(root).map((r) => [r.name, r.status]));
      assert.deepEqual(byName, { 'a-dead': 'crashed', 'b-live': 'running', 'c-done': 'finished', 'exp1/train': 'finished' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
