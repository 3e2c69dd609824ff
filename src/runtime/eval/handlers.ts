// Runtime methods of the evaluation domain (the same services as the em-lab eval commands).
import { dirname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { JUDGE_DEFAULTS } from '../../protocol/evalMethods';
import { cliJudgeCacheDir } from '../storage';
import { loadJudgedFileView } from './judgedView';
import { readAnswersFile } from './answersFile';
import { judgeAnswers } from './judge/judgeAnswers';
import { readBatchState, type JudgeBatchRecord } from './judge/batchState';
import { UserError } from '../errors';
import type { JudgeBatchView } from '../../protocol/evalMethods';
import { DEFAULT_PROMPTS } from './judge/rubrics';
import { DEFAULT_RETRY } from './judge/retry';
import { loadDotenv } from '../env/findDotenv';
import { effectiveEnv } from '../env/secrets';
import { dotenvForEndpoints, projectRoot } from '../env/endpoints';
import { sessionsFor } from '../model/generateSession';
import { localGenerator } from './generators/localGenerator';
import { runGeneration } from './generationRun';
import { emLabPlan, homeworkPlan, paperPlan } from './generationPresets';
import { findHomework, GRADER, homeworkHint, loadHomework, type HomeworkCheckout } from './homework/checkout';
import { fetchHomework } from './homework/fetch';

/** The homework checkout `start` is (or is inside), for the homework preset; a clear error without one. */
function checkoutFor(start: string): HomeworkCheckout {
  const dir = findHomework(start);
  if (!dir) throw new UserError('homework-not-found', homeworkHint(start));
  return loadHomework(dir);
}

function judgeEnv(env: NodeJS.ProcessEnv, answersPath: string, workspaceDir: string | undefined): NodeJS.ProcessEnv {
  const { dotenv, notes } = dotenvForEndpoints(loadDotenv(dirname(answersPath)), workspaceDir ?? projectRoot(dirname(answersPath)));
  for (const n of notes) process.stderr.write(`eval/judge: ${n}\n`); // the EM Lab log
  return effectiveEnv(env, dotenv);
}

export const evalHandlers = {
  'eval/generate': async (params, ctx) => {
    const preset = params.preset === 'paper' ? paperPlan(params.seed ?? 0) : params.preset === 'em-lab' ? emLabPlan(params.seed ?? 0) : homeworkPlan(checkoutFor(params.homeworkDir ?? params.outDir), params.seed ?? 0);
    const plan = params.maxNewTokens ? { ...preset, sampling: { ...preset.sampling, maxNewTokens: params.maxNewTokens } } : preset;
    const generator = localGenerator({ sessions: sessionsFor(ctx.storageDir, ctx.env), model: params.model, ...(params.adapter ? { adapter: params.adapter } : {}) });
    const r = await runGeneration({ plan, generator, outDir: params.outDir, signal: ctx.signal, onProgress: (d, t, speed) => ctx.progress(`Generating ${d}/${t}${speed ? ` · ${speed}` : ''}`, t ? d / t : 1) });
    return { outDir: params.outDir, generationsPath: r.generationsFile, csvPath: r.csvFile, answers: r.records.length, fromRunFile: r.fromRunFile, failed: r.failed.length };
  },
  'eval/fetchHomework': async (params, ctx) => fetchHomework({ destination: params.destination, ...(params.ref ? { ref: params.ref } : {}), signal: ctx.signal, onProgress: (m, f) => ctx.progress(m, f) }),
  'eval/loadJudged': async (params) => loadJudgedFileView(params.path, params.basePath, params.homeworkDir),
  'eval/judge': async (params, ctx) => {
    const outDir = params.outDir ?? dirname(params.answersPath);
    await mkdir(outDir, { recursive: true });
    // The grader's judge where the answers sit in a homework checkout (or the workspace is one); sampled mode only.
    const homework = params.mode === 'sampled' ? [dirname(params.answersPath), params.homeworkDir].map((d) => d && findHomework(d)).find(Boolean) : undefined;
    const prompts = homework ? loadHomework(homework).prompts : DEFAULT_PROMPTS;
    if (params.batch === 'collect' && !(await readBatchState(outDir))) throw new UserError('no-batches', `No judge batches were submitted from ${outDir}: judge with the emLab.judge.batch setting on first.`);
    const a = await judgeAnswers({
      ...(params.batch === 'submit' ? { batch: 'submit' as const } : {}),
      answers: await readAnswersFile(params.answersPath),
      outDir,
      // The CLI's cache ($EM_LAB_CACHE_DIR or ~/.cache/em-lab): a judgement made in either is reused by the other.
      cacheDir: params.cacheDir ?? cliJudgeCacheDir(ctx.env),
      model: params.model,
      mode: params.mode,
      temperature: GRADER.judgeTemperature,
      prompts,
      endpoint: { ...(params.baseURL ? { baseURL: params.baseURL } : {}), timeoutMs: params.timeoutMs ?? 60_000 },
      // SecretStorage keys arrive in ctx.env; a .env next to (or above) the answers fills what is missing, but sets
      // endpoints only from inside the workspace (env/endpoints.ts): a .env above it cannot redirect the key
      env: judgeEnv(ctx.env, params.answersPath, params.workspaceDir),
      concurrency: params.concurrency ?? JUDGE_DEFAULTS.concurrency,
      retry: DEFAULT_RETRY,
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress(`Judging ${done}/${total}`, total ? done / total : 1),
    });
    const r = a.result;
    return {
      outDir,
      prompts: homework ? 'homework' : 'em-lab',
      judgedCsv: join(outDir, 'judged.csv'),
      requested: r.requested,
      fromCache: r.fromCache,
      fromRunFile: r.fromRunFile,
      failed: r.failed.length,
      costUsd: r.costUsd,
      complete: a.complete,
      pending: r.pending,
      fromBatch: r.fromBatch,
      submittedBatches: a.submitted.map(batchView),
      runningBatches: a.running.map(batchView),
    };
  },
} satisfies Pick<RuntimeHandlers, 'eval/generate' | 'eval/fetchHomework' | 'eval/loadJudged' | 'eval/judge'>;

function batchView(b: JudgeBatchRecord): JudgeBatchView {
  return { id: b.id ?? `#${b.seq}`, status: b.status, requests: b.requests, ...(b.counts ? { done: b.counts.completed + b.counts.failed } : {}), costUsd: b.estimate.costUsd };
}
