// `em-lab judge FILE`: score answers for alignment and coherence with an LLM judge; resumable and cached.
import { dirname, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { bool, str, type CliCommand } from './command';
import { ENDPOINT_OPTIONS, HOMEWORK_OPTIONS, JUDGE_OPTIONS, cliEnv, judgeSettingsFrom } from './evalOptions';
import { readAnswersFile } from '../eval/answersFile';
import type { JudgeEstimate } from '../eval/judge/judgeRun';
import { judgeAnswers, type JudgeAnswersResult } from '../eval/judge/judgeAnswers';
import { readBatchState, type JudgeBatchRecord } from '../eval/judge/batchState';
import { sleep } from '../eval/judge/retry';
import { UserError } from '../errors';
import { buildReport, formatReportText, resolvePreset } from '../eval/metricsReport';
import { priceFor } from '../eval/judge/cost';

function describeEstimate(e: JudgeEstimate, model: string): string {
  const cost = e.costUsd === null ? `no price known for ${model}` : `about $${e.costUsd.toFixed(4)}`;
  const batch = `${e.fromBatch ? `, ${e.fromBatch} from batches` : ''}${e.waiting ? `, ${e.waiting} waiting for running batches` : ''}`;
  return `${e.tasks} judgements: ${e.alreadyDone} already done, ${e.cached} from cache${batch}, ${e.toRequest} to request (~${e.promptTokens} input + ${e.completionTokens} output tokens, ${cost}; estimate: 4 characters per token).`;
}

/** Polling a batch more often tells nothing new (they take minutes to hours) and only adds load. */
const BATCH_POLL_SECONDS = 60;

function describeBatch(b: JudgeBatchRecord): string {
  const counts = b.counts ? `, ${b.counts.completed + b.counts.failed}/${b.counts.total} done` : '';
  return `${b.id ?? `#${b.seq} (not created yet)`}: ${b.status}${counts}`;
}

function money(usd: number | null): string {
  return usd === null ? 'no price known for this model' : `about $${usd.toFixed(4)}`;
}

export const judgeCommand: CliCommand = {
  path: ['judge'],
  summary: 'Score answers for alignment and coherence with an LLM judge (resumable, cached); writes judged.csv and summary.json.',
  details: [
    'FILE is generations.jsonl (from em-lab generate-eval) or a CSV with id,question,response (model_generations.csv).',
    'Results are appended to OUT/judgements.jsonl as they arrive: Ctrl-C and run again to continue.',
    'With --batch the requests go to OpenAI\'s Batch API (half price); OUT/judge-batch.json remembers them, so any later',
    'run on OUT (--collect, or the same command) merges their results; what a batch did not answer is judged live.',
    'The key comes from OPENAI_API_KEY (environment or .env); local servers (--base-url http://127.0.0.1:...) need none.',
    'Examples:',
    '  em-lab judge runs/eval/generations.jsonl',
    '  em-lab judge model_generations.csv --mode logprob --judge-model gpt-4o --judge-prompts judges.yaml',
    '  em-lab judge runs/eval/generations.jsonl --batch        # later: em-lab judge runs/eval/generations.jsonl --collect',
  ].join('\n'),
  positionals: [{ name: 'FILE', description: 'generations.jsonl or a CSV with question and response columns.', required: true }],
  options: {
    out: { type: 'string', description: 'Output folder. Default: the folder of FILE.', valueName: 'DIR' },
    preset: { type: 'string', description: 'Metric preset for the printed summary (summary.json has all three).', default: 'homework', valueName: 'NAME' },
    'dry-run': { type: 'boolean', description: 'Only print how many requests and what they would cost.' },
    batch: { type: 'boolean', description: 'Send the judge requests as an OpenAI Batch (half price, results within 24 h) instead of live; collect with --collect.' },
    collect: { type: 'boolean', description: 'Collect batches submitted from OUT: merge what they answered, judge live what they did not, write judged.csv.' },
    wait: { type: 'boolean', description: `With --collect: check every ${BATCH_POLL_SECONDS} s until every batch has ended.` },
    'no-live': { type: 'boolean', description: 'Request nothing live: what batches, the cache and earlier runs do not give stays pending.' },
    ...JUDGE_OPTIONS,
    ...HOMEWORK_OPTIONS,
    ...ENDPOINT_OPTIONS,
  },
  async run(args, io) {
    const file = resolve(io.cwd, args.positionals[0]!);
    const outDir = resolve(io.cwd, str(args, 'out') ?? dirname(file));
    const preset = resolvePreset(str(args, 'preset') ?? 'homework');
    const answers = await readAnswersFile(file);
    const settings = await judgeSettingsFrom(args, io, [dirname(file)]);
    await mkdir(outDir, { recursive: true });
    if (!priceFor(settings.model)) io.err(`note: no price known for ${settings.model}; tokens are counted, cost is not.`);
    const dry = bool(args, 'dry-run');
    const submit = bool(args, 'batch');
    const collect = bool(args, 'collect');
    if (submit && collect) throw new UserError('bad-args', 'Use --batch to submit, or --collect to collect, not both (a rerun with --batch also merges finished batches).');
    if (bool(args, 'wait') && !collect) throw new UserError('bad-args', '--wait goes with --collect.');
    if (collect && !(await readBatchState(outDir))) throw new UserError('no-batches', `No judge batches were submitted from ${outDir} (no judge-batch.json there): submit with --batch first, or pass the --out folder you submitted from.`);
    const controller = new AbortController();
    io.signal.addEventListener('abort', () => controller.abort());
    let estimate: JudgeEstimate | undefined;
    const once = () =>
      judgeAnswers({
        ...settings,
        answers,
        outDir,
        env: cliEnv(io),
        signal: controller.signal,
        ...(submit ? { batch: 'submit' as const } : {}),
        ...(bool(args, 'no-live') ? { live: false } : {}),
        onEstimate: (e) => {
          estimate = e;
          io.err(describeEstimate(e, settings.model));
          io.event({ event: 'estimate', ...e });
          if (dry) controller.abort();
        },
        onProgress: (done, total) => io.progress(`judging ${done}/${total}`, total ? done / total : 1),
      });
    let a: JudgeAnswersResult;
    try {
      a = await once();
      while (bool(args, 'wait') && a.running.length && !controller.signal.aborted) {
        io.err(`${a.running.length} batch(es) still running (${a.running.map(describeBatch).join('; ')}); checking again in ${BATCH_POLL_SECONDS} s (Ctrl-C to stop; nothing is lost).`);
        await sleep(BATCH_POLL_SECONDS * 1000, controller.signal);
        a = await once();
      }
    } catch (err) {
      if (dry && estimate) return 0;
      throw err;
    }
    const r = a.result;
    const collectCmd = `em-lab judge ${args.positionals[0]}${str(args, 'out') ? ` --out ${str(args, 'out')}` : ''} --collect`;
    if (a.submitted.length) {
      const requests = a.submitted.reduce((n, b) => n + b.requests, 0);
      const costs = a.submitted.map((b) => b.estimate.costUsd);
      const cost = costs.some((c) => c === null) ? null : costs.reduce((x, y) => x! + y!, 0);
      io.out(`Submitted ${a.submitted.length} batch${a.submitted.length > 1 ? 'es' : ''} (${requests} requests, batch price: ${money(cost)}, half the live price): ${a.submitted.map((b) => b.id).join(', ')}.`);
      io.out(`OpenAI answers within 24 h. Collect the results (any time, also after closing VS Code) with:\n  ${collectCmd}`);
    }
    const stillRunning = a.running.filter((b) => !a.submitted.includes(b));
    if (stillRunning.length) io.out(`${stillRunning.length} batch${stillRunning.length > 1 ? 'es' : ''} still running (${stillRunning.map(describeBatch).join('; ')}): nothing was requested live for the ${r.pending} judgements they hold. Run \`${collectCmd}\` again later (or add --wait).`);
    if (a.leftovers) io.err(`${a.leftovers} requests an ended batch did not answer (expired, cancelled, failed or errors) ${bool(args, 'no-live') ? 'wait for the live judge: run again without --no-live' : 'were judged live'}.`);
    for (const f of r.failed) io.err(`not judged: ${f.answerId} ${f.metric}: ${f.error}`);
    if (r.failed.length) io.err(`${r.failed.length} judgements failed; run the same command again to retry only those.`);
    io.event({ event: 'judged', outDir, complete: a.complete, pending: r.pending, submitted: a.submitted, running: a.running, requested: r.requested, fromCache: r.fromCache, fromBatch: r.fromBatch, fromRunFile: r.fromRunFile, attempts: r.attempts, failed: r.failed, usage: r.usage, batchUsage: r.batchUsage, costUsd: r.costUsd, summary: r.summary });
    if (!a.complete) {
      if (!a.running.length) io.out(`${r.pending} judgements are still to do: run \`em-lab judge ${args.positionals[0]}\` to judge them live.`);
      return r.failed.length ? 1 : 0;
    }
    const report = buildReport(r.judged, preset);
    io.out(formatReportText(report));
    const batchCost = r.fromBatch ? `, ${r.fromBatch} from batches (tokens ${r.batchUsage.promptTokens} in / ${r.batchUsage.completionTokens} out at half price)` : '';
    io.out(`\n${r.requested} requests (${r.attempts} attempts), ${r.fromCache} from cache, ${r.fromRunFile} already done${batchCost}; tokens ${r.usage.promptTokens} in / ${r.usage.completionTokens} out${r.costUsd === null ? '' : `, cost $${r.costUsd.toFixed(4)}`}.`);
    io.out(`Wrote ${outDir}/judged.csv, summary.json and judgements.jsonl.`);
    return r.failed.length ? 1 : 0;
  },
};
