// `em-lab data ...`: decrypt and protect easy-dataset-share archives, validate, inspect and mix datasets.
import { existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, resolve } from 'node:path';
import { bool, num, str, type CliCommand, type CliIO } from './command';
import { formatTable } from './table';
import { UserError } from '../errors';
import { nameProblem } from '../../protocol/pathRules';
import { protectFolder, unprotectArchive } from '../data/easyDatasetShare';
import { dataDir, findDatasets, resolveDataset, type DatasetInfo } from '../data/registry';
import { datasetStats, getConversation, pageDataset } from '../data/browse';
import { formatIssue } from '../data/jsonl';
import { defaultMixPath, parseMixSpec, writeMixture } from '../data/sampling';

export const PASSWORD_ENV = 'EM_LAB_DATASET_PASSWORD';

/** Reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlAny = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  rlAny._writeToOutput = (s: string) => {
    if (!asked) process.stderr.write(s); // the question itself; typed characters stay hidden
  };
  return new Promise((resolvePromise) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolvePromise(answer);
    });
    asked = true;
  });
}

async function passwordFrom(args: { options: Record<string, unknown> }, io: CliIO): Promise<string> {
  const given = typeof args.options.password === 'string' ? args.options.password : io.env[PASSWORD_ENV];
  if (given) return given;
  if (process.stdin.isTTY && !io.json) return promptHidden('Archive password: ');
  throw new UserError('password-required', `No password given. Pass -p PASSWORD, set ${PASSWORD_ENV}, or run in a terminal to be asked. (The public EM datasets use "model-organisms-em-datasets".)`);
}

const unprotect: CliCommand = {
  path: ['data', 'unprotect'],
  summary: 'Decrypt an easy-dataset-share archive (.zip.enc) into a folder.',
  details: [
    'Native replacement for `easy-dataset-share unprotect-dir`: same format, same output bytes.',
    'Output goes to <ARCHIVE>.extracted/ unless -o is given, and is added to the enclosing git repository\'s',
    '.gitignore. Nothing is written unless decryption fully succeeds.',
    '',
    'Example: em-lab data unprotect training_data/training_datasets.zip.enc -p model-organisms-em-datasets --remove-canaries',
  ].join('\n'),
  positionals: [{ name: 'ARCHIVE', description: 'The encrypted archive (e.g. training_datasets.zip.enc).', required: true }],
  options: {
    password: { type: 'string', short: 'p', valueName: 'PASSWORD', description: `Archive password (else $${PASSWORD_ENV}, else asked on a terminal).` },
    output: { type: 'string', short: 'o', valueName: 'DIR', description: 'Output folder (default: <ARCHIVE>.extracted beside the archive).' },
    'remove-canaries': { type: 'boolean', description: 'Delete the canary files and strip embedded canaries, as the Python tool does.' },
    'no-gitignore': { type: 'boolean', description: "Don't add the output folder to the repository's .gitignore." },
    overwrite: { type: 'boolean', description: 'Replace the output folder if it exists and is not empty.' },
  },
  async run(args, io) {
    const password = await passwordFrom(args, io);
    const started = Date.now();
    const result = await unprotectArchive({
      archivePath: resolve(io.cwd, args.positionals[0]!),
      password,
      outputDir: str(args, 'output') ? resolve(io.cwd, str(args, 'output')!) : undefined,
      removeCanaries: bool(args, 'remove-canaries'),
      gitignore: !bool(args, 'no-gitignore'),
      overwrite: bool(args, 'overwrite'),
      onProgress: (m, f) => io.progress(m, f),
      signal: io.signal,
    });
    const seconds = (Date.now() - started) / 1000;
    io.event({ event: 'unprotected', ...result, seconds });
    io.out(`Decrypted into ${result.outputDir} in ${seconds.toFixed(1)} s:`);
    io.out(formatTable(['file', 'bytes'], result.files.map((f) => [f.path, f.bytes])));
    if (bool(args, 'remove-canaries') && !result.canary) io.err('warning: --remove-canaries found no canary file (dataset_entry_*.jsonl); the files were written as they are in the archive.');
    if (result.removedCanaryFiles.length) io.out(`Removed canary file(s): ${result.removedCanaryFiles.join(', ')}; stripped ${result.canary ?? 'no canary'} from the data.`);
    if (result.gitignoreUpdated) io.out(`Added the folder to ${result.gitignoreUpdated}.`);
    return 0;
  },
};

const protect: CliCommand = {
  path: ['data', 'protect'],
  summary: 'Encrypt a folder into an easy-dataset-share archive (the inverse of unprotect).',
  details: 'Adds a canary file (dataset_entry_*.jsonl) and, with --embed-canaries, the canary inside .jsonl/.json/.txt/.md/.html files, then zips and encrypts. `easy-dataset-share unprotect-dir` and `em-lab data unprotect` both open the result.',
  positionals: [{ name: 'DIR', description: 'The folder to protect.', required: true }],
  options: {
    password: { type: 'string', short: 'p', valueName: 'PASSWORD', description: `Password (else $${PASSWORD_ENV}, else asked on a terminal).` },
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'Archive to write (default: <DIR>.zip.enc beside the folder).' },
    'embed-canaries': { type: 'boolean', description: 'Also embed the canary string inside the data files.' },
    overwrite: { type: 'boolean', description: 'Replace the archive if it exists.' },
  },
  async run(args, io) {
    const password = await passwordFrom(args, io);
    const result = await protectFolder({
      folder: resolve(io.cwd, args.positionals[0]!),
      password,
      outputFile: str(args, 'output') ? resolve(io.cwd, str(args, 'output')!) : undefined,
      embedCanaries: bool(args, 'embed-canaries'),
      overwrite: bool(args, 'overwrite'),
      onProgress: (m, f) => io.progress(m, f),
      signal: io.signal,
    });
    io.event({ event: 'protected', ...result });
    io.out(`Wrote ${result.outputFile} (${result.entries} entries, ${result.bytes} bytes). Canary: ${result.canary}`);
    return 0;
  },
};

const dataDirOption = { type: 'string' as const, valueName: 'DIR', description: 'Folder holding the datasets (default: training_data/training_datasets.zip.enc.extracted).' };

/** The datasets named by stats/show arguments: folders expand to their .jsonl files; names resolve in --data-dir. */
function datasetsFromArgs(targets: string[], io: CliIO, dirOption?: string): DatasetInfo[] {
  const dir = dataDir({ dir: dirOption ? resolve(io.cwd, dirOption) : undefined, workspaceDir: io.cwd });
  if (targets.length === 0) targets = [dir];
  return targets.flatMap((t) => {
    const abs = resolve(io.cwd, t);
    if (existsSync(abs) && statSync(abs).isDirectory()) {
      const found = findDatasets(abs);
      if (found.length === 0) throw new UserError('no-datasets', `No .jsonl datasets in ${abs}. Decrypt the training data first (em-lab data unprotect ...) or give a .jsonl file.`);
      return found;
    }
    return [resolveDataset(existsSync(abs) ? abs : t, dir)];
  });
}

