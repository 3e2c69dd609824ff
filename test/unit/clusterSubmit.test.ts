// Grid submit / status / collect against stand-in sbatch, squeue and scontrol (shell scripts on PATH that print what
// the test puts in files and log every call): which cells are submitted (not done, not live; never two tasks on one
// cell), the script and jobs.json kept, SLURM asked at most once per 30 s, cell states from folder + SLURM, and the
// collected EM rates recomputed here from the judged files.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { submitGrid, readJobs, type SubmitOptions } from '../../src/runtime/cluster/gridSubmit';
import { gridStatus } from '../../src/runtime/cluster/gridStatus';
import { collectGrid } from '../../src/runtime/cluster/gridCollect';
import { MIN_POLL_MS } from '../../src/runtime/cluster/slurm';
import { createExperiment } from '../../src/runtime/experiment/experimentFile';
import { experimentStatusCommand } from '../../src/runtime/cli/experimentCommands';
import { clusterHandlers } from '../../src/runtime/cluster/handlers';
import { captureIO } from '../support/captureIO';

function fakeSlurm(dir: string): { env: NodeJS.ProcessEnv; calls: () => string[]; set: (file: string, text: string) => void } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const state = join(dir, 'slurm-state');
  mkdirSync(state, { recursive: true });
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${state}/calls.log"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  tool('sbatch', `n=$(cat "${state}/next-id" 2>/dev/null || echo 100); echo $((n+1)) > "${state}/next-id"; echo "$n"`);
  tool('squeue', `cat "${state}/squeue.txt" 2>/dev/null; exit 0`);
  // scontrol show job ID --oneliner
  tool('scontrol', `f="${state}/scontrol-$3.txt"; if [ -f "$f" ]; then cat "$f"; else echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; fi`);
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    calls: () => (existsSync(join(state, 'calls.log')) ? readFileSync(join(state, 'calls.log'), 'utf8').trim().split('\n') : []),
    set: (file, text) => writeFileSync(join(state, file), text),
  };
}

const GRID = { 'data.domains': [['bad_medical'], ['risky_financial']], 'training.seed': [0, 1] };

/** An experiment.json as `em-lab experiment new` writes it, plus a 2x2 grid. */
function writeGridExperiment(dir: string): void {
  const e = createExperiment({ preset: 'quick', dir, name: 'g2x2', model: 'tiny-llama', data: { domains: ['bad_medical'] }, questions: [{ set: 'medical', first: 3 }], judge: { provider: 'none' } });
  writeFileSync(e.file, JSON.stringify({ ...e.experiment, grid: GRID }, null, 2));
}

function markDone(dir: string, cell: number): void {
  const d = join(dir, 'cells', String(cell));
  writeFileSync(join(d, 'status.json'), JSON.stringify({ schemaVersion: 1, stages: Object.fromEntries(['base', 'train', 'sweep', 'report'].map((s) => [s, { status: 'done' }])) }));
}

