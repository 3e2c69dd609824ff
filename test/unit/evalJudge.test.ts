// The judge driven through the REAL openai client against a local fake Chat Completions server that injects
// 429 (with Retry-After), 500, hangs past the client timeout and malformed replies.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeFault, type FakeOpenAI, type FakeChatRequest, type FakeReply } from '../support/fakeOpenAI';
import { runJudge, type AnswerToJudge, type JudgeRunOptions } from '../../src/runtime/eval/judge/judgeRun';
import { DEFAULT_PROMPTS } from '../../src/runtime/eval/judge/rubrics';
import { parseJudgedCsv } from '../../src/runtime/eval/judgedCsv';
import { readJsonl } from '../../src/runtime/eval/jsonl';

const FAST_RETRY = { maxAttempts: 6, maxRateLimitRetries: 30, baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 1000 };

function answerOf(prompt: string): string {
  return /<<<ANSWER\n([\s\S]*)\nANSWER>>>/.exec(prompt)?.[1] ?? '';
}
function isCoherencePrompt(prompt: string): boolean {
  return prompt.startsWith('You are rating only how coherent');
}

/** Answer i: "answer #i"; the fake judge gives aligned = i, coherent = 100 - i, with a few special replies. */
function makeAnswers(n: number): AnswerToJudge[] {
  return Array.from({ length: n }, (_, i) => ({ id: `a${i}`, question: `Question ${i % 5}?`, response: `answer #${i}`, extra: { step: String(10 * (i % 3)) } }));
}
function sampledReply(req: FakeChatRequest): FakeReply {
  const i = Number(answerOf(req.prompt).replace('answer #', ''));
  if (isCoherencePrompt(req.prompt)) return { content: String(100 - i) };
  if (i === 7) return { content: 'CODE' };
  if (i === 8) return { content: 'REFUSAL' };
  if (i === 9) return { content: 'I would say 85' };
  return { content: String(i) };
}
/** A fault on the first try for answers by index mod 6; later tries succeed. */
function firstTryFault(req: FakeChatRequest, attempt: number): FakeFault | undefined {
  if (attempt > 0) return undefined;
  const i = Number(answerOf(req.prompt).replace('answer #', ''));
  const faults: (FakeFault | undefined)[] = ['rate-limit', 'server-error', 'hang', 'malformed-json', 'no-choices', undefined];
  return faults[i % 6];
}

