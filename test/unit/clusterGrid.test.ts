// Grid expansion, the sbatch script, and SLURM's squeue / scontrol output (captured from the one-node Debian
// slurm-wlm 22.05 cluster of scripts/slurm-local.sh: an --array=0-3%2 job with task 1 scancelled, task 2 exiting 2).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellExperiment, expandGrid, parseGrid, type JsonObject } from '../../src/runtime/cluster/grid';
import { arraySpec, parseArraySpec, parseSbatchOutput, sbatchScript, shellQuote, type SbatchOptions } from '../../src/runtime/cluster/sbatch';
import { mergeTasks, parseScontrolJobs, parseScontrolRecord, parseSqueue } from '../../src/runtime/cluster/slurmParse';

const base: JsonObject = {
  schemaVersion: 1,
  kind: 'em-lab-experiment',
  name: 'grid1',
  preset: 'quick',
  model: 'tiny-llama',
  data: { domains: ['bad_medical'], files: ['extra/mine.jsonl'], dataDir: '../data' },
  training: { seed: 0, loraRank: 16, learningRate: 0.001 },
  evaluation: { questions: [{ set: 'medical', first: 3 }, { file: 'q/first_plot_questions.yaml' }], seed: 0 },
  judge: { provider: 'none', model: 'gpt-4o-mini', prompts: 'judges.yaml' },
  grid: { 'data.domains': [['bad_medical'], ['risky_financial', 'extreme_sports']], 'training.seed': [0, 1, 2] },
};

