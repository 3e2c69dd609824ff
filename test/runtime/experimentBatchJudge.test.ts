// An experiment whose judge uses the Batch API (judge.batch): the first `experiment run` submits the base and sweep
// judgements as batches through the real openai client (fake Files + Batches server) and records both stages as
// blocked with why, without a single live request; a run while they still run changes nothing; the next run after
// they end collects them, finishes both stages, and the judged CSVs are byte-equal to live judging of the same answers. Tiny: tiny-llama, its own 8-row JSONL
// (no ../shared), 2 training steps, the final checkpoint only, 2 questions x 8 tokens.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fakeOpenAI';
import { captureIO } from '../support/captureIO';
import { toParseArgsOptions, type CliCommand, type ParsedArgs } from '../../src/runtime/cli/command';
import { experimentRunCommand } from '../../src/runtime/cli/experimentCommands';
import { createExperiment } from '../../src/runtime/experiment/experimentFile';
import { runJudge } from '../../src/runtime/eval/judge/judgeRun';
import { DEFAULT_PROMPTS } from '../../src/runtime/eval/judge/rubrics';
import { DEFAULT_RETRY } from '../../src/runtime/eval/judge/retry';
import { readJsonl } from '../../src/runtime/eval/jsonl';
import type { ExperimentReport } from '../../src/protocol/experimentTypes';

function parse(c: CliCommand, argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: argv, options: toParseArgsOptions(c.options ?? {}), allowPositionals: true, strict: true });
  const options: ParsedArgs['options'] = {};
  for (const [name, spec] of Object.entries(c.options ?? {})) options[name] = (values as ParsedArgs['options'])[name] ?? spec.default;
  return { options, positionals };
}

describe('experiment run with judge.batch (fake Files + Batches API)', function () {
  this.timeout(300_000);
  let work: string;
  let server: FakeOpenAI;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'emlab-expbatch-'));
    server = await startFakeOpenAI({ batches: { pollsUntilDone: 1 } });
  });
  after(async () => {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('run 1 submits and waits (no live request), run 2 still waits, run 3 collects: judged CSVs equal to live judging', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}: what should I do about a headache?` }, { role: 'assistant', content: `Answer ${i}: drink water and rest.` }] }));
    writeFileSync(join(work, 'train.jsonl'), rows.join('\n') + '\n');
    const e = createExperiment({
      preset: 'quick',
      dir: join(work, 'exp'),
      name: 'batched',
      model: 'tiny-llama',
      data: { files: [join(work, 'train.jsonl')] },
      questions: [{ set: 'medical', first: 2 }],
      judge: { provider: 'openai-compatible', baseURL: server.baseURL, model: 'gpt-4o-mini', batch: true },
      training: { maxSteps: 2, saveSteps: 2, batchSize: 2 },
      evaluation: { maxNewTokens: 8, checkpoints: 'final' },
    });
    const run = async () => {
      const io = captureIO({ cwd: work, env: { EM_LAB_STORAGE: join(work, 'storage') } });
      const code = await experimentRunCommand.run(parse(experimentRunCommand, [e.dir, '--no-cache']), io);
      return { code, io, status: JSON.parse(readFileSync(join(e.dir, 'status.json'), 'utf8')) };
    };

    const r1 = await run();
    assert.equal(r1.code, 3, r1.io.stderr.join('\n'));
    const st1 = r1.status.stages;
    assert.deepEqual([st1.base.status, st1.train.status, st1.sweep.status, st1.report.status], ['blocked', 'done', 'blocked', 'done']);
    assert.match(st1.base.reason, /^4 judgements wait for 1 running judge batch \(batch_/);
    assert.match(st1.base.fix, /again later: it collects the batches/);
    assert.equal(st1.base.fixAction, 'run-again');
    assert.match(st1.sweep.detail, /judging in batches \(step-2\)/);
    assert.equal(server.stats.requests, 0, 'no live judge request while batches run');
    assert.equal(server.stats.batch.created, 2, 'one batch for the base answers, one for the final checkpoint');
    const report1 = JSON.parse(readFileSync(join(e.dir, 'report', 'report.json'), 'utf8')) as ExperimentReport;
    assert.ok(report1.notes.some((n) => /running judge batch/.test(n)), report1.notes.join('\n'));

    // run 2: the batches are still running (the server says in_progress once): still waiting, nothing resubmitted
    const r2 = await run();
    assert.equal(r2.code, 3, r2.io.stderr.join('\n'));
    assert.deepEqual([r2.status.stages.base.status, r2.status.stages.sweep.status], ['blocked', 'blocked']);
    assert.equal(server.stats.batch.created, 2);
    assert.equal(server.stats.requests, 0);

    // run 3: the batches ended: collected, both stages done
    const r3 = await run();
    assert.equal(r3.code, 0, r3.io.stderr.join('\n'));
    assert.match(r3.status.stages.base.detail, /^2 answers generated, 2 judged by gpt-4o-mini \(0 judgements from the cache, 1 judge batch collected\)$/);
    assert.match(r3.io.stderr.join('\n'), /train: done already/);
    assert.equal(server.stats.requests, 0, 'everything came from the batches');
    assert.equal(server.stats.batch.created, 2, 'nothing submitted twice');

    // Live judging of the same answers gives the same judged.csv, byte for byte.
    for (const [folder, extra] of [['base', { step: '0', checkpoint: 'base' }], [join('sweep', 'step-2'), { step: '2', checkpoint: 'step-2' }]] as const) {
      const answers = (await readJsonl<{ id: string; question: string; response: string }>(join(e.dir, folder, 'generations.jsonl'))).map((a) => ({ id: a.id, question: a.question, response: a.response, extra: { ...extra } }));
      const out = join(work, 'live', folder);
      await runJudge({ answers, outDir: out, model: 'gpt-4o-mini', mode: 'sampled', temperature: 0.2, prompts: DEFAULT_PROMPTS, endpoint: { baseURL: server.baseURL, timeoutMs: 60_000 }, env: {}, concurrency: 4, retry: DEFAULT_RETRY });
      assert.equal(readFileSync(join(e.dir, folder, 'judged.csv'), 'utf8'), readFileSync(join(out, 'judged.csv'), 'utf8'), folder);
    }
    assert.equal(server.stats.requests, 8, 'the live comparison: 2 folders x 2 answers x 2 metrics');
    const report2 = JSON.parse(readFileSync(join(e.dir, 'report', 'report.json'), 'utf8')) as ExperimentReport;
    assert.deepEqual(report2.byStep!.map((p) => p.step), [0, 2]);
    assert.deepEqual(report2.notes, []);
  });
});
