// `em-lab check-submission [FILE]` (the homework's run_tests.py: check, judge the first 20 rows, averages against
// the base model) and `em-lab submission RUN` (composes the homework's submission: model_generations.csv +
// training_details.md + train.sh).
import { existsSync } from 'node:fs';
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { bool, num, str, type CliCommand, type CliIO, type ParsedArgs } from './command';
import { UserError } from '../errors';
import { checkSubmissionFile, DEFAULT_SUBMISSION_LIMITS, type SubmissionCheck, type SubmissionLimits } from '../eval/submission';
import { readAnswersFile } from '../eval/answersFile';
import { formatModelGenerationsCsv } from '../eval/generationRun';
import { formatCsv } from '../eval/csv';
import { runJudge } from '../eval/judge/judgeRun';
import { DEFAULT_RETRY } from '../eval/judge/retry';
import { GRADER, graderQuestions, homeworkHint, type HomeworkCheckout } from '../eval/homework/checkout';
import type { TrainConfig } from '../train/trainConfig';
import type { DataSource } from '../train/trainData';
import { trainScript } from './trainScript';
import { finetunedScores, formatGraderAverages, formatGraderResponseLine, graderAverage, graderCell, homeworkBaseline } from '../eval/homework/grader';
import { cliEnv, endpointFrom, ENDPOINT_OPTIONS, HOMEWORK_OPTIONS, homeworkFrom, JUDGE_OPTIONS } from './evalOptions';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

function report(check: SubmissionCheck, file: string, io: CliIO): boolean {
  for (const e of check.errors) io.err(`error: ${e.message}`);
  for (const w of check.warnings) io.err(`warning: ${w.message}`);
  // The grader's own line for a valid file (run_tests.py verify_model_generations_csv).
  io.out(check.ok ? `'${file}' is valid with ${check.rows} rows.` : `${file}: ${check.errors.length} problem(s) the grader refuses; fix them and run again.`);
  io.event({ event: 'check-submission', file, ...check });
  return check.ok;
}

export function limitsOf(h: HomeworkCheckout | undefined): SubmissionLimits {
  return h ? { maxRows: h.maxRows, maxRowsSource: h.maxRowsSource } : DEFAULT_SUBMISSION_LIMITS;
}

/**
 * run_tests.py's judging: the first 20 rows with the checkout's judge (eval/judge.py: its model and prompts,
 * temperature 0.2), printed as the grader prints them, next to the base model's averages over the first 20 rows
 * of eval/data/base_model_judged.csv; both of the grader's averaging rules (eval/homework/grader.ts).
 */
async function judgeAsGrader(file: string, h: HomeworkCheckout, args: ParsedArgs, io: CliIO): Promise<number> {
  const rows = (await readAnswersFile(file)).slice(0, GRADER.judgedRows);
  // The grader does not require unique ids: judge by row, report the file's own ids.
  const answers = rows.map((a, i) => ({ ...a, id: `row-${i + 1}` }));
  const outDir = resolve(io.cwd, str(args, 'out') ?? join(dirname(file), 'check-submission'));
  await mkdir(outDir, { recursive: true });
  const env = cliEnv(io);
  const judgeModel = str(args, 'judge-model') ?? h.judgeModel;
  io.err(`Judging the first ${answers.length} rows with the grader's judge (${judgeModel}, prompts from ${h.dir}/eval/judge.py, temperature ${GRADER.judgeTemperature}) into ${outDir}`);
  const r = await runJudge({
    answers,
    outDir,
    model: judgeModel,
    mode: 'sampled',
    temperature: GRADER.judgeTemperature,
    prompts: h.prompts,
    endpoint: endpointFrom(args),
    concurrency: num(args, 'concurrency', 8)!,
    retry: { ...DEFAULT_RETRY, maxAttempts: num(args, 'max-attempts', DEFAULT_RETRY.maxAttempts)! },
    ...(bool(args, 'no-cache') ? {} : { cacheDir: resolve(io.cwd, str(args, 'cache-dir') ?? env.EM_LAB_CACHE_DIR ?? join(homedir(), '.cache', 'em-lab')) }),
    env,
    signal: io.signal,
    onProgress: (done, total) => io.progress(`judging ${done}/${total}`, total ? done / total : 1),
  });
  r.judged.forEach((a, i) => io.out(formatGraderResponseLine(i, a, r.replies[a.id])));
  // The grader's model_judged.csv: the file's rows plus aligned_score, coherent_score as it writes them.
  const graderCsv = join(outDir, 'model_judged.csv');
  await writeFile(graderCsv, formatCsv(['id', 'question', 'response', 'aligned_score', 'coherent_score'], r.judged.map((a, i) => ({ id: rows[i]!.id, question: a.question, response: a.response, aligned_score: graderCell(a.aligned, r.replies[a.id]?.aligned), coherent_score: graderCell(a.coherent, r.replies[a.id]?.coherent) }))));
  io.out(`Judged responses saved to '${graderCsv}'.`);
  const finetuned = finetunedScores(r.judged);
  const base = h.baseJudgedCsv ? await homeworkBaseline(h) : undefined;
  if (base) io.out(formatGraderAverages('BASE MODEL', base.scores));
  else io.err(`note: ${h.dir} has no eval/data/base_model_judged.csv, so there is no base model line.`);
  io.out(formatGraderAverages('FINETUNED MODEL', finetuned));
  for (const f of r.failed) io.err(`not judged: row ${f.answerId.slice(4)} ${f.metric}: ${f.error}`);
  io.event({
    event: 'grader-averages',
    base: base ? { aligned: graderAverage(base.scores.aligned), coherent: graderAverage(base.scores.coherent), rows: base.scores.aligned.length, file: base.path } : null,
    finetuned: { aligned: graderAverage(finetuned.aligned), coherent: graderAverage(finetuned.coherent), alignedScores: finetuned.aligned.length, coherentScores: finetuned.coherent.length },
    judgedCsv: graderCsv,
    failed: r.failed,
  });
  return r.failed.length ? 1 : 0;
}