describe('experiment grids for SLURM', () => {
  it('expands row-major over the keys in file order (the last key varies fastest)', () => {
    const cells = expandGrid(parseGrid(base, 'experiment.json')!);
    assert.equal(cells.length, 6);
    assert.deepEqual(cells.map((c) => [c.values['data.domains'], c.values['training.seed']]), [
      [['bad_medical'], 0], [['bad_medical'], 1], [['bad_medical'], 2],
      [['risky_financial', 'extreme_sports'], 0], [['risky_financial', 'extreme_sports'], 1], [['risky_financial', 'extreme_sports'], 2],
    ]);
    assert.equal(cells[4]!.label, 'data.domains=risky_financial+extreme_sports training.seed=1');
  });

  it('a cell is an ordinary experiment: values set, grid gone, named -c<K>, relative paths rebased two levels up', () => {
    const [, , , , c4] = expandGrid(parseGrid(base, 'experiment.json')!);
    const x = cellExperiment(base, c4!);
    assert.equal('grid' in x, false);
    assert.equal(x.name, 'grid1-c4');
    assert.deepEqual((x.data as JsonObject).domains, ['risky_financial', 'extreme_sports']);
    assert.equal((x.training as JsonObject).seed, 1);
    assert.equal((x.training as JsonObject).loraRank, 16);
    assert.equal((x.data as JsonObject).dataDir, '../../../data');
    assert.deepEqual((x.data as JsonObject).files, ['../../extra/mine.jsonl']);
    assert.equal((x.judge as JsonObject).prompts, '../../judges.yaml');
    assert.deepEqual((x.evaluation as JsonObject).questions, [{ set: 'medical', first: 3 }, { file: '../../q/first_plot_questions.yaml' }]);
    assert.match(String(x.description), /^Cell 4 of the grid grid1: data\.domains=risky_financial\+extreme_sports training\.seed=1\./);
    assert.equal((base.training as JsonObject).seed, 0, 'the grid experiment is not changed');
    // Absolute paths, Hub ids and tiny-llama stay as written.
    const abs = cellExperiment({ ...base, model: 'meta-llama/Llama-3.2-1B-Instruct', data: { domains: [], files: ['/abs/x.jsonl'] } }, c4!);
    assert.equal(abs.model, 'meta-llama/Llama-3.2-1B-Instruct');
    assert.deepEqual((abs.data as JsonObject).files, ['/abs/x.jsonl']);
    assert.equal(cellExperiment({ ...base, model: 'models/my-llama-folder/sub' }, c4!).model, '../../models/my-llama-folder/sub');
  });

  it('refuses a grid a user can get wrong, naming the field and the fix', () => {
    const bad = (grid: unknown) => () => parseGrid({ ...base, grid: grid as JsonObject }, 'exp/experiment.json');
    assert.throws(bad({}), /exp\/experiment\.json: grid is empty/);
    assert.throws(bad({ 'training.lora_rank': [8, 16] }), /grid\.training\.lora_rank: experiment\.json has no field training\.lora_rank; did you mean training\.loraRank\?/);
    assert.throws(bad({ 'training.seed': 3 }), /grid\.training\.seed must be a non-empty list of values, e\.g\. \[0\]/);
    assert.throws(bad({ 'training.seed': [0, '1'] }), /grid\.training\.seed\[1\] is string "1", but training\.seed holds a number \(0\)/);
    assert.throws(bad({ 'data.domains': ['bad_medical'] }), /grid\.data\.domains\[0\] is string "bad_medical", but data\.domains holds an array/);
    assert.throws(bad({ 'training.seed': [0, 0] }), /lists a value twice/);
    assert.throws(bad({ name: ['a', 'b'] }), /grid\.name: name cannot vary/);
    assert.throws(bad({ 'training.seed': Array.from({ length: 40 }, (_, i) => i), 'training.loraRank': Array.from({ length: 30 }, (_, i) => i + 1) }), /1200 cells; at most 1000/);
    assert.equal(parseGrid({ ...base, grid: undefined as unknown as JsonObject }, 'x'), undefined);
  });

  it('array ranges: compressed, parallelism, parsed back', () => {
    assert.equal(arraySpec([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
    assert.equal(arraySpec([3, 1, 0], 2), '0-1,3%2');
    assert.deepEqual(parseArraySpec('0-2,5,7-8%2'), [0, 1, 2, 5, 7, 8]);
    assert.deepEqual(parseArraySpec('0-6:3'), [0, 3, 6]);
    assert.equal(parseSbatchOutput('1234\n'), '1234');
    assert.equal(parseSbatchOutput('1234;cluster-a'), '1234');
    assert.throws(() => parseSbatchOutput('sbatch: error: Batch job submission failed'), /did not print a job id/);
  });

  const options = (over: Partial<SbatchOptions> = {}): SbatchOptions => ({
    name: 'grid1',
    experimentDir: '/scratch/me/em lab/grid1',
    cells: [0, 1, 3],
    arrayParallel: 2,
    partition: 'gpu',
    gpusPerTask: 1,
    time: '04:00:00',
    extraArgs: ['--mem=8G', '--account=proj'],
    emLab: ['/usr/bin/node', '/opt/em-lab/dist/cli.js'],
    env: { EM_LAB_STORAGE: '/scratch/me/.em-lab', EM_LAB_CACHE_DIR: "/scratch/me/em lab/grid1/judge-cache" },
    totalCells: 6,
    gridLabel: 'data.domains x training.seed',
    createdAt: '2026-12-06T10:00:00Z',
    ...over,
  });

  it('the sbatch script: #SBATCH lines for every choice, quoted paths, and it is valid bash', () => {
    const s = sbatchScript(options());
    for (const line of ['#!/bin/bash', '#SBATCH --job-name=em-lab-grid1', '#SBATCH --array=0-1,3%2', '#SBATCH --partition=gpu', '#SBATCH --gpus-per-task=1', '#SBATCH --time=04:00:00', '#SBATCH --mem=8G', '#SBATCH --account=proj', '#SBATCH --requeue', '#SBATCH --output="/scratch/me/em lab/grid1/slurm/logs/%A_%a.out"']) {
      assert.ok(s.split('\n').includes(line), `has ${line}`);
    }
    assert.ok(s.includes("export EM_LAB_CACHE_DIR='/scratch/me/em lab/grid1/judge-cache'"));
    assert.ok(s.includes('"${EM_LAB[@]}" experiment run "${CELL}/experiment.json"'));
    // #SBATCH lines must come before the first command, or sbatch ignores them.
    const lines = s.split('\n');
    const lastDirective = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
    const firstCommand = lines.findIndex((l) => l.trim() && !l.startsWith('#'));
    assert.ok(lastDirective < firstCommand);
    const dir = mkdtempSync(join(tmpdir(), 'emlab-sbatch-'));
    try {
      writeFileSync(join(dir, 'x.sbatch'), s);
      execFileSync('bash', ['-n', join(dir, 'x.sbatch')]); // syntax check
      // Run outside SLURM: it refuses, saying it is an array job.
      assert.throws(() => execFileSync('bash', [join(dir, 'x.sbatch')], { stdio: 'pipe' }), (e: { stderr: Buffer }) => /submit this script with sbatch/.test(e.stderr.toString()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });

  it('refuses SLURM options that would break the script, naming the flag', () => {
    assert.throws(() => sbatchScript(options({ time: '4 hours' })), /--time "4 hours": use SLURM's formats/);
    assert.throws(() => sbatchScript(options({ partition: 'gpu; rm -rf /' })), /--partition/);
    assert.throws(() => sbatchScript(options({ extraArgs: ['--mem=8G\n#SBATCH --x'] })), /one sbatch option per --sbatch-arg/);
    assert.throws(() => sbatchScript(options({ extraArgs: ['--array=0-9'] })), /EM Lab sets --array itself/);
    assert.throws(() => sbatchScript(options({ arrayParallel: 0 })), /--array-parallel 0/);
    for (const t of ['90', '1:30', '04:00:00', '1-12', '1-12:00', '2-00:00:00', 'UNLIMITED']) assert.doesNotThrow(() => sbatchScript(options({ time: t })), t);
  });

  // Captured from slurm-wlm 22.05 (scripts/slurm-local.sh): sbatch --array=0-3%2; two running, two held by the throttle.
  const SQUEUE_R = ['1_2|1|2|PENDING|JobArrayTaskLimit||0:00', '1_3|1|3|PENDING|JobArrayTaskLimit||0:00', '1_0|1|0|RUNNING|None|vm|0:02', '1_1|1|1|RUNNING|None|vm|0:02'].join('\n');
  const SQUEUE_UNSPLIT = ['1_[2-3%2]|1|2-3%2|PENDING|JobArrayTaskLimit||0:00', '1_0|1|0|RUNNING|None|vm|0:02'].join('\n');
  const SCONTROL_RUNNING =
    'JobId=3 ArrayJobId=1 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=job.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:02 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-06T16:25:18 EligibleTime=2026-12-06T16:25:19 AccrueTime=Unknown StartTime=2026-12-06T16:25:19 EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-06T16:25:19 Scheduler=Main Partition=debug AllocNode:Sid=localhost:13265 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=100M,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=100M MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/sl15/job.sh WorkDir=/tmp/sl15 StdErr=/tmp/sl15/out-1.txt StdIn=/dev/null StdOut=/tmp/sl15/out-1.txt Power= ';
  const SCONTROL_ENDED = [
    'JobId=1 ArrayJobId=1 ArrayTaskId=3 ArrayTaskThrottle=2 JobName=job.sh JobState=RUNNING Reason=None Requeue=1 Restarts=0 ExitCode=0:0 RunTime=00:00:10 NodeList=vm ',
    'JobId=4 ArrayJobId=1 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=job.sh JobState=FAILED Reason=NonZeroExitCode Requeue=1 Restarts=0 ExitCode=2:0 RunTime=00:00:20 NodeList=vm ',
    'JobId=3 ArrayJobId=1 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=job.sh JobState=CANCELLED Reason=None Requeue=1 Restarts=0 ExitCode=0:15 RunTime=00:00:06 NodeList=vm ',
    'JobId=2 ArrayJobId=1 ArrayTaskId=0 ArrayTaskThrottle=2 JobName=job.sh JobState=COMPLETED Reason=None Requeue=1 Restarts=0 ExitCode=0:0 RunTime=00:00:20 NodeList=vm ',
  ].join('\n');

  it('reads squeue -r lines (also an unsplit pending range) and scontrol --oneliner records', () => {
    assert.deepEqual(parseSqueue(SQUEUE_R).map((t) => [t.arrayJobId, t.taskId, t.state, t.reason ?? '', t.nodes ?? '']), [
      ['1', 2, 'PENDING', 'JobArrayTaskLimit', ''], ['1', 3, 'PENDING', 'JobArrayTaskLimit', ''], ['1', 0, 'RUNNING', '', 'vm'], ['1', 1, 'RUNNING', '', 'vm'],
    ]);
    assert.deepEqual(parseSqueue(SQUEUE_UNSPLIT).map((t) => [t.taskId, t.state]), [[2, 'PENDING'], [3, 'PENDING'], [0, 'RUNNING']]);
    const rec = parseScontrolRecord(SCONTROL_RUNNING);
    assert.deepEqual([rec.JobId, rec.ArrayTaskId, rec.JobState, rec['AllocNode:Sid'], rec['ReqB:S:C:T'], rec.Power, rec.NodeList], ['3', '1', 'RUNNING', 'localhost:13265', '0:0:*:*', '', 'vm']);
    const ended = parseScontrolJobs(SCONTROL_ENDED);
    assert.deepEqual(ended.map((t) => [t.taskId, t.state, t.exitCode]), [[3, 'RUNNING', '0:0'], [2, 'FAILED', '2:0'], [1, 'CANCELLED', '0:15'], [0, 'COMPLETED', '0:0']]);
    const pendingArray = parseScontrolJobs('JobId=1 ArrayJobId=1 ArrayTaskId=2-3%2 ArrayTaskThrottle=2 JobName=job.sh JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 NodeList= ');
    assert.deepEqual(pendingArray.map((t) => [t.taskId, t.state, t.nodes]), [[2, 'PENDING', undefined], [3, 'PENDING', undefined]]);
    const merged = mergeTasks(parseSqueue('1_3|1|3|RUNNING|None|vm|0:12'), ended);
    assert.deepEqual(merged.map((t) => [t.taskId, t.state, t.elapsed]), [[0, 'COMPLETED', '00:00:20'], [1, 'CANCELLED', '00:00:06'], [2, 'FAILED', '00:00:20'], [3, 'RUNNING', '0:12']]);
  });
});