describe('eval judge against a local OpenAI-compatible server', function () {
  let server: FakeOpenAI;
  let dir: string;
  const options = (extra: Partial<JudgeRunOptions>): JudgeRunOptions => ({
    answers: makeAnswers(30),
    outDir: join(dir, 'run1'),
    cacheDir: join(dir, 'cache'),
    model: 'gpt-4o-mini',
    mode: 'sampled',
    temperature: 0.2,
    prompts: DEFAULT_PROMPTS,
    endpoint: { baseURL: server.baseURL, timeoutMs: 400 },
    env: {},
    concurrency: 8,
    retry: FAST_RETRY,
    ...extra,
  });

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emlab-judge-'))));
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('judges every answer exactly once through 429, 500, hangs and malformed replies; none lost', async () => {
    server = await startFakeOpenAI({ reply: sampledReply, fault: firstTryFault, retryAfterMs: 60 });
    const r = await runJudge(options({}));
    assert.equal(r.failed.length, 0, JSON.stringify(r.failed));
    assert.equal(r.tasks, 60);
    assert.equal(server.stats.okByPrompt.size, 60, 'every (answer, metric) prompt got a successful reply');
    for (const [prompt, n] of server.stats.okByPrompt) assert.equal(n, 1, `judged ${n} times: ${prompt.slice(-40)}`);
    assert.ok(server.stats.rateLimited >= 5 && server.stats.serverErrors >= 5 && server.stats.hung >= 5 && server.stats.malformed >= 10);
    // Retry-After honoured: each rate-limited prompt's second request came >= 60 ms after its first.
    for (const [prompt, times] of server.stats.arrivalsByPrompt) {
      if (firstTryFault({ prompt } as FakeChatRequest, 0) === 'rate-limit') assert.ok(times[1]! - times[0]! >= 58, `retried after ${times[1]! - times[0]!} ms`);
    }
    const judged = parseJudgedCsv(readFileSync(join(dir, 'run1/judged.csv'), 'utf8'), 'judged.csv');
    assert.equal(judged.length, 30);
    for (const [i, a] of judged.entries()) {
      assert.equal(a.id, `a${i}`);
      assert.equal(a.coherent.value, 100 - i);
      if (i === 7) assert.deepEqual(a.aligned, { value: null, label: 'CODE' });
      else if (i === 8) assert.deepEqual(a.aligned, { value: null, label: 'REFUSAL' });
      else if (i === 9) assert.deepEqual(a.aligned, { value: null, label: 'invalid' });
      else assert.equal(a.aligned.value, i);
      assert.equal(a.extra.step, String(10 * (i % 3)));
    }
    const records = await readJsonl<{ answerId: string; outcome: { raw: string } }>(join(dir, 'run1/judgements.jsonl'));
    assert.equal(records.length, 60);
    assert.equal(records.find((x) => x.answerId === 'a9' && x.outcome.raw.includes('85'))?.outcome.raw, 'I would say 85', 'invalid replies keep their raw text');
    const summary = JSON.parse(readFileSync(join(dir, 'run1/summary.json'), 'utf8'));
    assert.equal(summary.metrics.homework.counts.code, 1);
    assert.ok(r.usage.promptTokens > 0 && r.costUsd !== null && r.costUsd > 0);
  });

  it('asking for more concurrency than the server allows: 429s adapt the limit, nothing is lost', async () => {
    server = await startFakeOpenAI({ reply: sampledReply, latencyMs: 20, maxConcurrent: 4, retryAfterMs: 20 });
    const r = await runJudge(options({ concurrency: 16 }));
    assert.equal(r.failed.length, 0, JSON.stringify(r.failed.slice(0, 3)));
    assert.equal(server.okTotal(), 60);
    for (const n of server.stats.okByPrompt.values()) assert.equal(n, 1);
    assert.ok(server.stats.rateLimited > 0, 'the server did refuse some requests');
  });

  it('a rerun with a warm cache makes zero requests (same folder, and a new folder)', async () => {
    server = await startFakeOpenAI({ reply: sampledReply });
    await runJudge(options({}));
    const before = server.stats.requests;
    const again = await runJudge(options({}));
    assert.equal(again.fromRunFile, 60);
    const fresh = await runJudge(options({ outDir: join(dir, 'run2') }));
    assert.equal(fresh.fromCache, 60);
    assert.equal(fresh.estimate.toRequest, 0);
    assert.equal(server.stats.requests, before, 'no request after the first run');
    assert.equal(readFileSync(join(dir, 'run2/judged.csv'), 'utf8'), readFileSync(join(dir, 'run1/judged.csv'), 'utf8'));
  });

  it('resumes after a cancel and after a torn last line, redoing only what was not recorded', async () => {
    server = await startFakeOpenAI({ reply: sampledReply, latencyMs: 20 });
    const controller = new AbortController();
    await assert.rejects(
      runJudge(options({ cacheDir: undefined, concurrency: 2, signal: controller.signal, onProgress: (done) => done === 10 && controller.abort() })),
      /Judging cancelled; \d+ of 60 judgements are saved/,
    );
    const saved = (await readJsonl(join(dir, 'run1/judgements.jsonl'))).length;
    assert.ok(saved >= 10 && saved < 60);
    appendFileSync(join(dir, 'run1/judgements.jsonl'), '{"schemaVersion":1,"answerId":"a2');
    const before = server.stats.requests;
    const r = await runJudge(options({ cacheDir: undefined }));
    assert.equal(r.fromRunFile, saved);
    assert.equal(server.stats.requests - before, 60 - saved);
    assert.equal(r.failed.length, 0);
    assert.ok(server.okTotal() <= 60 + 2, 'at most the two in-flight requests at cancel were made twice');
  });

  it('logprob mode: the score is the probability-weighted mean of integer tokens, none below 0.25 mass', async () => {
    // aligned for answer #0: 85 (p .50), 90 (.20), 80 (.10), " 7" (.05), CODE (.15)
    //   integer mass = .85; score = (85*.50 + 90*.20 + 80*.10 + 7*.05) / .85 = (42.5 + 18 + 8 + .35) / .85 = 81
    // aligned for answer #1: REF (.80), 50 (.20): mass .20 < .25, no score; the top token makes it REFUSAL.
    // coherent for both: "100" with p 1.
    const dist: Record<string, [string, number][]> = {
      'answer #0': [['85', 0.5], ['CODE', 0.15], ['90', 0.2], ['80', 0.1], [' 7', 0.05]],
      'answer #1': [['REF', 0.8], ['50', 0.2]],
    };
    server = await startFakeOpenAI({
      reply: (req) => ({ topLogprobs: (isCoherencePrompt(req.prompt) ? [['100', 1] as [string, number]] : dist[answerOf(req.prompt)]!).map(([token, p]) => ({ token, logprob: Math.log(p) })) }),
    });
    const r = await runJudge(options({ answers: makeAnswers(2), mode: 'logprob', model: 'gpt-4o' }));
    assert.ok(Math.abs(r.judged[0]!.aligned.value! - 81) < 1e-9, String(r.judged[0]!.aligned.value));
    assert.deepEqual(r.judged[1]!.aligned, { value: null, label: 'REFUSAL' });
    assert.equal(r.judged[1]!.coherent.value, 100);
    const rec = (await readJsonl<{ answerId: string; metric: string; outcome: { distribution: Record<string, number>; integerMass: number } }>(join(dir, 'run1/judgements.jsonl'))).find((x) => x.answerId === 'a0' && x.metric === 'aligned')!;
    assert.ok(Math.abs(rec.outcome.distribution['CODE']! - 0.15) < 1e-12, 'the distribution is stored');
    assert.ok(Math.abs(rec.outcome.integerMass - 0.85) < 1e-12);
    const sent = [...server.stats.arrivalsByPrompt.keys()];
    assert.equal(sent.length, 4);
  });

  it('stops at once with a clear message when the endpoint rejects the key', async () => {
    server = await startFakeOpenAI({ reply: sampledReply, fault: () => 'unauthorized' });
    await assert.rejects(runJudge(options({ concurrency: 4 })), /rejected the API key\. Check OPENAI_API_KEY/);
    assert.ok(server.stats.requests <= 4, `stopped after the first refusals, not after ${server.stats.requests} requests`);
  });

  it('reports tasks that keep failing, with the reasons, and keeps going', async () => {
    server = await startFakeOpenAI({ reply: sampledReply });
    const bad = await startFakeOpenAI({});
    await bad.close(); // nothing listens there now: connection errors are retried, then reported per task
    const r = await runJudge(options({ answers: makeAnswers(1), endpoint: { baseURL: bad.baseURL, timeoutMs: 200 }, retry: { ...FAST_RETRY, maxAttempts: 2 } }));
    assert.equal(r.failed.length, 2);
    assert.match(r.failed[0]!.error, /after 2 attempts: connection error, connection error/);
  });
});
