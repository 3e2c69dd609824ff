// The SLURM Grids view's rows and refresh policy, on a grid status as the runtime's cluster/grids returns it.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GridStatusView } from '../../src/protocol/clusterTypes';
import { cellRow, gridDescription, needsPolling, submittedGridDirs } from '../../src/views/grids/gridTree';

const stages = (statuses: string[], message?: string) => ['base', 'train', 'sweep', 'report'].map((id, i) => ({ id, status: statuses[i]!, ...(message && statuses[i] === 'running' ? { message } : {}) }));

const GRID: GridStatusView = {
  dir: '/x/em-lab-runs/g',
  name: 'g',
  keys: ['data.domains', 'training.seed'],
  jobs: [{ jobId: '12', script: 'slurm/submit-1.sbatch', cells: [0, 1, 2, 3], submittedAt: '2026-12-06T10:00:00Z' }],
  counts: { done: 1, running: 1, pending: 1, cancelled: 1 },
  cells: [
    { index: 0, label: 'data.domains=bad_medical training.seed=0', values: {}, dir: 'cells/0', state: 'done', stages: stages(['done', 'done', 'done', 'done']), task: { jobId: '12_0', state: 'COMPLETED', exitCode: '0:0' } },
    { index: 1, label: 'data.domains=bad_medical training.seed=1', values: {}, dir: 'cells/1', state: 'running', stages: stages(['done', 'running', 'pending', 'pending'], 'step 4/12'), task: { jobId: '12_1', state: 'RUNNING', nodes: 'n3', log: '/x/em-lab-runs/g/slurm/logs/12_1.out' } },
    { index: 2, label: 'data.domains=risky_financial training.seed=0', values: {}, dir: 'cells/2', state: 'pending', stages: stages(['pending', 'pending', 'pending', 'pending']), task: { jobId: '12_2', state: 'PENDING', reason: 'JobArrayTaskLimit' } },
    { index: 3, label: 'data.domains=risky_financial training.seed=1', values: {}, dir: 'cells/3', state: 'cancelled', stages: stages(['done', 'interrupted', 'pending', 'pending']), task: { jobId: '12_3', state: 'CANCELLED', exitCode: '0:15' } },
  ],
};

describe('SLURM Grids view', () => {
  it('a grid row counts its cells by state; a cell row names its state, busy stage and task', () => {
    assert.equal(gridDescription(GRID), '1 done, 1 running, 1 pending, 1 cancelled');
    const running = cellRow(GRID.cells[1]!);
    assert.equal(running.label, '1: domains=bad_medical seed=1');
    assert.equal(running.description, 'running · train running: step 4/12 · 12_1 RUNNING on n3');
    assert.equal(running.icon, 'sync~spin');
    assert.match(running.tooltip, /Click to open the task's log/);
    const cancelled = cellRow(GRID.cells[3]!);
    assert.equal(cancelled.description, 'cancelled · train interrupted · 12_3 CANCELLED');
    assert.match(cancelled.tooltip, /SLURM task 12_3: CANCELLED, exit 0:15\nClick to reveal the cell folder\./);
    assert.equal(cellRow(GRID.cells[0]!).description, 'done · 12_0 COMPLETED');
  });

  it('polls only while a cell is pending or running', () => {
    assert.equal(needsPolling([GRID]), true);
    const settled = { ...GRID, cells: GRID.cells.map((c) => ({ ...c, state: c.index === 3 ? ('cancelled' as const) : ('done' as const) })) };
    assert.equal(needsPolling([settled]), false);
    assert.equal(needsPolling([]), false);
  });

  it('asks the runtime only when a folder holds a submitted grid', () => {
    const root = mkdtempSync(join(tmpdir(), 'emlab-gridview-'));
    try {
      assert.deepEqual(submittedGridDirs(join(root, 'absent')), []);
      mkdirSync(join(root, 'plain'));
      writeFileSync(join(root, 'plain', 'experiment.json'), '{}');
      mkdirSync(join(root, 'grid', 'slurm'), { recursive: true });
      writeFileSync(join(root, 'grid', 'slurm', 'jobs.json'), '{"schemaVersion":1,"jobs":[]}');
      assert.deepEqual(submittedGridDirs(root), [join(root, 'grid')]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
