// `em-lab check-submission FILE` (the homework's run_tests checks) and `em-lab submission RUN` (composes the
// homework's submission folder: model_generations.csv + training_details.md).
import { copyFile, mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { str, type CliCommand, type CliIO } from './command';
import { UserError } from '../errors';
import { checkSubmissionFile, type SubmissionCheck } from '../eval/submission';
import { readAnswersFile } from '../eval/answersFile';
import { formatModelGenerationsCsv } from '../eval/generationRun';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

function report(check: SubmissionCheck, file: string, io: CliIO): number {
  for (const e of check.errors) io.err(`error: ${e.message}`);
  for (const w of check.warnings) io.err(`warning: ${w.message}`);
  io.out(check.ok ? `${file}: OK (${check.rows} answers${check.warnings.length ? `, ${check.warnings.length} warnings` : ''}).` : `${file}: ${check.errors.length} problem(s); fix them and run again.`);
  io.event({ event: 'check-submission', file, ...check });
  return check.ok ? 0 : 1;
}

export const checkSubmissionCommand: CliCommand = {
  path: ['check-submission'],
  summary: "Check model_generations.csv as the homework's run_tests does: header, row count, ids, encoding.",
  positionals: [{ name: 'FILE', description: 'model_generations.csv', required: true }],
  async run(args, io) {
    const file = resolve(io.cwd, args.positionals[0]!);
    return report(await checkSubmissionFile(file), file, io);
  },
};

/** training_details.md from the run's config when the trainer did not write one: every setting, as a table. */
function composeTrainingDetails(config: Record<string, unknown>, configFile: string): string {
  const rows = Object.entries(config)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x !== 'object')))
    .map(([k, v]) => `| ${k} | ${Array.isArray(v) ? v.join(', ') : String(v)} |`);
  return [
    '# Training details',
    '',
    `Composed by EM Lab from ${configFile}. Describe the training domain(s), epochs, LoRA rank and anything you changed.`,
    '',
    '| setting | value |',
    '| --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

export const submissionCommand: CliCommand = {
  path: ['submission'],
  summary: "Write the homework's submission (model_generations.csv + training_details.md) from a run, then check it.",
  details: 'Answers come from --generations, else RUN/eval/generations.jsonl or RUN/eval/model_generations.csv. training_details.md is copied from RUN (em-lab train writes it) or composed from RUN/training_config.json.',
  positionals: [{ name: 'RUN', description: 'Training run folder.', required: true }],
  options: {
    generations: { type: 'string', description: 'generations.jsonl or model_generations.csv to submit.', valueName: 'FILE' },
    out: { type: 'string', description: 'Submission folder. Default: RUN/submission.', valueName: 'DIR' },
  },
  async run(args, io) {
    const runDir = resolve(io.cwd, args.positionals[0]!);
    const outDir = resolve(io.cwd, str(args, 'out') ?? join(runDir, 'submission'));
    const candidates = [str(args, 'generations') && resolve(io.cwd, str(args, 'generations')!), join(runDir, 'eval', 'generations.jsonl'), join(runDir, 'eval', 'model_generations.csv')].filter((x): x is string => !!x);
    let source: string | undefined;
    for (const c of candidates) {
      if (await exists(c)) {
        source = c;
        break;
      }
    }
    if (!source) throw new UserError('no-generations', `No answers to submit: none of ${candidates.join(', ')} exists. Run em-lab generate-eval --preset homework --out ${join(runDir, 'eval')} first, or pass --generations FILE.`);
    const answers = await readAnswersFile(source);
    await mkdir(outDir, { recursive: true });
    const csv = join(outDir, 'model_generations.csv');
    await writeFile(csv, formatModelGenerationsCsv(answers));
    const details = join(outDir, 'training_details.md');
    const config = ['training_config.json', 'config.json'].map((n) => join(runDir, n));
    if (await exists(join(runDir, 'training_details.md'))) await copyFile(join(runDir, 'training_details.md'), details);
    else if (await exists(config[0]!)) await writeFile(details, composeTrainingDetails(JSON.parse(await readFile(config[0]!, 'utf8')) as Record<string, unknown>, config[0]!));
    else if (await exists(config[1]!)) await writeFile(details, composeTrainingDetails(JSON.parse(await readFile(config[1]!, 'utf8')) as Record<string, unknown>, config[1]!));
    else throw new UserError('no-training-details', `${runDir} has neither training_details.md nor training_config.json. Write training_details.md by hand (domains, epochs, LoRA rank, ...) into ${outDir}.`);
    io.out(`Wrote ${csv} (from ${source}) and ${details}.`);
    return report(await checkSubmissionFile(csv), csv, io);
  },
};
