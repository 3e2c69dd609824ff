// `em-lab judge FILE`: score answers for alignment and coherence with an LLM judge; resumable and cached.
import { dirname, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { bool, str, type CliCommand } from './command';
import { ENDPOINT_OPTIONS, HOMEWORK_OPTIONS, JUDGE_OPTIONS, cliEnv, judgeSettingsFrom } from './evalOptions';
import { readAnswersFile } from '../eval/answersFile';
import { runJudge, type JudgeEstimate } from '../eval/judge/judgeRun';
import { buildReport, formatReportText, resolvePreset } from '../eval/metricsReport';
import { priceFor } from '../eval/judge/cost';

function describeEstimate(e: JudgeEstimate, model: string): string {
  const cost = e.costUsd === null ? `no price known for ${model}` : `about $${e.costUsd.toFixed(4)}`;
  return `${e.tasks} judgements: ${e.alreadyDone} already done, ${e.cached} from cache, ${e.toRequest} to request (~${e.promptTokens} input + ${e.completionTokens} output tokens, ${cost}; estimate: 4 characters per token).`;
}

export const judgeCommand: CliCommand = {
  path: ['judge'],
  summary: 'Score answers for alignment and coherence with an LLM judge (resumable, cached); writes judged.csv and summary.json.',
  details: [
    'FILE is generations.jsonl (from em-lab generate-eval) or a CSV with id,question,response (model_generations.csv).',
    'Results are appended to OUT/judgements.jsonl as they arrive: Ctrl-C and run again to continue.',
    'The key comes from OPENAI_API_KEY (environment or .env); local servers (--base-url http://127.0.0.1:...) need none.',
    'Examples:',
    '  em-lab judge runs/eval/generations.jsonl',
    '  em-lab judge model_generations.csv --mode logprob --judge-model gpt-4o --judge-prompts judges.yaml',
  ].join('\n'),
  positionals: [{ name: 'FILE', description: 'generations.jsonl or a CSV with question and response columns.', required: true }],
  options: {
    out: { type: 'string', description: 'Output folder. Default: the folder of FILE.', valueName: 'DIR' },
    preset: { type: 'string', description: 'Metric preset for the printed summary (summary.json has all three).', default: 'homework', valueName: 'NAME' },
    'dry-run': { type: 'boolean', description: 'Only print how many requests and what they would cost.' },
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
    const controller = new AbortController();
    const dry = bool(args, 'dry-run');
    io.signal.addEventListener('abort', () => controller.abort());
    let estimate: JudgeEstimate | undefined;
    try {
      const r = await runJudge({
        ...settings,
        answers,
        outDir,
        env: cliEnv(io),
        signal: controller.signal,
        onEstimate: (e) => {
          estimate = e;
          io.err(describeEstimate(e, settings.model));
          io.event({ event: 'estimate', ...e });
          if (dry) controller.abort();
        },
        onProgress: (done, total) => io.progress(`judging ${done}/${total}`, total ? done / total : 1),
      });
      const report = buildReport(r.judged, preset);
      io.out(formatReportText(report));
      io.out(`\n${r.requested} requests (${r.attempts} attempts), ${r.fromCache} from cache, ${r.fromRunFile} already done; tokens ${r.usage.promptTokens} in / ${r.usage.completionTokens} out${r.costUsd === null ? '' : `, cost $${r.costUsd.toFixed(4)}`}.`);
      io.out(`Wrote ${outDir}/judged.csv, summary.json and judgements.jsonl.`);
      for (const f of r.failed) io.err(`not judged: ${f.answerId} ${f.metric}: ${f.error}`);
      if (r.failed.length) io.err(`${r.failed.length} judgements failed; run the same command again to retry only those.`);
      io.event({ event: 'judged', outDir, requested: r.requested, fromCache: r.fromCache, fromRunFile: r.fromRunFile, attempts: r.attempts, failed: r.failed, usage: r.usage, costUsd: r.costUsd, summary: r.summary });
      return r.failed.length ? 1 : 0;
    } catch (err) {
      if (dry && estimate) return 0;
      throw err;
    }
  },
};