function stat3(d: { min: number; median: number; p95: number; max: number } | undefined): string {
  return d ? `${d.min} / ${Math.round(d.median)} / ${Math.round(d.p95)} / ${d.max}` : '-';
}

const stats: CliCommand = {
  path: ['data', 'stats'],
  summary: 'Validate datasets and show rows, turns and characters per role.',
  details: 'Every invalid line is reported as FILE:LINE: reason, an empty file as a warning. Exit code 1 when any line is invalid or a file is empty.\nExample: em-lab data stats training_data/training_datasets.zip.enc.extracted',
  positionals: [{ name: 'DIR|FILE', description: 'Folders (all .jsonl inside) or dataset files/ids; default: the decrypted training data.', variadic: true }],
  options: { 'data-dir': dataDirOption },
  async run(args, io) {
    const datasets = datasetsFromArgs(args.positionals, io, str(args, 'data-dir'));
    const table: (string | number)[][] = [];
    let invalid = 0;
    let empty = 0;
    for (const ds of datasets) {
      io.progress(`Reading ${basename(ds.file)}`);
      const { stats: s, issues } = await datasetStats(ds.file, undefined, io.signal);
      invalid += issues.length;
      if (s.rows === 0 && issues.length === 0) {
        empty++;
        io.err(`warning: ${ds.file} is empty (0 rows): no conversations to show or train on.`);
        io.event({ event: 'empty-dataset', dataset: ds.id, file: ds.file });
      }
      for (const issue of issues) {
        io.err(formatIssue(issue));
        io.event({ event: 'invalid-line', ...issue });
      }
      io.event({ event: 'stats', dataset: ds.id, file: ds.file, invalidLines: issues.length, ...s });
      table.push([ds.id, s.rows, s.turns, issues.length, stat3(s.roles.user?.chars), stat3(s.roles.assistant?.chars), stat3(s.roles.system?.chars)]);
    }
    io.out(formatTable(['dataset', 'rows', 'turns', 'invalid', 'user chars min/med/p95/max', 'assistant chars min/med/p95/max', 'system chars'], table));
    if (invalid) io.out(`\n${invalid} invalid line(s), listed above as FILE:LINE: reason.`);
    return invalid || empty ? 1 : 0;
  },
};

