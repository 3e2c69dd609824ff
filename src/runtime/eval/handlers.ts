// Runtime methods of the evaluation domain (the same services as the em-lab eval commands).
import { dirname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { loadJudgedFileView } from './judgedView';
import { readAnswersFile } from './answersFile';
import { runJudge } from './judge/judgeRun';
import { DEFAULT_PROMPTS } from './judge/rubrics';
import { DEFAULT_RETRY } from './judge/retry';
import { loadDotenv } from '../env/findDotenv';
import { effectiveEnv } from '../env/secrets';

export const evalHandlers = {
  'eval/loadJudged': async (params) => loadJudgedFileView(params.path, params.basePath),
  'eval/judge': async (params, ctx) => {
    const outDir = params.outDir ?? dirname(params.answersPath);
    await mkdir(outDir, { recursive: true });
    const r = await runJudge({
      answers: await readAnswersFile(params.answersPath),
      outDir,
      cacheDir: params.cacheDir ?? join(ctx.storageDir, 'judge-cache'),
      model: params.model,
      mode: params.mode,
      temperature: 0.2,
      prompts: DEFAULT_PROMPTS,
      endpoint: { ...(params.baseURL ? { baseURL: params.baseURL } : {}), timeoutMs: params.timeoutMs ?? 60_000 },
      // SecretStorage keys arrive in ctx.env; a .env next to (or above) the answers fills what is missing.
      env: effectiveEnv(ctx.env, loadDotenv(dirname(params.answersPath))),
      concurrency: params.concurrency ?? 8,
      retry: DEFAULT_RETRY,
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress(`Judging ${done}/${total}`, total ? done / total : 1),
    });
    return { outDir, judgedCsv: join(outDir, 'judged.csv'), requested: r.requested, fromCache: r.fromCache, fromRunFile: r.fromRunFile, failed: r.failed.length, costUsd: r.costUsd };
  },
} satisfies Pick<RuntimeHandlers, 'eval/loadJudged' | 'eval/judge'>;