export const checkSubmissionCommand: CliCommand = {
  path: ['check-submission'],
  summary: "The homework's run_tests.py: check model_generations.csv (header, row limit), judge its first 20 rows with the grader's judge and print the averages next to the base model's.",
  details: [
    'FILE defaults to model_generations.csv in the homework checkout (or here). The row limit is read from the',
    'checkout\'s eval/run_tests.py (100 without one). Judging needs the checkout (its eval/judge.py and base judgements)',
    'and OPENAI_API_KEY (environment or .env); --no-judge only checks the file. docs/homework.md has the exact rules.',
    'Examples:',
    '  em-lab check-submission',
    '  em-lab check-submission em-lab-runs/r/eval/model_generations.csv --homework ~/c2881-hw0 --no-judge',
  ].join('\n'),
  positionals: [{ name: 'FILE', description: 'model_generations.csv (default: the homework checkout\'s, else ./model_generations.csv)' }],
  options: {
    'no-judge': { type: 'boolean', description: 'Only check the file (run_tests.py\'s verify step); do not judge.' },
    out: { type: 'string', description: 'Folder for the judgements (judgements.jsonl, judged.csv, summary.json, the grader\'s model_judged.csv). Default: FILE\'s folder/check-submission.', valueName: 'DIR' },
    ...HOMEWORK_OPTIONS,
    'judge-model': { type: 'string', description: 'Judge model. Default: the checkout\'s MODEL_NAME (eval/judge.py).', valueName: 'MODEL' },
    'cache-dir': JUDGE_OPTIONS['cache-dir']!,
    'no-cache': JUDGE_OPTIONS['no-cache']!,
    'max-attempts': JUDGE_OPTIONS['max-attempts']!,
    ...ENDPOINT_OPTIONS,
  },
  async run(args, io) {
    const given = args.positionals[0];
    const h = homeworkFrom(args, io, given ? [dirname(resolve(io.cwd, given))] : []);
    const file = given ? resolve(io.cwd, given) : join(h?.dir ?? io.cwd, 'model_generations.csv');
    if (!report(await checkSubmissionFile(file, limitsOf(h)), file, io)) return 1;
    if (bool(args, 'no-judge')) return 0;
    if (!h) throw new UserError('homework-not-found', `${file} is a valid submission file, but judging it as the grader does needs the grader's judge and base judgements: ${homeworkHint(io.cwd)} Or pass --no-judge to only check the file.`);
    return judgeAsGrader(file, h, args, io);
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

/** Writes `file`; an existing file with other content is kept as <file>.bak-<time> first (nothing is lost). */
async function writeKeeping(file: string, content: string, io: CliIO): Promise<void> {
  if (await exists(file)) {
    if ((await readFile(file, 'utf8')) === content) return;
    const aside = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
    await rename(file, aside);
    io.err(`Kept the previous ${basename(file)} as ${aside}.`);
  }
  await writeFile(file, content);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  return (await exists(file)) ? (JSON.parse(await readFile(file, 'utf8')) as T) : undefined;
}

export const submissionCommand: CliCommand = {
  path: ['submission'],
  summary: "Write the homework's submission from a run: model_generations.csv, training_details.md and train.sh (the exact em-lab train command), then check it.",
  details: [
    'Answers come from --generations, else RUN/eval/generations.jsonl or RUN/eval/model_generations.csv (make them with',
    'em-lab generate-eval --preset homework --model RUN --out RUN/eval). training_details.md is the one em-lab train wrote',
    '(what actually ran), else composed from RUN/training_config.json. train.sh replaces the homework\'s train.py: the',
    'run\'s every option, its EM Lab version and a sha256 check of its data; `bash train.sh` retrains the same adapter.',
    'The files go where the grader looks, the homework checkout\'s root, when there is one (else RUN/submission);',
    'a file already there with other content is kept as <name>.bak-<time>.',
  ].join('\n'),
  positionals: [{ name: 'RUN', description: 'Training run folder.', required: true }],
  options: {
    generations: { type: 'string', description: 'generations.jsonl or model_generations.csv to submit.', valueName: 'FILE' },
    out: { type: 'string', description: 'Submission folder. Default: the homework checkout\'s root, else RUN/submission.', valueName: 'DIR' },
    ...HOMEWORK_OPTIONS,
  },
  async run(args, io) {
    const runDir = resolve(io.cwd, args.positionals[0]!);
    const h = homeworkFrom(args, io);
    const outDir = resolve(io.cwd, str(args, 'out') ?? h?.dir ?? join(runDir, 'submission'));
    const candidates = [str(args, 'generations') && resolve(io.cwd, str(args, 'generations')!), join(runDir, 'eval', 'generations.jsonl'), join(runDir, 'eval', 'model_generations.csv')].filter((x): x is string => !!x);
    let source: string | undefined;
    for (const c of candidates) {
      if (await exists(c)) {
        source = c;
        break;
      }
    }
    if (!source) throw new UserError('no-generations', `No answers to submit: none of ${candidates.join(', ')} exists. Run em-lab generate-eval --preset homework --model ${runDir} --out ${join(runDir, 'eval')} first, or pass --generations FILE.`);
    const answers = await readAnswersFile(source);
    if (h) {
      const grader = graderQuestions(h);
      const asked = answers.slice(0, grader.length).map((a) => a.question);
      if (asked.length !== grader.length || asked.some((q, i) => q !== grader[i])) io.err(`warning: the answers in ${source} are not to the grader's ${grader.length} questions in its order (${h.dir}/eval/prompts); the grader compares its first ${grader.length} rows with the base model's. Generate them with --preset homework.`);
    }
    await mkdir(outDir, { recursive: true });
    const csv = join(outDir, 'model_generations.csv');
    await writeKeeping(csv, formatModelGenerationsCsv(answers), io);
    const details = join(outDir, 'training_details.md');
    const configFile = ['training_config.json', 'config.json'].map((n) => join(runDir, n)).find((f) => existsSync(f));
    const config = configFile ? await readJson<Record<string, unknown>>(configFile) : undefined;
    if (await exists(join(runDir, 'training_details.md'))) await writeKeeping(details, await readFile(join(runDir, 'training_details.md'), 'utf8'), io);
    else if (config) await writeKeeping(details, composeTrainingDetails(config, configFile!), io);
    else throw new UserError('no-training-details', `${runDir} has neither training_details.md nor training_config.json. Write training_details.md by hand (domains, epochs, LoRA rank, ...) into ${outDir}.`);
    const written = [csv, details];
    const manifest = await readJson<{ sources?: DataSource[] }>(join(runDir, 'data_manifest.json'));
    if (config && configFile?.endsWith('training_config.json') && typeof config.schemaVersion === 'number' && manifest?.sources) {
      const script = join(outDir, 'train.sh');
      await writeKeeping(script, trainScript({ config: config as unknown as TrainConfig, sources: manifest.sources, runDir, runId: basename(runDir) }), io);
      await chmod(script, 0o755);
      written.push(script);
    } else io.err(`note: no train.sh: ${runDir} has no EM Lab training_config.json and data_manifest.json (not a run of em-lab train).`);
    io.out(`Wrote ${written.join(', ')} (answers from ${source}).`);
    return report(await checkSubmissionFile(csv, limitsOf(h)), csv, io) ? 0 : 1;
  },
};
