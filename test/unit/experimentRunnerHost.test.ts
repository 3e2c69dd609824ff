// One runner per experiment folder when the folder is shared by several machines (a SLURM task requeued onto
// another node): a runner entry of this host is judged by its pid, one of another host by its heartbeat, watched in
// the shared folder (no clock comparison between machines) before a new runner takes over.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExperiment } from '../../src/runtime/experiment/experimentFile';
import { runExperiment } from '../../src/runtime/experiment/runner';
import { liveRunner, readStatus, runnerEntry, runnerStillBeating, thisHost, writeStatus, RUNNER_STALE_MS, type RunnerEntry } from '../../src/runtime/experiment/statusFile';
import { UserError } from '../../src/runtime/errors';

/** A pid that exists on no machine here: beyond Linux's pid_max. */
const DEAD_PID = 4_194_304 + 17;

describe('experiment runner: one per folder across hosts', function () {
  this.timeout(60_000);
  let dir: string;
  const entry = (over: Partial<RunnerEntry>): RunnerEntry => ({ ...runnerEntry(DEAD_PID), ...over });
  const setRunner = (r: RunnerEntry | undefined) => writeStatus(dir, { ...readStatus(dir), ...(r ? { runner: r } : { runner: undefined }) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-runnerhost-'));
    writeFileSync(join(dir, 'train.jsonl'), JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }) + '\n');
    createExperiment({ preset: 'quick', dir: join(dir, 'exp'), name: 'hosts', model: 'tiny-llama', data: { files: [join(dir, 'train.jsonl')] }, judge: { provider: 'none' } });
    dir = join(dir, 'exp');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('views: this host by pid, another host by heartbeat age', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    assert.equal(liveRunner({ schemaVersion: 1, stages: {}, runner: runnerEntry(process.pid) })?.pid, process.pid);
    assert.equal(liveRunner({ schemaVersion: 1, stages: {}, runner: entry({}) }), undefined, 'a dead pid on this host');
    assert.equal(liveRunner({ schemaVersion: 1, stages: {}, runner: { pid: DEAD_PID, startedAt: '', heartbeat: '' } }), undefined, 'no host recorded: this host');
    const beat = (ms: number) => new Date(now - ms).toISOString();
    // the pid would be dead here, but it is another machine's pid: the heartbeat decides
    assert.ok(liveRunner({ schemaVersion: 1, stages: {}, runner: entry({ host: 'node-7', heartbeat: beat(5_000) }) }, now));
    assert.ok(liveRunner({ schemaVersion: 1, stages: {}, runner: entry({ host: 'node-7', heartbeat: beat(-30_000) }) }, now), 'a clock 30 s ahead');
    assert.equal(liveRunner({ schemaVersion: 1, stages: {}, runner: entry({ host: 'node-7', heartbeat: beat(RUNNER_STALE_MS + 1) }) }, now), undefined);
  });

  it('a starting runner watches another host\'s heartbeat: changing = alive, unchanged or removed = gone', async () => {
    const other = entry({ host: `${thisHost()}-other` });
    setRunner(other);
    const t = setTimeout(() => setRunner({ ...other, heartbeat: new Date(Date.now() + 1).toISOString() }), 150);
    assert.equal(await runnerStillBeating(dir, other, { watchMs: 3000, pollMs: 20 }), true);
    clearTimeout(t);
    const still = readStatus(dir).runner!;
    const t0 = Date.now();
    assert.equal(await runnerStillBeating(dir, still, { watchMs: 400, pollMs: 20 }), false);
    assert.ok(Date.now() - t0 >= 400, 'watched for the whole window');
    setTimeout(() => setRunner(undefined), 50);
    assert.equal(await runnerStillBeating(dir, still, { watchMs: 3000, pollMs: 20 }), false, 'the entry was removed: that runner finished');
  });

  it('runExperiment: refuses while another host beats, takes over once it stops; a dead local pid is no obstacle', async () => {
    const other = entry({ host: 'node-7' });
    setRunner(other);
    let n = 0;
    const beating = setInterval(() => setRunner({ ...other, heartbeat: new Date(Date.now() + ++n).toISOString() }), 50);
    const common = { path: dir, storageDir: join(dir, 'storage'), env: {}, signal: new AbortController().signal, only: ['report' as const], watchOtherRunnerMs: 2000 };
    await assert.rejects(runExperiment(common), (err: unknown) => err instanceof UserError && err.code === 'experiment-running' && /on node-7/.test(err.message) && /scancel/.test(err.message));
    clearInterval(beating);
    const logs: string[] = [];
    const s = await runExperiment({ ...common, watchOtherRunnerMs: 300, onEvent: (ev) => void (ev.type === 'log' && logs.push(ev.message)) });
    assert.equal(s.stages.find((x) => x.id === 'report')!.status, 'done');
    assert.ok(logs.some((l) => /the runner on node-7 stopped beating/.test(l)), logs.join('\n'));
    assert.equal(readStatus(dir).runner, undefined, 'the runner removes its entry when it ends');

    setRunner(entry({})); // this host, a pid that is gone (e.g. a task requeued onto the same node)
    const t0 = Date.now();
    await runExperiment({ ...common, watchOtherRunnerMs: 30_000 });
    assert.ok(Date.now() - t0 < 20_000, 'no heartbeat watch for a local entry');
  });
});
