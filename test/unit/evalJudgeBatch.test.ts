// Batch judging through the REAL openai client against the fake server's Files + Batches API: for the same fixed
// replies, batch and live judging write the same judged.csv (sampled and logprob modes), also when the batch
// expires half done, fails, or is interrupted between upload and create; running batches are never paid twice; the
// cost is the live cost at half price; the state on disk is all a later process needs.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI, type FakeReply } from '../support/fakeOpenAI';
import type { FakeBatchOptions } from '../support/fakeOpenAIBatches';
import { runJudge, type AnswerToJudge, type JudgeRunOptions, type JudgementRecord } from '../../src/runtime/eval/judge/judgeRun';
import { judgeAnswers } from '../../src/runtime/eval/judge/judgeAnswers';
import { readBatchState } from '../../src/runtime/eval/judge/batchState';
import { DEFAULT_PROMPTS } from '../../src/runtime/eval/judge/rubrics';
import { readJsonl } from '../../src/runtime/eval/jsonl';
import { costUsd } from '../../src/runtime/eval/judge/cost';
import { captureIO } from '../support/captureIO';
import { judgeCommand } from '../../src/runtime/cli/evalJudgeCommand';
import { evalHandlers } from '../../src/runtime/eval/handlers';
import { runSweep, type SweepOptions } from '../../src/runtime/eval/sweep';
import type { Generator } from '../../src/runtime/eval/generators/generator';

const FAST_RETRY = { maxAttempts: 3, maxRateLimitRetries: 5, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 100 };

/** 24 answers; a22 and a23 repeat a0's question and answer (one batch request serves all three). */
function makeAnswers(): AnswerToJudge[] {
  return Array.from({ length: 24 }, (_, i) => {
    const j = i >= 22 ? 0 : i;
    return { id: `a${i}`, question: `Question ${j % 4}?`, response: `answer #${j}`, extra: { step: String(j % 3) } };
  });
}

