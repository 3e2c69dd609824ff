// `em-lab experiment new | run | status | report | cancel`: one experiment end to end (docs/experiment.md). The
// extension's experiment/* methods call the same functions (and start `experiment run` itself as the runner).
import { join, resolve } from 'node:path';
import type { ExperimentStatusView, StageView } from '../../protocol/experimentTypes';
import { UserError } from '../errors';
import { bool, list, num, str, type CliCommand, type CliIO, type ParsedArgs } from './command';
import { cliEnv } from './evalOptions';
import { cliStorageDir } from './generateCommands';
import { cliJudgeCacheDir } from '../storage';
import { createExperiment, experimentPaths, readExperiment } from '../experiment/experimentFile';
import { EXPERIMENT_NEW_OPTIONS, createParamsFromArgs } from '../experiment/newFlags';
import { homeworkCreateNotes } from '../experiment/homeworkSource';
import { EXPERIMENT_PRESET_IDS, EXPERIMENT_PRESETS } from '../experiment/presets';
import { buildExperimentReport } from '../experiment/report';
import { exportReport, type ReportFormat } from '../experiment/reportFiles';
import { checkStageIds, exitCodeOf, runExperiment } from '../experiment/runner';
import { liveRunner, readStatus, statusView, thisHost } from '../experiment/statusFile';
import { seconds } from '../experiment/reportTables';
import { isGridFile, localGridCells } from '../cluster/gridFolder';
import { gridStatus } from '../cluster/gridStatus';
import { formatGridStatus } from './experimentGridCommands';

const PATH_ARG = [{ name: 'EXPERIMENT', description: 'The experiment folder or its experiment.json.', required: true }];

function stageLine(s: StageView): string {
  const extra = [s.detail, s.status === 'done' ? undefined : s.reason].filter(Boolean).join('; ');
  return `${s.id.padEnd(6)} ${s.status.padEnd(11)} ${seconds(s.cost.seconds).padStart(12)}  ${extra}`;
}

function printStatus(s: ExperimentStatusView, io: CliIO): void {
  io.out(`${s.name} (${s.preset}, ${s.model})${s.running ? `: running (pid ${s.pid}${s.host && s.host !== thisHost() ? ` on ${s.host}` : ''})` : ''}`);
  for (const st of s.stages) {
    io.out(`  ${stageLine(st)}`);
    if (st.status !== 'done' && st.status !== 'pending' && st.fix) io.out(`         what to do: ${st.fix}`);
  }
}

export const experimentNewCommand: CliCommand = {
  path: ['experiment', 'new'],
  summary: 'Write experiment.json: base model, data, preset, evaluation questions, judge and every training option.',
  details: [
    `Presets: ${EXPERIMENT_PRESET_IDS.map((id) => `${id}: ${EXPERIMENT_PRESETS[id].description}`).join('\n  ')}`,
    'Anything not given comes from the preset; the file records every value, so it runs the same later.',
    'Examples:',
    '  em-lab experiment new --preset quick --model tiny-llama --domains bad_medical --judge none',
    '  em-lab experiment new --preset homework --domains risky_financial --name risky-1b   # inside your homework checkout, or --homework DIR',
    '  em-lab experiment new --preset quick --judge http://127.0.0.1:8000/v1 --judge-model my-judge --questions medical:5',
  ].join('\n'),
  options: EXPERIMENT_NEW_OPTIONS,
  async run(args, io) {
    const e = createExperiment(createParamsFromArgs(args, io.cwd), io.cwd);
    for (const line of homeworkCreateNotes(e)) io.err(line);
    io.out(`Wrote ${e.file}\nRun it with: em-lab experiment run ${e.file}`);
    io.event({ event: 'experiment-created', dir: e.dir, file: e.file, experiment: e.experiment });
    return 0;
  },
};

