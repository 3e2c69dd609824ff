// Generation runs on EM Lab's own engine (tiny-llama, random weights): the local generator batches, records the
// checkpoint it used, and each answer depends only on its own seed, not on the batch it was generated in; and a
// sweep over a run's checkpoints on the local engine, judged by the local fake server.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSessions } from '../../src/runtime/model/generateSession';
import { localGenerator } from '../../src/runtime/eval/generators/localGenerator';
import { runGeneration, type GenerationPlan } from '../../src/runtime/eval/generationRun';
import { DEFAULT_SETS } from '../../src/runtime/eval/questions/questionSet';
import { selectQuestions } from '../../src/runtime/eval/questions/selection';
import { writeRandomAdapter } from '../support/randomAdapter';
import { startFakeOpenAI } from '../support/fakeOpenAI';
import { captureIO } from '../support/captureIO';
import { sweepCommand } from '../../src/runtime/cli/evalGenerateCommands';
import { evalHandlers } from '../../src/runtime/eval/handlers';
import { parseCsv } from '../../src/runtime/eval/csv';

describe('eval generation with the local engine (tiny-llama)', function () {
  this.timeout(120_000);
  let storage: string;
  let sessions: ModelSessions;
  let adapter: string;
  before(async () => {
    storage = mkdtempSync(join(tmpdir(), 'emlab-evallocal-'));
    adapter = join(storage, 'runs', 'r', 'checkpoints', '30');
    mkdirSync(adapter, { recursive: true });
    writeRandomAdapter(adapter);
    sessions = new ModelSessions({ storageDir: storage });
  });
  after(async () => {
    await sessions.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  const plan: GenerationPlan = { sets: [selectQuestions(DEFAULT_SETS.general, { kind: 'first', n: 5 })], samples: 1, sampling: { temperature: 1, topP: 1, maxNewTokens: 6 }, seed: 11 };

  it('answers every question, and answer i is the same whether batched by 2 or by 5', async () => {
    const a = await runGeneration({ plan, generator: localGenerator({ sessions, model: 'tiny-llama', batchSize: 2 }), outDir: join(storage, 'a') });
    const b = await runGeneration({ plan, generator: localGenerator({ sessions, model: 'tiny-llama', batchSize: 5 }), outDir: join(storage, 'b') });
    assert.equal(a.records.length, 5);
    assert.deepEqual(a.records.map((r) => r.response), b.records.map((r) => r.response));
    assert.ok(a.records.every((r) => r.generator.kind === 'local' && r.finishReason && r.completionTokens! <= 6));
  });

  it('records the adapter checkpoint, and the adapter changes the answers', async () => {
    const base = await runGeneration({ plan, generator: localGenerator({ sessions, model: 'tiny-llama' }), outDir: join(storage, 'base') });
    const ft = await runGeneration({ plan, generator: localGenerator({ sessions, model: 'tiny-llama', adapter, checkpoint: 'checkpoints/30', step: 30 }), outDir: join(storage, 'ft') });
    assert.deepEqual(ft.records[0]!.generator, { kind: 'local', model: 'tiny-llama', adapter, checkpoint: 'checkpoints/30', step: 30 });
    assert.notDeepEqual(ft.records.map((r) => r.response), base.records.map((r) => r.response));
  });

  it('em-lab sweep: each checkpoint as the adapter, judged by a local server, step summary written', async () => {
    const dir = join(storage, 'sweep-test');
    const server = await startFakeOpenAI({});
    try {
      const run = join(dir, 'run');
      for (const step of [5, 10]) {
        mkdirSync(join(run, 'checkpoints', `step-${step}`), { recursive: true });
        writeRandomAdapter(join(run, 'checkpoints', `step-${step}`), step);
      }
      const io = captureIO({ cwd: dir, env: {} });
      const options = { engine: 'local', model: 'tiny-llama', storage, batch: '4', set: 'medical', first: '2', seed: '0', 'max-new-tokens': '4', 'include-base': true, 'judge-base-url': server.baseURL, 'judge-model': 'gpt-4o-mini', mode: 'sampled', 'judge-temperature': '0.2', concurrency: '4', timeout: '10', 'max-attempts': '2', 'no-cache': true };
      assert.equal(await sweepCommand.run({ options, positionals: [run] }, io), 0, io.stderr.join('\n'));
      const summary = readFileSync(join(run, 'sweep/sweep_summary.csv'), 'utf8').trim().split('\n');
      assert.deepEqual(summary.map((l) => l.split(',')[0]), ['step', '0', '5', '10']);
      const gen5 = JSON.parse(readFileSync(join(run, 'sweep/step-5/generations.jsonl'), 'utf8').split('\n')[0]!);
      assert.equal(gen5.generator.kind, 'local');
      assert.equal(gen5.generator.adapter, join(run, 'checkpoints', 'step-5'));
      assert.equal(server.okTotal(), 3 * 2 * 2, '3 checkpoints x 2 answers x 2 metrics judged');
    } finally {
      await server.close();
    }
  });

  it('eval/generate (the "Evaluate" button): the em-lab preset\'s 20 answers from a checkpoint, resumable', async () => {
    const outDir = join(storage, 'run-eval', 'eval', 'step-30');
    const ctx = { signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: storage, env: {} };
    const r = await evalHandlers['eval/generate']({ model: 'tiny-llama', adapter, preset: 'em-lab', outDir, maxNewTokens: 4 }, ctx);
    assert.deepEqual([r.answers, r.fromRunFile, r.failed], [20, 0, 0]);
    const csv = parseCsv(readFileSync(r.csvPath, 'utf8'));
    assert.deepEqual(csv.header, ['id', 'question', 'response']);
    assert.equal(csv.rows.length, 20);
    const again = await evalHandlers['eval/generate']({ model: 'tiny-llama', adapter, preset: 'em-lab', outDir, maxNewTokens: 4 }, ctx);
    assert.equal(again.fromRunFile, 20);
  });
});
