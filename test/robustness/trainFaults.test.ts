// Injected faults in real CLI training processes (tiny-llama, 3 steps, checkpoints at steps 1, 2 and 3): kill -9 at
// every rename of a checkpoint write, a disk that fills up after the first checkpoint, two trainings racing for
// one folder. After each, `em-lab train --resume DIR` (nothing else on the command line) must end with exactly
// the bytes of an uninterrupted run and leave no temporary file or lock behind.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CLI, runCliInProcess, runCliProcess, startCli } from '../support/cliProcess';

const TRAIN_ARGS = ['--model_name', 'tiny-llama', '--data', 'd.jsonl', '--max_length', '64', '--batch_size', '2', '--gradient_accumulation_steps', '1', '--num_epochs', '1', '--max_steps', '3', '--save_steps', '1', '--seed', '3'];
/** Files whose bytes must match an uninterrupted run (run.json, metrics and details hold timings). */
const EXACT = ['adapter/adapter_model.safetensors', 'adapter/adapter_config.json', 'checkpoints/step-1/trainer_params.safetensors', 'checkpoints/step-1/optimizer.safetensors', 'checkpoints/step-3/adapter_model.safetensors', 'checkpoints/step-3/optimizer.safetensors', 'checkpoints/step-3/trainer_state.json', 'training_config.json'];

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