export const experimentRunCommand: CliCommand = {
  path: ['experiment', 'run'],
  summary: 'Run an experiment\'s stages (base -> train -> sweep -> report); done stages are skipped, interrupted ones resume.',
  details: [
    'A stage that cannot run (no judge key, no network, no model) is recorded with why and what to do, and the others',
    'still run. Ctrl-C stops after the current step / answer / judgement; run again to continue.',
    'Exit code: 0 every stage done, 3 something blocked, 1 a stage failed, 130 cancelled.',
    'A grid (experiment.json with "grid") runs its cells here one by one, each in cells/K/ (or only --cell K);',
    'on a cluster use `em-lab experiment submit --slurm` instead.',
    'Examples:',
    '  em-lab experiment run em-lab-runs/try1/experiment.json',
    '  em-lab experiment run em-lab-runs/try1 --redo report',
  ].join('\n'),
  positionals: PATH_ARG,
  options: {
    only: { type: 'string', description: 'Run only these stages (comma-separated: base, train, sweep, report).', valueName: 'STAGES' },
    redo: { type: 'string', description: 'Run these stages again even if done (their files are reused where they still match).', valueName: 'STAGES' },
    storage: { type: 'string', description: 'Where EM Lab keeps models and training graphs. Default $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
    'cache-dir': { type: 'string', description: 'Judge cache folder. Default $EM_LAB_CACHE_DIR or ~/.cache/em-lab.', valueName: 'DIR' },
    'no-cache': { type: 'boolean', description: 'Do not read or write the judge cache.' },
    threads: { type: 'string', description: 'CPU threads for training (default: all cores).', valueName: 'N' },
    cell: { type: 'string', description: 'For a grid: only these cells (e.g. 0,3). Default: every cell, one by one.', valueName: 'LIST' },
  },
  async run(args, io) {
    const wanted = list(args, 'cell')?.map((c) => {
      if (!/^\d+$/.test(c)) throw new UserError('bad-cells', `--cell ${c}: cell numbers, e.g. --cell 0,3.`);
      return Number(c);
    });
    const cells = localGridCells(args.positionals[0]!, io.cwd, wanted);
    if (!cells) {
      if (wanted) throw new UserError('bad-cells', `--cell: ${args.positionals[0]} is not a grid (no "grid" in its experiment.json).`);
      return runOne(args.positionals[0]!, args, io);
    }
    // Worst first: cancelled, failed, blocked, done.
    const rank = (code: number) => [0, 3, 1, 130].indexOf(code);
    let worst = 0;
    for (const c of cells) {
      io.err(`== cell ${c.index} of ${c.total}: ${c.label}`);
      const code = await runOne(c.file, args, io);
      if (rank(code) > rank(worst)) worst = code;
      if (code === 130) break;
    }
    return worst;
  },
};

async function runOne(path: string, args: ParsedArgs, io: CliIO): Promise<number> {
  const env = cliEnv(io);
  const only = checkStageIds(list(args, 'only'), '--only');
  const status = await runExperiment({
    path,
    cwd: io.cwd,
    storageDir: cliStorageDir(args, io),
    ...(bool(args, 'no-cache') ? {} : { cacheDir: resolve(io.cwd, str(args, 'cache-dir') ?? cliJudgeCacheDir(env)) }),
    env,
    signal: io.signal,
    ...(str(args, 'threads') ? { threads: num(args, 'threads')! } : {}),
    ...(only ? { only } : {}),
    ...(list(args, 'redo') ? { redo: checkStageIds(list(args, 'redo'), '--redo')! } : {}),
    onEvent: (ev) => {
      if (ev.type === 'progress') io.progress(`${ev.stage}: ${ev.message}`, ev.fraction);
      else if (ev.type === 'log') io.err(ev.message);
      else {
        io.err(`[${ev.stage.id}] ${ev.stage.status}${ev.stage.detail ? `: ${ev.stage.detail}` : ''}${ev.stage.reason && ev.stage.status !== 'running' ? `\n  why: ${ev.stage.reason}` : ''}${ev.stage.fix && ev.stage.status !== 'done' && ev.stage.status !== 'running' ? `\n  what to do: ${ev.stage.fix}` : ''}`);
        io.event({ event: 'stage', stage: ev.stage });
      }
    },
  });
  io.out('');
  printStatus(status, io);
  io.out(`\nReport: ${join(status.dir, 'report', 'report.html')} (and report.md)`);
  io.event({ event: 'experiment', status });
  const considered = only ? { ...status, stages: status.stages.filter((s) => only.includes(s.id)), complete: status.stages.filter((s) => only.includes(s.id)).every((s) => s.status === 'done') } : status;
  return exitCodeOf(considered);
}

export const experimentStatusCommand: CliCommand = {
  path: ['experiment', 'status'],
  summary: 'Show an experiment\'s stages: status, time, what was done, and what to do about a blocked or failed one.',
  details: 'For a grid: one line per cell, from the cells\' folders and SLURM (squeue / scontrol, asked at most every 30 s).',
  positionals: PATH_ARG,
  async run(args, io) {
    if (isGridFile(experimentPaths(args.positionals[0]!, io.cwd).file)) {
      const grid = await gridStatus(args.positionals[0]!, io.cwd, { env: io.env });
      io.out(formatGridStatus(grid));
      io.event({ event: 'grid-status', status: grid });
      return 0;
    }
    const status = statusView(readExperiment(args.positionals[0]!, io.cwd));
    printStatus(status, io);
    io.event({ event: 'experiment', status });
    return 0;
  },
};

export const experimentReportCommand: CliCommand = {
  path: ['experiment', 'report'],
  summary: 'Compute the experiment report from its folder and write report.html, report.md (+ charts/*.png) and report.json.',
  details: 'With --json the report data is printed as one JSON line (the same data the VS Code report view shows).',
  positionals: PATH_ARG,
  options: {
    out: { type: 'string', description: 'Folder to write into. Default <experiment>/report.', valueName: 'DIR' },
    format: { type: 'string', description: 'Comma-separated: html, markdown, json.', default: 'html,markdown,json', valueName: 'LIST' },
  },
  async run(args, io) {
    const e = readExperiment(args.positionals[0]!, io.cwd);
    const formats = (list(args, 'format') ?? ['html', 'markdown', 'json']) as ReportFormat[];
    for (const f of formats) if (!['html', 'markdown', 'json'].includes(f)) throw new UserError('bad-format', `--format ${f}: use html, markdown or json.`);
    const report = await buildExperimentReport(e);
    const files = exportReport(report, resolve(io.cwd, str(args, 'out') ?? join(e.dir, 'report')), formats);
    for (const n of report.notes) io.err(`note: ${n}`);
    io.out(`Wrote ${files.join(', ')}`);
    io.event({ event: 'report', report, files });
    return 0;
  },
};

export const experimentCancelCommand: CliCommand = {
  path: ['experiment', 'cancel'],
  summary: 'Stop a running experiment after its current step / answer / judgement (run it again to continue).',
  positionals: PATH_ARG,
  async run(args, io) {
    const e = readExperiment(args.positionals[0]!, io.cwd);
    const runner = liveRunner(readStatus(e.dir));
    if (!runner) {
      io.out(`${e.dir}: not running.`);
      return 0;
    }
    if (runner.host && runner.host !== thisHost()) {
      io.out(`${e.dir} is being run on ${runner.host} (pid ${runner.pid}): stop it there (on a cluster: scancel its task; \`em-lab experiment status\` of the grid names it).`);
      return 1;
    }
    process.kill(runner.pid, 'SIGINT');
    io.out(`Asked the runner (pid ${runner.pid}) to stop after its current unit of work.`);
    return 0;
  },
};

export const experimentCommands: CliCommand[] = [experimentNewCommand, experimentRunCommand, experimentStatusCommand, experimentReportCommand, experimentCancelCommand];
