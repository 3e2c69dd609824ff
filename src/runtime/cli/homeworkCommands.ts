// `em-lab homework fetch` (the public homework repository's files into a folder) and `em-lab homework info` (what
// the homework preset reads from a checkout: questions, judge, row limit, the base model's averages).
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { str, type CliCommand } from './command';
import { HOMEWORK_OPTIONS, homeworkFrom } from './evalOptions';
import { UserError } from '../errors';
import { GRADER, HOMEWORK_REPO, homeworkHint } from '../eval/homework/checkout';
import { fetchHomework, HOMEWORK_RAW_URL } from '../eval/homework/fetch';
import { formatGraderAverages, graderAverage, homeworkBaseline } from '../eval/homework/grader';

export const homeworkFetchCommand: CliCommand = {
  path: ['homework', 'fetch'],
  summary: `Download the homework's files (${HOMEWORK_REPO}: questions, judge, base judgements, scripts) into a folder, for the homework preset.`,
  details: [
    'Files already there are kept as they are (reported when they differ). Offline, nothing is written and the error',
    'says how to get the files by hand (git clone or a ZIP from GitHub).',
    'Examples:',
    '  em-lab homework fetch',
    '  em-lab homework fetch --out ~/c2881-hw0 --ref main',
  ].join('\n'),
  options: {
    out: { type: 'string', description: 'Folder to put the homework in. Default: the current folder.', valueName: 'DIR' },
    ref: { type: 'string', description: 'Branch, tag or commit of the repository.', default: 'main', valueName: 'REF' },
    source: { type: 'string', description: `Where raw files are served from (<source>/<ref>/<path>). Default ${HOMEWORK_RAW_URL}.`, valueName: 'URL' },
  },
  async run(args, io) {
    const destination = resolve(io.cwd, str(args, 'out') ?? '.');
    const r = await fetchHomework({ destination, ref: str(args, 'ref') ?? 'main', ...(str(args, 'source') ? { baseUrl: str(args, 'source') } : {}), signal: io.signal, onProgress: (m, f) => io.progress(m, f) });
    for (const f of r.kept) io.err(`kept your ${f} (it differs from the repository's; delete it and fetch again for theirs)`);
    for (const f of r.missing) io.err(`note: the repository has no ${f}`);
    io.out(`Homework files in ${r.dir}: ${r.written.length} written, ${r.unchanged.length} already there, ${r.kept.length} kept as yours. Next: em-lab homework info --homework ${r.dir}`);
    io.event({ event: 'homework-fetched', ...r });
    return 0;
  },
};

export const homeworkInfoCommand: CliCommand = {
  path: ['homework', 'info'],
  summary: 'Show what the homework preset reads from the homework checkout: questions, judge model and prompts, row limit, base averages.',
  options: { ...HOMEWORK_OPTIONS },
  async run(args, io) {
    const h = homeworkFrom(args, io);
    if (!h) throw new UserError('homework-not-found', homeworkHint(io.cwd));
    const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
    io.out(`Homework checkout: ${h.dir}`);
    io.out(`Questions: ${h.medical.length} medical, ${h.nonMedical.length} non-medical; the preset asks MEDICAL_QUESTIONS[:${GRADER.questionsPerList}] + NON_MEDICAL_QUESTIONS[:${GRADER.questionsPerList}]`);
    io.out(`Judge: ${h.judgeModel}, temperature ${GRADER.judgeTemperature}; ALIGNED_PROMPT ${h.prompts.aligned.template.length} characters (sha256 ${sha(h.prompts.aligned.template)}), COHERENT_PROMPT ${h.prompts.coherent.template.length} characters (sha256 ${sha(h.prompts.coherent.template)})`);
    io.out(`Submission: at most ${h.maxRows} rows (from ${h.maxRowsSource}); the grader judges the first ${GRADER.judgedRows}`);
    const base = h.baseJudgedCsv ? await homeworkBaseline(h) : undefined;
    io.out(base ? `Base model (${base.path}, first ${GRADER.judgedRows} rows):${formatGraderAverages('BASE MODEL', base.scores)}` : 'Base model: no eval/data/base_model_judged.csv');
    io.event({
      event: 'homework',
      dir: h.dir,
      medical: h.medical.length,
      nonMedical: h.nonMedical.length,
      judgeModel: h.judgeModel,
      prompts: { aligned: sha(h.prompts.aligned.template), coherent: sha(h.prompts.coherent.template) },
      maxRows: h.maxRows,
      baseline: base ? { aligned: graderAverage(base.scores.aligned), coherent: graderAverage(base.scores.coherent) } : null,
    });
    return 0;
  },
};

export const homeworkCommands: CliCommand[] = [homeworkFetchCommand, homeworkInfoCommand];
