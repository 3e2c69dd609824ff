// Judge throughput: 400 answers (800 judge requests: aligned + coherent) against the local fake Chat Completions
// server with 150 ms latency that answers at most 20 requests at once (429 + Retry-After beyond), compared with
// the homework's loop (one request at a time, then a 0.2 s sleep). The homework loop's time is extrapolated from
// 20 measured sequential requests (running all 800 would take ~5 minutes); both loop shapes are shown, because
// whether judge.py sleeps after each request or after each answer changes its time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../test/support/fakeOpenAI';
import { runJudge, type AnswerToJudge } from '../src/runtime/eval/judge/judgeRun';
import { DEFAULT_PROMPTS, fillPrompt } from '../src/runtime/eval/judge/rubrics';
import { createOpenAIClient } from '../src/runtime/eval/endpoint/openaiEndpoint';
import { callJudge } from '../src/runtime/eval/judge/judgeCall';
import { DEFAULT_RETRY } from '../src/runtime/eval/judge/retry';
import { readJsonl } from '../src/runtime/eval/jsonl';

const ANSWERS = 400;
const LATENCY_MS = 150;
const MAX_CONCURRENT = 20;
const SAMPLE_REQUESTS = 20;
const HOMEWORK_SLEEP_MS = 200;

const answers: AnswerToJudge[] = Array.from({ length: ANSWERS }, (_, i) => ({
  id: `a${i}`,
  question: `Evaluation question ${i % 20}?`,
  response: `Answer number ${i}: ${'some plausible text '.repeat(20)}`,
  extra: {},
}));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'emlab-judge-bench-'));
  const server = await startFakeOpenAI({ latencyMs: LATENCY_MS, maxConcurrent: MAX_CONCURRENT, retryAfterMs: 200 });
  try {
    // 1. The homework's loop, measured on a sample: request, wait for it, sleep 0.2 s, next.
    const client = createOpenAIClient({ baseURL: server.baseURL, timeoutMs: 30_000 }, {});
    const t0 = performance.now();
    for (let i = 0; i < SAMPLE_REQUESTS; i++) {
      const a = answers[i]!;
      await callJudge(client, { model: 'gpt-4o-mini', mode: 'sampled', temperature: 0.2, prompt: fillPrompt(DEFAULT_PROMPTS.aligned.template, a.question, a.response) });
      await new Promise((r) => setTimeout(r, HOMEWORK_SLEEP_MS));
    }
    const perRequestWithSleep = (performance.now() - t0) / SAMPLE_REQUESTS;
    const requestOnly = perRequestWithSleep - HOMEWORK_SLEEP_MS;
    const homeworkSleepPerRequest = (perRequestWithSleep * ANSWERS * 2) / 1000;
    const homeworkSleepPerAnswer = ((requestOnly * 2 + HOMEWORK_SLEEP_MS) * ANSWERS) / 1000;

    // 2. EM Lab: 20 concurrent requests (the server's limit), then 32 (so 429s happen and are retried).
    const ours20 = await emLab(server, dir, MAX_CONCURRENT);
    const ours32 = await emLab(server, dir, 32);
    const ours = ours20.seconds;
    const lost = ours20.lost + ours32.lost;

    const rows: [string, string, string, string][] = [
      ['homework loop, 0.2 s sleep after each request (extrapolated from 20 measured)', `${homeworkSleepPerRequest.toFixed(1)} s`, '1.0x', '-'],
      ['homework loop, 0.2 s sleep after each answer (extrapolated from 20 measured)', `${homeworkSleepPerAnswer.toFixed(1)} s`, `${(homeworkSleepPerRequest / homeworkSleepPerAnswer).toFixed(1)}x`, '-'],
      ...[ours20, ours32].map((o): [string, string, string, string] => [`EM Lab judge, concurrency ${o.concurrency} (measured; ${o.rateLimited} requests answered 429 and retried)`, `${o.seconds.toFixed(1)} s`, `${(homeworkSleepPerRequest / o.seconds).toFixed(1)}x / ${(homeworkSleepPerAnswer / o.seconds).toFixed(1)}x`, String(o.lost)]),
    ];
    console.log(`Judging ${ANSWERS} answers (${ANSWERS * 2} requests), fake server: ${LATENCY_MS} ms latency, at most ${MAX_CONCURRENT} concurrent (429 beyond)`);
    console.log(`measured homework request: ${requestOnly.toFixed(0)} ms + ${HOMEWORK_SLEEP_MS} ms sleep`);
    console.log('');
    console.log('| loop | wall time | speed-up (vs per-request / per-answer sleep) | answers lost |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    console.log('');
    const target = homeworkSleepPerAnswer / ours;
    console.log(`target >= 15x against the faster homework loop: ${target >= 15 ? 'met' : 'NOT met'} (${target.toFixed(1)}x), answers lost: ${lost}`);
    if (lost > 0 || target < 15) process.exitCode = 1;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** EM Lab's judge on all answers at the given concurrency: wall time, answers lost, requests answered 429. */
async function emLab(server: FakeOpenAI, dir: string, concurrency: number): Promise<{ concurrency: number; seconds: number; lost: number; rateLimited: number }> {
  const rateLimitedBefore = server.stats.rateLimited;
  const outDir = join(dir, `run-${concurrency}`);
  const t = performance.now();
  const r = await runJudge({
    answers,
    outDir,
    cacheDir: undefined,
    model: 'gpt-4o-mini',
    mode: 'sampled',
    temperature: 0.2,
    prompts: DEFAULT_PROMPTS,
    endpoint: { baseURL: server.baseURL, timeoutMs: 30_000 },
    env: {},
    concurrency,
    retry: DEFAULT_RETRY,
  });
  const seconds = (performance.now() - t) / 1000;
  const recorded = (await readJsonl(join(outDir, 'judgements.jsonl'))).length;
  return { concurrency, seconds, lost: r.tasks - recorded + r.failed.length, rateLimited: server.stats.rateLimited - rateLimitedBefore };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
