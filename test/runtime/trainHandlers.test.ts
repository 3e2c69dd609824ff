import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainHandlers } from '../../src/runtime/train/handlers';
import type { HandlerContext } from '../../src/runtime/rpc/handlerTypes';
import type { RuntimeNotifications } from '../../src/protocol/methods';

// train/start runs a detached trainer process; train/watch streams its metrics; train/pause stops it after a
// step with a checkpoint; train/resume continues it to the end.
describe('train/* handlers with a detached trainer process', function () {
  this.timeout(240_000);
  let dir: string;
  const notes: RuntimeNotifications['train/progress'][] = [];
  const ctx = (): HandlerContext => ({
    signal: new AbortController().signal,
    progress: () => undefined,
    notify: (method, params) => void (method === 'train/progress' && notes.push(params as RuntimeNotifications['train/progress'])),
    storageDir: join(dir, 'storage'),
    env: { ...process.env, EM_LAB_CLI: resolve('dist/cli.js') },
  });
  before(function () {
    if (!existsSync(resolve('dist/cli.js'))) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'emlab-train-handlers-'));
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Say ${i}.` }, { role: 'assistant', content: `${i}.` }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('start -> watch -> pause -> resume -> finished, with progress notifications', async () => {
    // 8 rows / batch 2 = 4 steps an epoch. Long enough that the pause lands while it runs: with 16 steps an idle
    // machine finished the run before the first progress notification reached the test (pause then had no trainer).
    const epochs = 20;
    const steps = 4 * epochs;
    const config = { dataFiles: ['data.jsonl'], numEpochs: epochs, batchSize: 2, gradientAccumulationSteps: 1, maxLength: 48, loraRank: 2, warmupSteps: 0, loraDropout: 0 };
    const { runDir } = await trainHandlers['train/start']({ config, runsDir: join(dir, 'runs'), workspaceDir: dir }, ctx());
    // pause as soon as the first step is on disk
    const watching = trainHandlers['train/watch']({ runDir }, ctx());
    while (!notes.some((n) => n.metrics.length)) await new Promise((r) => setTimeout(r, 100));
    const { signalled } = await trainHandlers['train/pause']({ runDir });
    if (!signalled) assert.fail(`pause found no running trainer; the run is ${JSON.stringify((await trainHandlers['train/status']({ runDir }, ctx())).run.status)}`);
    const { run: paused } = await watching;
    assert.equal(paused.status, 'paused');
    assert.ok(paused.step >= 1 && paused.step < steps, `paused at ${paused.step}`);
    assert.ok(paused.checkpoints.includes(`step-${paused.step}`), 'a checkpoint at the pause step');
    await trainHandlers['train/resume']({ runDir, workspaceDir: dir }, ctx());
    await new Promise((r) => setTimeout(r, 300));
    const { run: done } = await trainHandlers['train/watch']({ runDir }, ctx());
    assert.equal(done.status, 'finished', done.reason);
    assert.equal(done.step, steps);
    const { metrics } = await trainHandlers['train/status']({ runDir }, ctx());
    assert.deepEqual(metrics.map((m) => m.step), Array.from({ length: steps }, (_, i) => i + 1));
    const { runs } = await trainHandlers['train/list']({ runsDir: join(dir, 'runs') }, ctx());
    assert.equal(runs.length, 1);
    assert.ok(notes.length >= 2);
  });
});