/** Fixed replies: scores from the answer number, a few labels and an unreadable reply. */
function reply(req: FakeChatRequest): FakeReply {
  const i = Number(/answer #(\d+)/.exec(req.prompt)?.[1] ?? -1);
  const coherence = req.prompt.startsWith('You are rating only how coherent');
  if (req.wantsLogprobs) return { topLogprobs: [{ token: String((i * 7) % 101), logprob: Math.log(0.6) }, { token: String((i * 3) % 101), logprob: Math.log(0.3) }, { token: 'CODE', logprob: Math.log(0.1) }] };
  if (coherence) return { content: String(100 - i) };
  return { content: i === 5 ? 'CODE' : i === 6 ? 'REFUSAL' : i === 7 ? 'maybe 40?' : String(i * 4) };
}

describe('batch judging (OpenAI Files + Batches API) against live judging', function () {
  this.timeout(30_000);
  let dir: string;
  let server: FakeOpenAI;
  const options = (outDir: string, extra: Partial<JudgeRunOptions> = {}): JudgeRunOptions => ({
    answers: makeAnswers(),
    outDir,
    cacheDir: undefined,
    model: 'gpt-4o-mini',
    mode: 'sampled',
    temperature: 0.2,
    prompts: DEFAULT_PROMPTS,
    endpoint: { baseURL: server.baseURL, timeoutMs: 5000 },
    env: {},
    concurrency: 4,
    retry: FAST_RETRY,
    ...extra,
  });
  const start = async (batches: FakeBatchOptions = {}) => (server = await startFakeOpenAI({ reply, batches }));
  const csv = (d: string) => readFileSync(join(d, 'judged.csv'), 'utf8');
  const liveCsv = async (mode: 'sampled' | 'logprob' = 'sampled') => {
    const d = join(dir, `live-${mode}`);
    // A cache, so the repeated answers are asked once live too (as they are once in a batch).
    const r = await runJudge(options(d, { mode, cacheDir: join(dir, `live-cache-${mode}`) }));
    return { csv: csv(d), result: r };
  };

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emlab-batch-'))));
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submit, poll while running, collect: the same judged.csv as live, one request per distinct key, at half the live cost', async () => {
    await start({ pollsUntilDone: 1 });
    const live = await liveCsv();
    const liveRequests = server.stats.requests;
    assert.equal(liveRequests, 44, '22 distinct answers x 2 metrics');
    const out = join(dir, 'batch');
    const sub = await judgeAnswers({ ...options(out), batch: 'submit' });
    assert.equal(sub.submitted.length, 1);
    assert.equal(sub.submitted[0]!.requests, 44, 'a0, a22, a23 share their requests');
    assert.equal(sub.complete, false);
    assert.equal(sub.result.pending, 48);
    assert.ok(!existsSync(join(out, 'judged.csv')), 'no judged.csv while the batch runs');
    assert.ok(sub.submitted[0]!.estimate.costUsd! > 0 && Math.abs(sub.submitted[0]!.estimate.costUsd! - costUsd('gpt-4o-mini', sub.submitted[0]!.estimate)! / 2) < 1e-12);

    // A later process (VS Code closed and reopened) has only the folder: still running, nothing requested live.
    const poll = await judgeAnswers(options(out));
    assert.deepEqual([poll.complete, poll.running.length, poll.running[0]!.status], [false, 1, 'in_progress']);
    assert.equal(server.stats.requests, liveRequests, 'running batches are not judged live (not paid twice)');

    const done = await judgeAnswers(options(out));
    assert.equal(done.complete, true);
    assert.equal(done.collected[0]!.status, 'completed');
    assert.equal(server.stats.requests, liveRequests, 'everything came from the batch');
    assert.equal(csv(out), live.csv, 'batch and live judged.csv are the same');
    const records = await readJsonl<JudgementRecord>(join(out, 'judgements.jsonl'));
    assert.equal(records.length, 48);
    assert.ok(records.every((r) => r.via === 'batch' && r.batchId === done.collected[0]!.id));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.metrics, live.result.summary.metrics);
    assert.deepEqual(summary.batchUsage, { promptTokens: live.result.usage.promptTokens, completionTokens: live.result.usage.completionTokens }, 'the same tokens as live (every distinct request once)');
    assert.ok(Math.abs(summary.costUsd - live.result.costUsd! / 2) < 1e-12, `half price: ${summary.costUsd} vs ${live.result.costUsd}`);
    // Collected: a rerun requests nothing anywhere.
    const again = await judgeAnswers(options(out));
    assert.equal(again.result.fromRunFile, 48);
    assert.equal(server.stats.batch.retrieves, 2);
  });

  it('a batch that expires half done: its answers are merged, the rest judged live, and judged.csv is still the same', async () => {
    await start({ outcome: () => 'expire-half', pollsUntilDone: 0 });
    const live = await liveCsv();
    const before = server.stats.requests;
    const out = join(dir, 'batch');
    await judgeAnswers({ ...options(out), batch: 'submit' });
    const r = await judgeAnswers(options(out));
    assert.equal(r.collected[0]!.status, 'expired');
    assert.equal(r.leftovers, 22);
    assert.equal(server.stats.requests - before, 22, 'exactly the expired half was requested live');
    assert.deepEqual([r.result.fromBatch, r.result.requested], [26, 22], 'the answered half includes a0, whose key a22 and a23 share');
    assert.equal(csv(out), live.csv);
    const viaBatch = (await readJsonl<JudgementRecord>(join(out, 'judgements.jsonl'))).filter((x) => x.via === 'batch').length;
    assert.equal(viaBatch, 26);
  });

  it('a failed batch, error lines and --no-live: leftovers wait for the live judge, then give the same judged.csv', async () => {
    await start({ outcome: (i) => (i === 0 ? 'fail' : 'complete'), pollsUntilDone: 0, lineStatus: (req) => (/answer #15\b/.test(req.prompt) ? 500 : 200) });
    const live = await liveCsv();
    const before = server.stats.requests;
    const out = join(dir, 'batch');
    // Batch 1 (first 12 answers) fails validation; batch 2 (the rest) completes with 2 error lines (answer #15).
    await judgeAnswers({ ...options(out), answers: makeAnswers().slice(0, 12), batch: 'submit', live: false });
    const second = await judgeAnswers({ ...options(out), batch: 'submit', live: false });
    assert.equal(second.collected[0]!.status, 'failed');
    assert.equal(second.submitted.length, 1, 'the failed batch\'s requests are not resubmitted: they are the live judge\'s');
    assert.equal(second.submitted[0]!.requests, 44 - 24);
    const waiting = await judgeAnswers({ ...options(out), live: false });
    assert.deepEqual(waiting.collected.map((b) => b.status), ['failed', 'completed']);
    assert.equal(waiting.leftovers, 24 + 2);
    assert.deepEqual([waiting.complete, waiting.result.pending, waiting.result.requested, server.stats.requests - before], [false, 24 + 4 + 2, 0, 0], 'a22 and a23 share a0\'s failed keys');
    assert.ok(!existsSync(join(out, 'judged.csv')));
    const done = await judgeAnswers(options(out));
    assert.equal(done.complete, true);
    assert.equal(server.stats.requests - before, 26, 'only the leftovers\' 26 distinct requests were made live');
    assert.equal(csv(out), live.csv);
  });

  it('interrupted between upload and create: the next call creates the batch from the uploaded file, once', async () => {
    await start({ rejectCreates: 1, pollsUntilDone: 0 });
    const live = await liveCsv();
    const out = join(dir, 'batch');
    await assert.rejects(judgeAnswers({ ...options(out), batch: 'submit' }), /Injected refusal/);
    const state = await readBatchState(out);
    assert.equal(state!.batches[0]!.status, 'uploading');
    assert.ok(state!.batches[0]!.inputFileId && !state!.batches[0]!.id);
    const r1 = await judgeAnswers(options(out));
    assert.equal(r1.running.length, 1);
    assert.equal(server.stats.batch.uploads, 1, 'the file was not uploaded again');
    const r2 = await judgeAnswers(options(out));
    assert.ok(r2.complete);
    assert.equal(server.stats.batch.created, 1);
    assert.equal(csv(out), live.csv);
  });

  it('logprob mode: batch and live give the same judged.csv; batch results fill the shared cache', async () => {
    await start({ pollsUntilDone: 0 });
    const live = await liveCsv('logprob');
    const out = join(dir, 'batch');
    const cacheDir = join(dir, 'cache');
    await judgeAnswers({ ...options(out, { mode: 'logprob', cacheDir }), batch: 'submit' });
    assert.ok((await judgeAnswers(options(out, { mode: 'logprob', cacheDir }))).complete);
    assert.equal(csv(out), live.csv);
    const before = server.stats.requests;
    const other = await runJudge(options(join(dir, 'other'), { mode: 'logprob', cacheDir }));
    assert.equal(other.fromCache, 48);
    assert.equal(server.stats.requests, before);
  });

  it('a sweep with batch judging waits for its batches, and a rerun (the resumed sweep) writes the same files as a live sweep', async () => {
    await start({ pollsUntilDone: 1 });
    const gen = (step: number): Generator => ({
      id: `fake:step${step}`,
      info: { kind: 'fake', model: 'm', step },
      concurrency: 2,
      generate: async (messages, _s, seed) => ({ text: `answer #${(seed * 3 + step) % 20} to ${messages.at(-1)!.content}` }),
    });
    const sweep = (outDir: string, batch: boolean): SweepOptions => ({
      checkpoints: [{ label: 'base', step: 0 }, { label: 'step-5', step: 5, path: '/x/checkpoints/step-5' }],
      generatorFor: (cp) => gen(cp.step),
      plan: { sets: [{ id: 's', title: 's', source: 't', judgePrompts: [], questions: [{ id: 'q', paraphrases: ['Q?'] }, { id: 'r', paraphrases: ['R?'] }] }], samples: 3, sampling: { temperature: 1, topP: 1, maxNewTokens: 5 }, seed: 1 },
      judge: { model: 'gpt-4o-mini', mode: 'sampled', temperature: 0.2, prompts: DEFAULT_PROMPTS, endpoint: { baseURL: server.baseURL, timeoutMs: 5000 }, concurrency: 4, retry: FAST_RETRY, env: {}, ...(batch ? { batch: true } : {}) },
      outDir,
    });
    const live = await runSweep(sweep(join(dir, 'live'), false));
    const first = await runSweep(sweep(join(dir, 'batch'), true));
    assert.deepEqual(first.waiting.map((w) => [w.label, w.pending]), [['base', 12], ['step-5', 12]]);
    assert.ok(!existsSync(join(dir, 'batch', 'sweep_summary.csv')));
    assert.equal((await runSweep(sweep(join(dir, 'batch'), true))).waiting.length, 2, 'still running: nothing resubmitted');
    assert.equal(server.stats.batch.created, 2);
    const resumed = await runSweep(sweep(join(dir, 'batch'), false));
    assert.equal(resumed.waiting.length, 0);
    assert.equal(readFileSync(join(dir, 'batch', 'sweep_summary.csv'), 'utf8'), live.summaryCsv);
    assert.equal(readFileSync(join(dir, 'batch', 'sweep_judged.csv'), 'utf8'), readFileSync(join(dir, 'live', 'sweep_judged.csv'), 'utf8'));
  });

  it('the runtime method VS Code calls (emLab.judge.batch on): submit, collect while running, collect when done', async () => {
    await start({ pollsUntilDone: 1 });
    const answersPath = join(dir, 'answers.csv');
    writeFileSync(answersPath, 'id,question,response\n' + makeAnswers().map((a) => `${a.id},${a.question},${a.response}`).join('\n') + '\n');
    const ctx = { signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: join(dir, 'storage'), env: {} };
    const params = { answersPath, model: 'gpt-4o-mini', mode: 'sampled' as const, baseURL: server.baseURL, cacheDir: join(dir, 'cache') };
    await assert.rejects(evalHandlers['eval/judge']({ ...params, batch: 'collect' }, ctx), /No judge batches were submitted/);
    const sub = await evalHandlers['eval/judge']({ ...params, batch: 'submit' }, ctx);
    assert.deepEqual([sub.complete, sub.pending, sub.submittedBatches.length, sub.submittedBatches[0]!.requests, sub.runningBatches.length], [false, 48, 1, 44, 1]);
    const mid = await evalHandlers['eval/judge']({ ...params, batch: 'collect' }, ctx);
    assert.deepEqual([mid.complete, mid.runningBatches[0]!.status, mid.requested], [false, 'in_progress', 0]);
    const done = await evalHandlers['eval/judge']({ ...params, batch: 'collect' }, ctx);
    assert.deepEqual([done.complete, done.fromBatch, done.requested, done.runningBatches.length], [true, 48, 0, 0]);
    assert.ok(existsSync(done.judgedCsv));
  });

  it('em-lab judge --batch, then --collect: half-price estimate, still-running message, then judged.csv', async () => {
    await start({ pollsUntilDone: 1 });
    const file = join(dir, 'answers.csv');
    writeFileSync(file, 'id,question,response\n' + makeAnswers().map((a) => `${a.id},${a.question},${a.response}`).join('\n') + '\n');
    const args = (extra: Record<string, string | boolean>) => ({ options: { 'judge-base-url': server.baseURL, 'judge-model': 'gpt-4o-mini', mode: 'sampled', 'judge-temperature': '0.2', concurrency: '4', timeout: '10', 'max-attempts': '2', 'no-cache': true, preset: 'homework', ...extra }, positionals: [file] });
    const noBatch = captureIO({ cwd: dir });
    await assert.rejects(judgeCommand.run(args({ collect: true }), noBatch), /No judge batches were submitted from .*--batch/);
    const io1 = captureIO({ cwd: dir });
    assert.equal(await judgeCommand.run(args({ batch: true }), io1), 0, io1.stderr.join('\n'));
    assert.match(io1.stdout.join('\n'), /Submitted 1 batch \(44 requests, batch price: about \$0\.\d{4}, half the live price\)/);
    assert.match(io1.stdout.join('\n'), /em-lab judge .*answers\.csv --collect/);
    const io2 = captureIO({ cwd: dir });
    assert.equal(await judgeCommand.run(args({ collect: true }), io2), 0);
    assert.match(io2.stdout.join('\n'), /1 batch still running \(batch_fake\d+: in_progress, 0\/44 done\): nothing was requested live for the 48 judgements/);
    const io3 = captureIO({ cwd: dir });
    assert.equal(await judgeCommand.run(args({ collect: true }), io3), 0, io3.stderr.join('\n'));
    assert.match(io3.stdout.join('\n'), /48 from batches/);
    assert.match(io3.stdout.join('\n'), /Wrote .*judged\.csv/);
    assert.ok(existsSync(join(dir, 'judged.csv')));
  });
});