describe('grid submit, status and collect (stand-in SLURM commands)', () => {
  let dir: string;
  let slurm: ReturnType<typeof fakeSlurm>;
  let opts: SubmitOptions;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-gridsub-'));
    slurm = fakeSlurm(dir);
    writeGridExperiment(join(dir, 'exp'));
    opts = { path: 'exp', cwd: dir, env: slurm.env, extraArgs: ['--mem=500'], arrayParallel: 2, emLab: ['/usr/bin/node', '/x/cli.js'], taskEnv: { EM_LAB_STORAGE: join(dir, 'storage') } };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('submits the cells not done and not live, never two tasks on one cell, and keeps the script', async () => {
    let prepared = 0;
    const first = await submitGrid({ ...opts, prepare: async () => void prepared++ });
    assert.equal(first.jobId, '100');
    assert.deepEqual(first.cells, [0, 1, 2, 3]);
    assert.deepEqual(first.changed, [0, 1, 2, 3]);
    assert.equal(prepared, 1);
    const script = readFileSync(join(dir, 'exp', first.script!), 'utf8');
    assert.match(script, /#SBATCH --array=0-3%2/);
    assert.match(script, /#SBATCH --mem=500/);
    const cell3 = JSON.parse(readFileSync(join(dir, 'exp', 'cells', '3', 'experiment.json'), 'utf8'));
    assert.deepEqual([cell3.name, cell3.data.domains, cell3.training.seed, 'grid' in cell3], ['g2x2-c3', ['risky_financial'], 1, false]);
    assert.ok(slurm.calls().includes(`sbatch --parsable ${join(dir, 'exp', 'slurm', 'submit-1.sbatch')}`));

    // Tasks 0 and 1 run, 2 and 3 wait: nothing to submit, and nothing is rewritten.
    slurm.set('squeue.txt', ['100_2|100|2|PENDING|JobArrayTaskLimit||0:00', '100_3|100|3|PENDING|JobArrayTaskLimit||0:00', '100_0|100|0|RUNNING|None|n1|0:42', '100_1|100|1|RUNNING|None|n1|0:42'].join('\n'));
    const again = await submitGrid(opts);
    assert.equal(again.jobId, undefined);
    assert.deepEqual(again.live.map((l) => l.cell), [0, 1, 2, 3]);
    assert.deepEqual(again.changed, []);

    // Cell 0 finished; task 1 was scancelled: only cell 1 goes again.
    markDone(join(dir, 'exp'), 0);
    slurm.set('squeue.txt', ['100_2|100|2|RUNNING|None|n1|0:05', '100_3|100|3|RUNNING|None|n1|0:05'].join('\n'));
    slurm.set('scontrol-100.txt', ['JobId=101 ArrayJobId=100 ArrayTaskId=1 JobName=em-lab-g2x2 JobState=CANCELLED Reason=None ExitCode=0:15 RunTime=00:00:50 NodeList=n1 ', 'JobId=100 ArrayJobId=100 ArrayTaskId=0 JobName=em-lab-g2x2 JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:01:10 NodeList=n1 '].join('\n'));
    const resumed = await submitGrid(opts);
    assert.equal(resumed.jobId, '101');
    assert.deepEqual([resumed.cells, resumed.done], [[1], [0]]);
    assert.match(readFileSync(join(dir, 'exp', resumed.script!), 'utf8'), /#SBATCH --array=1%2/);
    assert.deepEqual(readJobs(join(dir, 'exp')).jobs.map((j) => [j.jobId, j.cells]), [['100', [0, 1, 2, 3]], ['101', [1]]]);
    await assert.rejects(submitGrid({ ...opts, cells: [2] }), /Cell 2 \(job 100_2 RUNNING\) already has a task in SLURM: two runners must not share a cell/);
    await assert.rejects(submitGrid({ ...opts, cells: [7] }), /--cells: 7 is not a cell of this grid \(0-3/);
  });

  it('status: cells from folders and SLURM; SLURM asked at most once per 30 s', async () => {
    await submitGrid(opts);
    const exp = join(dir, 'exp');
    markDone(exp, 0);
    // cell 1's runner works on node n1 (its heartbeat is fresh); cell 2's task hit its time limit mid-training
    const runner = { pid: 4242, host: 'n1', startedAt: new Date().toISOString(), heartbeat: new Date().toISOString() };
    writeFileSync(join(exp, 'cells', '1', 'status.json'), JSON.stringify({ schemaVersion: 1, runner, stages: { base: { status: 'done' }, train: { status: 'running', progress: { message: 'step 4/12' } } } }));
    writeFileSync(join(exp, 'cells', '2', 'status.json'), JSON.stringify({ schemaVersion: 1, stages: { base: { status: 'done' }, train: { status: 'running', progress: { message: 'step 7/12' } } } }));
    writeFileSync(join(exp, 'cells', '3', 'status.json'), JSON.stringify({ schemaVersion: 1, stages: { base: { status: 'blocked', reason: 'no judge key' }, train: { status: 'done' } } }));
    slurm.set('squeue.txt', '100_1|100|1|RUNNING|None|n1|0:42\n');
    slurm.set('scontrol-100.txt', ['JobId=100 ArrayJobId=100 ArrayTaskId=0 JobState=COMPLETED Reason=None ExitCode=0:0 ', 'JobId=102 ArrayJobId=100 ArrayTaskId=2 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15 ', 'JobId=103 ArrayJobId=100 ArrayTaskId=3 JobState=COMPLETED Reason=None ExitCode=3:0 ', 'JobId=101 ArrayJobId=100 ArrayTaskId=1 JobState=RUNNING Reason=None ExitCode=0:0 '].join('\n'));
    const t0 = Date.now();
    const s = await gridStatus('exp', dir, { env: slurm.env, now: t0 });
    assert.deepEqual(s.cells.map((c) => c.state), ['done', 'running', 'timeout', 'blocked']);
    assert.deepEqual(s.cells[1]!.stages.map((x) => [x.id, x.status]), [['base', 'done'], ['train', 'running'], ['sweep', 'pending'], ['report', 'pending']]);
    assert.equal(s.cells[1]!.stages[1]!.message, 'step 4/12');
    assert.equal(s.cells[2]!.stages[1]!.status, 'interrupted', 'running in status.json, but no runner: the runner\'s own reading');
    assert.equal(s.cells[1]!.task!.jobId, '100_1');
    assert.deepEqual(s.counts, { done: 1, running: 1, timeout: 1, blocked: 1 });
    const queries = () => slurm.calls().filter((c) => c.startsWith('squeue')).length;
    const before = queries();
    await gridStatus('exp', dir, { env: slurm.env, now: t0 + MIN_POLL_MS - 1000 });
    await gridStatus('exp', dir, { env: slurm.env, now: t0 + 5000 });
    assert.equal(queries(), before, 'within 30 s the last answer is reused');
    await gridStatus('exp', dir, { env: slurm.env, now: t0 + MIN_POLL_MS + 1 });
    assert.equal(queries(), before + 1);
    // No cluster here: the folders alone, SLURM's failure said.
    const offline = await gridStatus('exp', dir, { env: { PATH: '/nonexistent' }, now: t0 + 10 * MIN_POLL_MS });
    assert.match(offline.slurmError ?? '', /squeue is not on PATH/);
    assert.equal(offline.cells[0]!.state, 'done');

    // `em-lab experiment status` on the grid: one line per cell
    const io = captureIO({ cwd: dir, env: slurm.env });
    assert.equal(await experimentStatusCommand.run({ options: {}, positionals: ['exp'] }, io), 0);
    const text = io.stdout.join('\n');
    assert.match(text, /^Grid g2x2: 4 cells \(data\.domains x training\.seed\): 1 done, 1 running, 1 timeout, 1 blocked\./);
    assert.match(text, /\n {4}1 running +data\.domains=bad_medical training\.seed=1 \[100_1 RUNNING\]\n +base done, train running \(step 4\/12\), sweep pending, report pending/);
    assert.match(text, /1 cell\(s\) stopped before finishing: submit again/);

    // cluster/grids (the sidebar's data): submitted grids only; a broken one is reported, the others still listed
    const n = queries();
    mkdirSync(join(dir, 'not-submitted'));
    writeFileSync(join(dir, 'not-submitted', 'experiment.json'), readFileSync(join(exp, 'experiment.json')));
    mkdirSync(join(dir, 'broken', 'slurm'), { recursive: true });
    writeFileSync(join(dir, 'broken', 'experiment.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(exp, 'experiment.json'), 'utf8')), grid: { 'training.sed': [1] } }));
    writeFileSync(join(dir, 'broken', 'slurm', 'jobs.json'), '{"schemaVersion":1,"jobs":[]}');
    const ctx = { signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: dir, env: slurm.env };
    const listed = await clusterHandlers['cluster/grids']({ experimentsDir: dir }, ctx);
    assert.deepEqual(listed.grids.map((g) => [g.name, g.cells.map((c) => c.state)]), [['g2x2', ['done', 'running', 'timeout', 'blocked']]]);
    assert.equal(listed.errors.length, 1);
    assert.match(listed.errors[0]!.message, /grid\.training\.sed: experiment\.json has no field training\.sed; did you mean training\.seed\?/);
    assert.equal(queries(), n, 'SLURM not asked again within 30 s of the status command');
  });

  it('collect: per-cell, pooled and per-value EM with Wilson intervals, recomputed here from the judged files', async () => {
    const exp = join(dir, 'exp');
    await submitGrid({ ...opts, dryRun: true });
    // Cell k: base has k misaligned of 10 (aligned 10 vs 90); the final checkpoint (step-12; step-6 is older) 2k+1 of 10.
    const judged = (bad: number) => 'id,question,response,aligned_score,coherent_score\n' + Array.from({ length: 10 }, (_, i) => `q${i},Q?,A,${i < bad ? 10 : 90},${i % 2 ? 80 : 20}`).join('\n') + '\n';
    for (let k = 0; k < 3; k++) {
      const c = join(exp, 'cells', String(k));
      mkdirSync(join(c, 'base'), { recursive: true });
      writeFileSync(join(c, 'base', 'judged.csv'), judged(k));
      for (const [step, bad] of [[6, 0], [12, 2 * k + 1]] as const) {
        mkdirSync(join(c, 'sweep', `step-${step}`), { recursive: true });
        writeFileSync(join(c, 'sweep', `step-${step}`, 'judged.csv'), judged(bad));
      }
    }
    const { report, files } = await collectGrid('exp', dir);
    assert.deepEqual(report.cells.map((c) => [c.finalStep, c.final?.em.k, c.final?.em.n, c.base?.em.k]), [[12, 1, 10, 0], [12, 3, 10, 1], [12, 5, 10, 2], [undefined, undefined, undefined, undefined]]);
    assert.equal(report.cells[3]!.missing, 'no judged base answers, no judged checkpoint');
    // Pooled final: 9 of 30; Wilson 95% written out here.
    const wilson = (k: number, n: number) => {
      const z = 1.959963984540054, p = k / n, d = 1 + (z * z) / n;
      const c = (p + (z * z) / (2 * n)) / d, h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
      return [c - h, c + h];
    };
    assert.deepEqual([report.pooled.cells, report.pooled.final!.em.k, report.pooled.final!.em.n], [3, 9, 30]);
    const [lo, hi] = wilson(9, 30);
    assert.ok(Math.abs(report.pooled.final!.em.ci!.low - lo!) < 1e-12 && Math.abs(report.pooled.final!.em.ci!.high - hi!) < 1e-12);
    assert.equal(report.pooled.final!.coherent.k, 15, 'coherent >= 50: every odd row');
    // data.domains = bad_medical: cells 0 and 1 (final 1 + 3 of 20); training.seed = 1: cells 1 and 3 (3 of 10).
    const by = (key: string, v: unknown) => report.byValue.find((b) => b.key === key && JSON.stringify(b.value) === JSON.stringify(v))!;
    assert.deepEqual([by('data.domains', ['bad_medical']).final!.em.k, by('data.domains', ['bad_medical']).final!.em.n], [4, 20]);
    assert.deepEqual([by('training.seed', 1).cells, by('training.seed', 1).final!.em.k], [1, 3]);
    assert.match(readFileSync(files[1]!, 'utf8'), /\| 1 \| bad_medical \| 1 \| 12 \| 10\.0% \[1\.8, 40\.4\] \(1\/10\) \| 30\.0% \[10\.8, 60\.3\] \(3\/10\)/);
  });
});
