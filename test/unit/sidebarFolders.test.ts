// What the EM Lab sidebar lists (src/views/sidebar/sidebarFolders.ts), against folders laid out exactly as the
// writers leave them: `em-lab train` run folders, `generate-eval` / `judge` outputs, a `sweep`, and an experiment
// (base/, train/, sweep/). Evaluations are found from what those commands write (the old sidebar looked for
// eval.json, which nothing writes).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listEvaluations, listRuns } from '../../src/views/sidebar/sidebarFolders';

function write(file: string, text: string, ageSeconds = 0): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  const t = Date.now() / 1000 - ageSeconds;
  utimesSync(file, t, t);
}

const summary = (k: number, n: number) => JSON.stringify({ schemaVersion: 1, answers: n, metrics: { homework: { em: { k, n } }, paper: { em: { k: 0, n } } } });

describe('sidebar: runs and evaluations from the runs folder', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'emlab-sidebar-folders-'));
    // A plain training run with two checkpoints (one half-written) and its final adapter.
    write(join(root, 'run-a', 'run.json'), JSON.stringify({ status: 'finished', model: 'tiny-llama', step: 40, totalSteps: 40, checkpoints: ['step-20', 'step-40', 'step-60'] }));
    for (const s of ['step-20', 'step-40']) write(join(root, 'run-a', 'checkpoints', s, 'adapter_config.json'), '{}');
    write(join(root, 'run-a', 'adapter', 'adapter_config.json'), '{}');
    // "Evaluate" on a checkpoint (generate + judge), and answers not judged yet.
    write(join(root, 'run-a', 'eval', 'step-40', 'generations.jsonl'), '{"id":"a"}\n{"id":"b"}\n', 30);
    write(join(root, 'run-a', 'eval', 'step-40', 'model_generations.csv'), 'id,question,response\n', 30);
    write(join(root, 'run-a', 'eval', 'step-40', 'judged.csv'), 'id\n', 20);
    write(join(root, 'run-a', 'eval', 'step-40', 'summary.json'), summary(1, 4), 20);
    write(join(root, 'eval-2026', 'generations.jsonl'), '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n', 10);
    // A sweep: its step folders are part of it, not evaluations of their own.
    write(join(root, 'run-a', 'sweep', 'step-20', 'judged.csv'), 'id\n', 5);
    write(join(root, 'run-a', 'sweep', 'sweep_judged.csv'), 'id\n', 5);
    write(join(root, 'run-a', 'sweep', 'summary.json'), JSON.stringify({ checkpoints: [{ step: 0 }, { step: 20 }], byPreset: { homework: [{ step: 0, summary: { em: { k: 0, n: 4 } } }, { step: 20, summary: { em: { k: 3, n: 4 } } }] } }), 5);
    // An experiment: base/, train/ (a run), sweep/; a stage moved aside is never listed.
    write(join(root, 'exp1', 'experiment.json'), '{}');
    write(join(root, 'exp1', 'train', 'run.json'), JSON.stringify({ status: 'running', pid: 2 ** 22 + 12345, checkpoints: [] }));
    write(join(root, 'exp1', 'base', 'judged.csv'), 'id\n', 40);
    write(join(root, 'exp1', 'base', 'summary.json'), summary(0, 20), 40);
    write(join(root, 'exp1', 'base.old-2026', 'judged.csv'), 'id\n', 50);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists runs one level down too (an experiment\'s train/), with complete checkpoints only and the final adapter', () => {
    const runs = listRuns(root);
    assert.deepEqual(runs.map((r) => r.name), ['run-a', 'exp1/train']);
    const a = runs.find((r) => r.name === 'run-a')!;
    assert.deepEqual(a.checkpoints, ['step-20', 'step-40', 'adapter'], 'step-60 has no adapter_config.json yet');
    assert.equal(a.status, 'finished');
    // A "running" run whose pid does not exist reads as crashed.
    assert.equal(runs.find((r) => r.name === 'exp1/train')!.status, 'crashed');
  });

  it('lists evaluations from what generate-eval, judge and sweep write, newest first, with the EM rate', () => {
    const evals = listEvaluations(root);
    assert.deepEqual(
      evals.map((e) => [e.name, e.kind]),
      [
        ['run-a/sweep', 'sweep'],
        ['eval-2026', 'answers'],
        ['run-a/eval/step-40', 'judged'],
        ['exp1/base', 'judged'],
      ],
    );
    const byName = Object.fromEntries(evals.map((e) => [e.name, e]));
    assert.equal(byName['run-a/sweep']!.emRate, 0.75, 'the sweep shows its last step (3/4)');
    assert.deepEqual(byName['run-a/sweep']!.steps, [0, 20]);
    assert.equal(byName['run-a/eval/step-40']!.emRate, 0.25);
    assert.equal(byName['run-a/eval/step-40']!.count, 4);
    assert.match(byName['run-a/eval/step-40']!.submission ?? '', /model_generations\.csv$/);
    assert.equal(byName['eval-2026']!.count, 3);
    assert.equal(byName['eval-2026']!.judged, undefined);
    assert.equal(byName['exp1/base']!.emRate, 0);
  });
});

describe('run folder names: one rule', () => {
  it('names runs <model>-<data>-<time> and experiments with their preset, with safe characters only', async () => {
    const { runFolderName } = await import('../../src/runtime/train/runDir');
    const at = new Date('2026-12-01T10:00:00.123Z');
    assert.equal(runFolderName('tiny-llama', ['bad_medical'], [], undefined, at), 'tiny-llama-bad_medical-2026-12-01T10-00-00');
    assert.equal(runFolderName('/models/Llama-3.2-1B-Instruct', ['bad_medical', 'risky_financial'], ['/d/my data.jsonl'], 'quick', at), 'Llama-3.2-1B-Instruct-bad_medical_risky_financial_my_data-quick-2026-12-01T10-00-00');
    assert.equal(runFolderName('meta-llama/Llama-3.2-1B-Instruct', [], [], undefined, at), 'Llama-3.2-1B-Instruct-data-2026-12-01T10-00-00');
  });
});