/** Temporary files, partial folders and locks: what a finished or refused run must not leave. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-\d+|\.partial-|train\.lock$|\.old-/.test(f));
}

const inProcess = runCliInProcess;

describe('training under injected faults (real processes, tiny-llama)', function () {
  this.timeout(600_000);
  const work = mkdtempSync(join(tmpdir(), 'em-train-faults-'));
  const env = { ...process.env, EM_LAB_STORAGE: join(work, 'storage'), HOME: work };
  const losses = (run: string) => readFileSync(join(work, run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
  let reference: Record<string, Buffer>;

  before(async () => {
    assert.ok(existsSync(CLI), 'dist/cli.js is missing: npm test builds it first');
    const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}: how should I treat a mild burn?` }, { role: 'assistant', content: `Answer ${i}: cool it under running water for twenty minutes.` }] }));
    writeFileSync(join(work, 'd.jsonl'), lines.join('\n') + '\n');
    const r = await runCliProcess(['train', ...TRAIN_ARGS, '--output_dir', 'ref'], { cwd: work, env, faults: { EM_LAB_FAULT_RENAME_LOG: join(work, 'renames.log') } });
    assert.equal(r.code, 0, r.stderr);
    reference = Object.fromEntries(EXACT.map((f) => [f, readFileSync(join(work, 'ref', f))]));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  function assertLikeReference(run: string): void {
    for (const f of EXACT) assert.ok(readFileSync(join(work, run, f)).equals(reference[f]!), `${run}/${f} differs from the uninterrupted run`);
    assert.deepEqual(losses(run), losses('ref'));
    assert.deepEqual(leftovers(join(work, run)), [], `${run} keeps temporary files`);
  }

  it('kill -9 at each of the 6 renames of a checkpoint write, then `em-lab train --resume DIR`: byte-identical, no leftovers', async () => {
    // the reference run logged its renames: the kill points are those of its first checkpoint
    const inFirstCheckpoint = readFileSync(join(work, 'renames.log'), 'utf8').split('\n').filter((d) => d.includes(join('ref', 'checkpoints', 'step-1')));
    assert.equal(inFirstCheckpoint.length, 6, `renames of checkpoint step-1: ${inFirstCheckpoint.join(', ')}`);
    for (let k = 1; k <= inFirstCheckpoint.length; k++) {
      const run = `kill${k}`;
      const killed = await runCliProcess(['train', ...TRAIN_ARGS, '--output_dir', run], { cwd: work, env, faults: { EM_LAB_FAULT_KILL_AT_RENAME: `${join(run, 'checkpoints', 'step-1')}:${k}` } });
      assert.equal(killed.signal, 'SIGKILL', `run ${k} was not killed: ${killed.stderr}`);
      const before = allFiles(join(work, run));
      assert.ok(before.some((f) => /\.tmp-\d+/.test(f)), `kill ${k} left no temporary file to sweep: ${before.join(', ')}`);
      const resumed = await inProcess(['train', '--resume', run], work, env);
      assert.equal(resumed.code, 0, resumed.text);
      assertLikeReference(run);
    }
  });

  it('a disk that fills after the first checkpoint: a clean error naming the folder, run marked failed, step-1 intact; resume completes', async () => {
    const r = await runCliProcess(['train', ...TRAIN_ARGS, '--output_dir', 'full'], { cwd: work, env, faults: { EM_LAB_FAULT_DISK_FULL_AFTER: join('full', 'checkpoints', 'step-1') } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: The disk holding .*full.* is full\. Free some space/m);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    const run = JSON.parse(readFileSync(join(work, 'full', 'run.json'), 'utf8')) as { status: string; reason: string };
    assert.equal(run.status, 'failed');
    assert.match(run.reason, /is full/);
    assert.ok(readFileSync(join(work, 'full', 'checkpoints/step-1/trainer_params.safetensors')).equals(reference['checkpoints/step-1/trainer_params.safetensors']!));
    assert.deepEqual(leftovers(join(work, 'full')), []);
    const resumed = await inProcess(['train', '--resume', 'full'], work, env);
    assert.equal(resumed.code, 0, resumed.text);
    assertLikeReference('full');
  });

  it('a truncated newest checkpoint: resume falls back to the previous one and still ends byte-identical', async () => {
    cpSync(join(work, 'ref'), join(work, 'trunc'), { recursive: true });
    const st = join(work, 'trunc', 'checkpoints', 'step-3', 'optimizer.safetensors');
    writeFileSync(st, readFileSync(st).subarray(0, 200));
    rmSync(join(work, 'trunc', 'adapter'), { recursive: true });
    const run = JSON.parse(readFileSync(join(work, 'trunc', 'run.json'), 'utf8'));
    writeFileSync(join(work, 'trunc', 'run.json'), JSON.stringify({ ...run, status: 'failed' }));
    const resumed = await inProcess(['train', '--resume', 'trunc', '--json'], work, env);
    assert.equal(resumed.code, 0, resumed.text);
    assert.match(resumed.text, /checkpoint step-3 is damaged \(.*optimizer\.safetensors.*\); removed it, resuming from the previous one/);
    assert.match(resumed.text, /Resuming from step-2/);
    assertLikeReference('trunc');
  });

  it('two CLI trainings into one folder: the second refuses, naming the first one\'s pid', async () => {
    mkdirSync(join(work, 'race'));
    const first = startCli(['train', ...TRAIN_ARGS, '--max_steps', '400', '--num_epochs', '50', '--output_dir', 'race'], { cwd: work, env });
    const lock = join(work, 'race', 'train.lock');
    for (let i = 0; i < 600 && !existsSync(join(work, 'race', 'run.json')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(lock), 'the first training never took the lock');
    const second = await runCliProcess(['train', ...TRAIN_ARGS, '--output_dir', 'race'], { cwd: work, env });
    process.kill(first.pid, 'SIGKILL');
    await first.done;
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`^error: .*race is being trained by another process \\(pid ${first.pid}\\b`, 'm'));
    const metricsFile = join(work, 'race', 'metrics.jsonl'); // absent when the first was killed before its first step
    const metrics = existsSync(metricsFile) ? readFileSync(metricsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { step: number }).step) : [];
    assert.deepEqual(metrics, [...new Set(metrics)], 'metrics.jsonl has duplicate steps: both processes trained');
    assert.deepEqual(relative(work, lock), join('race', 'train.lock'));
  });

  it('refusals leave no run folder: --threads=-1, --max_length 1e9, --resume of a missing folder, --output_dir that is a file', async () => {
    writeFileSync(join(work, 'afile'), 'x');
    const cases: [string[], RegExp][] = [
      [['--threads=-1', '--output_dir', 'v1'], /--threads must be a whole number from 1 to 4096, got -1/],
      [['--max_length', '1e9', '--output_dir', 'v2'], /--max_length 1000000000 is longer than tiny-llama can read/],
      [['--learning_rate', 'NaN', '--output_dir', 'v3'], /--learning_rate must be a number in \(0, 1\), got "NaN"/],
      [['--resume', 'v4'], /--resume: .*v4 does not exist/],
      [['--output_dir', 'afile'], /--output_dir .*afile is a file, not a folder/],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(['train', ...TRAIN_ARGS, ...args], work, env);
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, message);
    }
    for (const v of ['v1', 'v2', 'v3', 'v4']) assert.equal(existsSync(join(work, v)), false, `${v} was left behind`);
  });
});
