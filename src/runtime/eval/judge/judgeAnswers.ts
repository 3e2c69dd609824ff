// The judge as every caller runs it (CLI, VS Code, sweep, experiment runner): live, or through batches, or a
// mix when resuming. Each call first collects whatever batches of the output folder have ended, then
//   - batch 'submit': puts every judgement not yet at hand (not recorded, cached, answered by a batch, or held by a
//     running batch) into new batches;
//   - then judges live what is left, except what running batches hold (never paid twice), and writes judged.csv
//     and summary.json once every judgement is in.
// Leftovers of ended batches (expired, cancelled, failed, error lines) are judged live, so a partial batch costs
// nothing already answered and loses nothing. Results from batches and from the live endpoint go to the same
// judgements.jsonl, cache and judged.csv, parsed by the same function.
import { UserError } from '../../errors';
import { readBatchState, writeBatchState, type JudgeBatchRecord, type JudgeBatchState } from './batchState';
import { JudgeCache } from './cache';
import { batchResults, endpointUrl, refreshJudgeBatches, submitJudgeBatches, type BatchEndpoint } from './judgeBatch';
import { isTaskDone, judgeTasks, readJudgementRecords, runJudge, type JudgeRunOptions, type JudgeRunResult } from './judgeRun';

export interface JudgeAnswersOptions extends JudgeRunOptions {
  /** 'submit': send what is not at hand as batches instead of live requests. Default: live. */
  batch?: 'submit';
}

export interface JudgeAnswersResult {
  result: JudgeRunResult;
  /** Batches of this folder still running (submitted now or earlier). */
  running: JudgeBatchRecord[];
  /** Batches submitted by this call. */
  submitted: JudgeBatchRecord[];
  /** Batches collected (ended and downloaded) so far, this call or before. */
  collected: JudgeBatchRecord[];
  /** Judgements an ended batch did not answer, judged live now (or left, with live off). */
  leftovers: number;
  /** True when judged.csv holds every judgement (failures aside). */
  complete: boolean;
}

export async function judgeAnswers(o: JudgeAnswersOptions): Promise<JudgeAnswersResult> {
  const e: BatchEndpoint = { endpoint: o.endpoint, env: o.env, retry: o.retry, ...(o.signal ? { signal: o.signal } : {}) };
  let state: JudgeBatchState | undefined = await readBatchState(o.outDir);
  if (state && state.batches.some((b) => !b.downloadedAt) && state.endpoint !== endpointUrl(e)) {
    throw new UserError('batch-endpoint-mismatch', `The batches in ${o.outDir} were submitted to ${state.endpoint}, not ${endpointUrl(e)}: judge with --base-url ${state.endpoint} (or the same emLab.judge.baseUrl) to collect them.`);
  }
  if (state) await refreshJudgeBatches(o.outDir, state, e);
  let results = await batchResults(o.outDir, state, o.mode);

  let submitted: JudgeBatchRecord[] = [];
  if (o.batch === 'submit') {
    const done = await readJudgementRecords(o.outDir);
    const cache = await JudgeCache.open(o.cacheDir);
    await cache.close();
    const todo = judgeTasks(o.answers, o).filter((t) => !isTaskDone(done, t) && !cache.get(t.key) && !results.outcomes.has(t.key) && !results.running.has(t.key) && !results.leftovers.has(t.key));
    if (todo.length) {
      state ??= { schemaVersion: 1, kind: 'em-lab-judge-batches', endpoint: endpointUrl(e), model: o.model, mode: o.mode, batches: [] };
      state.endpoint = endpointUrl(e);
      await writeBatchState(o.outDir, state);
      submitted = await submitJudgeBatches(o.outDir, state, todo, o, e);
      results = await batchResults(o.outDir, state, o.mode);
    }
  }
  const result = await runJudge({ ...o, presolved: results.outcomes, defer: results.running });
  const batches = state?.batches ?? [];
  return {
    result,
    running: batches.filter((b) => !b.downloadedAt),
    submitted,
    collected: batches.filter((b) => b.downloadedAt),
    leftovers: results.leftovers.size,
    complete: result.pending === 0,
  };
}