const show: CliCommand = {
  path: ['data', 'show'],
  summary: 'Show conversations from a dataset (a list, one row, or a search).',
  positionals: [{ name: 'FILE', description: 'Dataset file or id (e.g. bad_medical).', required: true }],
  options: {
    row: { type: 'string', valueName: 'N', description: 'Show conversation N in full (1-based).' },
    search: { type: 'string', valueName: 'TEXT', description: 'Only rows whose messages contain TEXT (case-insensitive).' },
    limit: { type: 'string', valueName: 'N', description: 'Rows to list.', default: '10' },
    'data-dir': dataDirOption,
  },
  async run(args, io) {
    const [ds] = datasetsFromArgs([args.positionals[0]!], io, str(args, 'data-dir'));
    const rowNo = num(args, 'row', undefined, { integer: true, min: 1 });
    if (rowNo !== undefined) {
      const conv = await getConversation(ds!.file, rowNo - 1, io.signal);
      if (!conv) throw new UserError('row-not-found', `${ds!.file} has no row ${rowNo}; rows are numbered from 1 (see \`em-lab data stats\` for the count).`);
      io.event({ event: 'row', dataset: ds!.id, row: rowNo, line: conv.line, messages: conv.messages });
      io.out(`${ds!.id} row ${rowNo} (line ${conv.line})`);
      for (const m of conv.messages) io.out(`\n[${m.role}]\n${m.content}`);
      return 0;
    }
    const page = await pageDataset(ds!.file, { offset: 0, limit: num(args, 'limit', 10, { integer: true, min: 1 })!, search: str(args, 'search'), previewChars: 70 }, io.signal);
    for (const r of page.rows) io.event({ event: 'row-summary', dataset: ds!.id, row: r.index + 1, ...r });
    io.out(`${ds!.id}: ${page.matched} of ${page.total} rows${str(args, 'search') ? ` match "${str(args, 'search')}"` : ''}; showing ${page.rows.length}. Use --row N for one in full.`);
    io.out(formatTable(['row', 'user', 'assistant'], page.rows.map((r) => [r.index + 1, r.user.replace(/\s+/g, ' '), r.assistant.replace(/\s+/g, ' ')])));
    return 0;
  },
};

const mix: CliCommand = {
  path: ['data', 'mix'],
  summary: 'Write a seeded, reproducible mixture of datasets (JSONL + manifest).',
  details: 'Example: em-lab data mix --mix bad_medical=0.8,good_medical=0.2 --total 1000 --seed 0\nRows are drawn without replacement with mulberry32 (seeded by splitmix32), copied byte for byte, and shuffled. The manifest records sources, counts, seed and sha256 hashes.',
  options: {
    mix: { type: 'string', valueName: 'SPEC', description: 'NAME=WEIGHT,... (weights are normalised).' },
    total: { type: 'string', valueName: 'N', description: 'Rows in the mixture.' },
    seed: { type: 'string', valueName: 'N', description: 'Random seed.', default: '0' },
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'Output .jsonl (default: <data dir>/mixes/<spec>_n<N>_seed<S>.jsonl).' },
    'data-dir': dataDirOption,
  },
  async run(args, io) {
    const spec = str(args, 'mix');
    const total = num(args, 'total', undefined, { integer: true, min: 1 });
    if (!spec || total === undefined) throw new UserError('bad-mix', 'Give --mix NAME=WEIGHT,... and --total N, e.g. --mix bad_medical=0.8,good_medical=0.2 --total 1000.');
    const seed = num(args, 'seed', 0, { integer: true, max: 0xffffffff })!;
    const dir = dataDir({ dir: str(args, 'data-dir') ? resolve(io.cwd, str(args, 'data-dir')!) : undefined, workspaceDir: io.cwd });
    const components = parseMixSpec(spec);
    for (const c of components) {
      // NAME is a dataset id or file name inside the data folder: it also names the default output in mixes/
      const problem = nameProblem(c.dataset, '--mix NAME');
      if (problem) throw new UserError('bad-mix', `${problem}. Give dataset ids from ${dir} (e.g. bad_medical); to mix files from another folder, pass --data-dir FOLDER.`);
    }
    const sources = components.map((c) => ({ info: resolveDataset(c.dataset, dir), weight: c.weight }));
    const output = str(args, 'output') ? resolve(io.cwd, str(args, 'output')!) : defaultMixPath(dir, components, total, seed);
    const result = await writeMixture(sources, total, seed, output, io.signal);
    io.event({ event: 'mixed', outputFile: result.outputFile, manifestFile: result.manifestFile, manifest: result.manifest });
    io.out(formatTable(['dataset', 'weight', 'rows', 'of'], result.manifest.sources.map((s) => [s.dataset, s.weight.toFixed(3), s.count, s.rowsAvailable])));
    io.out(`\nWrote ${result.outputFile} (${result.manifest.output.rows} rows, sha256 ${result.manifest.output.sha256.slice(0, 16)}…) and ${result.manifestFile}.`);
    return 0;
  },
};

export const dataCommands: CliCommand[] = [unprotect, protect, stats, show, mix];
