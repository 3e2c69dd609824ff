// An experiment whose base model cannot be fetched (offline: the Hub endpoint refuses connections) still runs every
// stage it can: base and train are recorded as blocked with the Hub's reason and what to do, the sweep as waiting
// for training, and the report is written and says what is missing. No model is loaded, so this is fast.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExperiment } from '../../src/runtime/experiment/experimentFile';
import { exitCodeOf, runExperiment, type RunnerEvent } from '../../src/runtime/experiment/runner';
import { experimentHandlers } from '../../src/runtime/experiment/handlers';

describe('experiment run with the base model out of reach', () => {
  let dir: string;
  const saved = process.env.HF_ENDPOINT;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-exp-offline-'));
    // training loads its model with the process environment; generation with the runner's env: both point here
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
  });
  after(() => {
    if (saved === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('records why each stage cannot run and what to do, and still writes the report', async () => {
    const e = createExperiment({ preset: 'quick', experimentsDir: join(dir, 'runs'), name: 'offline', data: { domains: ['bad_medical'] }, judge: { provider: 'none' } }, dir);
    assert.equal(e.experiment.model, 'meta-llama/Llama-3.2-1B-Instruct', 'the default model');
    const events: RunnerEvent[] = [];
    const status = await runExperiment({ path: e.file, storageDir: join(dir, 'storage'), env: { HF_ENDPOINT: 'http://127.0.0.1:9' }, signal: new AbortController().signal, onEvent: (ev) => void events.push(ev) });
    const by = Object.fromEntries(status.stages.map((s) => [s.id, s]));
    assert.equal(by.base!.status, 'blocked');
    assert.match(by.base!.reason!, /Cannot reach 127\.0\.0\.1:9/);
    assert.equal(by.base!.fixAction, 'check-network');
    assert.equal(by.train!.status, 'blocked');
    assert.match(by.train!.reason!, /Cannot reach/);
    assert.equal(by.sweep!.status, 'blocked');
    assert.equal(by.sweep!.fixAction, 'finish-training');
    assert.match(by.sweep!.fix!, /em-lab experiment run .*experiment\.json/);
    assert.equal(by.report!.status, 'done');
    assert.equal(exitCodeOf(status), 3);
    assert.ok(events.some((ev) => ev.type === 'stage' && ev.stage.id === 'train' && ev.stage.status === 'running'), 'each stage announced');
    const report = JSON.parse(readFileSync(join(e.dir, 'report', 'report.json'), 'utf8'));
    assert.equal(report.loss, null);
    assert.equal(report.byStep, null);
    assert.equal(report.notes.length, 4, report.notes.join('\n'));
    assert.ok(existsSync(join(e.dir, 'report', 'report.html')));
    // the runner is gone: status says not running, and nothing is left marked "running"
    const view = await experimentHandlers['experiment/status']({ path: e.dir });
    assert.equal(view.running, false);
    assert.equal((await experimentHandlers['experiment/cancel']({ path: e.dir })).signalled, false);
    const { experiments } = await experimentHandlers['experiment/list']({ experimentsDir: join(dir, 'runs') });
    assert.deepEqual(experiments.map((x) => x.name), ['offline']);
    const { presets, defaultModel, offlineModel } = await experimentHandlers['experiment/presets']();
    assert.deepEqual(presets.map((p) => p.id), ['quick', 'homework', 'paper']);
    assert.equal(defaultModel, 'meta-llama/Llama-3.2-1B-Instruct');
    assert.equal(offlineModel, 'tiny-llama');
  });
});
