// `em-lab experiment submit --slurm` and `em-lab experiment collect`: an experiment grid as one SLURM array job, and
// its results in one report (docs/scale-out.md). `em-lab experiment status` shows a grid through formatGridStatus.
import { readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { GridStatusView } from '../../protocol/clusterTypes';
import { UserError } from '../errors';
import { collectGrid } from '../cluster/gridCollect';
import { readGridFolder } from '../cluster/gridFolder';
import { submitGrid } from '../cluster/gridSubmit';
import { validateExperiment } from '../experiment/experimentFile';
import type { ExperimentFile } from '../../protocol/experimentTypes';
import { ensureDecoderExport } from '../model/decoderExport';
import { resolveModelDir, isRepoId } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { bool, list, num, str, type CliCommand, type CliIO, type ParsedArgs } from './command';

/** How array tasks run em-lab: --em-lab, else this very node and CLI script. */
function emLabCommand(args: ParsedArgs): string[] {
  const given = str(args, 'em-lab');
  if (given) return given.split(/\s+/).filter(Boolean);
  const script = process.argv[1] ? realpathSync(process.argv[1]) : '';
  if (/(^|[\\/])(cli\.m?js|em-lab)$/.test(script)) return [process.execPath, script];
  throw new UserError('em-lab-command', 'Cannot tell how the cluster should run em-lab: pass --em-lab "/path/to/node /path/to/em-lab/dist/cli.js" (a path every compute node can read).');
}

/** The models the grid's cells use, exported once into the shared storage before any task starts (tasks would race). */
async function prepareModels(models: string[], storageDir: string, io: CliIO): Promise<void> {
  for (const m of models) {
    io.progress(`Preparing ${m} in ${storageDir} (once, before the tasks start)…`);
    const dir = await resolveModelDir(m, { storageDir, env: io.env, download: true, signal: io.signal, onProgress: (_file, done, total) => io.progress(`Downloading ${m}…`, total ? done / total : undefined) });
    ensureDecoderExport(dir);
  }
}

export const experimentSubmitCommand: CliCommand = {
  path: ['experiment', 'submit'],
  summary: 'Run an experiment grid on a SLURM cluster: one sbatch array job, one task (and sub-folder) per cell.',
  details: [
    'experiment.json declares the grid: "grid": {"data.domains": [["bad_medical"], ["risky_financial"]], "training.seed": [0, 1]}',
    '(any field path; cell K is the K-th combination, the last key varying fastest). Each cell is written as an ordinary',
    'experiment to cells/K/experiment.json; array task K runs `em-lab experiment run cells/K/experiment.json`.',
    'Only cells that are not done and have no task queued or running are submitted, so submitting again is how a',
    'cancelled, failed or timed-out cell is resumed (from its last checkpoint, skipping finished stages).',
    'The script is kept as slurm/submit-N.sbatch: read it, edit it, `sbatch` it by hand. Logs: slurm/logs/JOB_TASK.out.',
    'Examples:',
    '  em-lab experiment submit em-lab-runs/grid/experiment.json --slurm --partition gpu --gpus-per-task 1 --time 04:00:00',
    '  em-lab experiment submit em-lab-runs/grid --slurm --array-parallel 4 --sbatch-arg=--mem=16G --sbatch-arg=--account=proj',
  ].join('\n'),
  positionals: [{ name: 'EXPERIMENT', description: 'The grid experiment folder or its experiment.json.', required: true }],
  options: {
    slurm: { type: 'boolean', description: 'Submit to SLURM with sbatch (the scheduler EM Lab submits to).' },
    partition: { type: 'string', description: 'SLURM partition.', valueName: 'P' },
    'gpus-per-task': { type: 'string', description: 'GPUs per cell (set training.device "cuda" in experiment.json to use them).', valueName: 'N' },
    time: { type: 'string', description: 'Time limit per cell, e.g. 04:00:00 or 1-00:00:00. A cell that hits it resumes when submitted again.', valueName: 'T' },
    'array-parallel': { type: 'string', description: 'Most cells running at once (--array=...%K).', valueName: 'K' },
    'sbatch-arg': { type: 'string', multiple: true, description: 'One more sbatch option as --name=value (repeatable), e.g. --sbatch-arg=--mem=16G.', valueName: 'ARG' },
    cells: { type: 'string', description: 'Only these cells (e.g. 0,3). Default: every cell not done and not queued.', valueName: 'LIST' },
    storage: { type: 'string', description: 'Where tasks find models (shared by every node). Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
    'cache-dir': { type: 'string', description: 'Judge cache shared by the cells. Default: EXPERIMENT/judge-cache.', valueName: 'DIR' },
    'em-lab': { type: 'string', description: 'How tasks run em-lab, e.g. "/usr/bin/node /opt/em-lab/dist/cli.js". Default: this node and CLI.', valueName: 'CMD' },
    'no-prepare': { type: 'boolean', description: 'Do not download / convert the model before submitting (it must be ready in --storage).' },
    'dry-run': { type: 'boolean', description: 'Write the cells and the script, do not call sbatch.' },
  },
  async run(args, io) {
    if (!bool(args, 'slurm')) throw new UserError('bad-args', 'Say where to submit: --slurm (SLURM is the scheduler EM Lab submits to). To run here instead: em-lab experiment run.');
    const g = readGridFolder(args.positionals[0]!, io.cwd);
    const storage = resolve(io.cwd, str(args, 'storage') ?? io.env.EM_LAB_STORAGE ?? join(homedir(), '.em-lab'));
    const cacheDir = resolve(io.cwd, str(args, 'cache-dir') ?? join(g.dir, 'judge-cache'));
    const cells = list(args, 'cells')?.map((c) => {
      if (!/^\d+$/.test(c)) throw new UserError('bad-cells', `--cells ${c}: cell numbers, e.g. --cells 0,3.`);
      return Number(c);
    });
    // Every model a cell uses (the grid may vary "model"); folders relative to the experiment folder.
    const models = [...new Set([g.raw.model, ...g.spec.keys.flatMap((k, i) => (k === 'model' ? g.spec.values[i]! : []))].map(String))].map((m) => (m === TINY_LLAMA_ID || isRepoId(m) || isAbsolute(m) ? m : resolve(g.dir, m)));
    const gpus = num(args, 'gpus-per-task', undefined, { integer: true });
    const parallel = num(args, 'array-parallel', undefined, { integer: true, min: 1 });
    const r = await submitGrid({
      path: g.file,
      cwd: io.cwd,
      env: io.env,
      extraArgs: list(args, 'sbatch-arg') ?? [],
      emLab: emLabCommand(args),
      taskEnv: { EM_LAB_STORAGE: storage, EM_LAB_CACHE_DIR: cacheDir },
      checkCell: (cell, file) => validateExperiment(cell as unknown as ExperimentFile, file),
      ...(cells ? { cells } : {}),
      ...(str(args, 'partition') ? { partition: str(args, 'partition') } : {}),
      ...(gpus !== undefined ? { gpusPerTask: gpus } : {}),
      ...(str(args, 'time') ? { time: str(args, 'time') } : {}),
      ...(parallel !== undefined ? { arrayParallel: parallel } : {}),
      ...(bool(args, 'no-prepare') ? {} : { prepare: () => prepareModels(models, storage, io) }),
      ...(bool(args, 'dry-run') ? { dryRun: true } : {}),
    });
    if (r.changed.length) io.err(`wrote cells/{${r.changed.join(',')}}/experiment.json`);
    for (const o of r.orphans) io.err(`note: ${o} is not a cell of this grid any more; left as it is.`);
    if (r.done.length) io.out(`${r.done.length} cell(s) already done: ${r.done.join(', ')}.`);
    if (r.live.length) io.out(`${r.live.length} cell(s) already queued or running: ${r.live.map((l) => `${l.cell} (${l.jobId}_${l.cell} ${l.state})`).join(', ')}.`);
    if (!r.cells.length) io.out('Nothing to submit.');
    else if (!r.jobId) io.out(`Dry run: ${r.script} would run cells ${r.cells.join(', ')}. Submit it with: sbatch ${join(g.dir, r.script!)}`);
    else {
      io.out(`Submitted job ${r.jobId}: ${r.cells.length} cell(s) (${r.cells.join(', ')}) of ${g.cells.length}; script ${join(basename(g.dir), r.script!)}, logs in ${join(basename(g.dir), 'slurm', 'logs')}/.`);
      io.out(`Follow it with: em-lab experiment status ${args.positionals[0]}   (SLURM is asked at most every 30 s)`);
    }
    io.event({ event: 'submitted', dir: r.dir, jobId: r.jobId ?? null, cells: r.cells, done: r.done, live: r.live, script: r.script ?? null });
    return 0;
  },
};

export const experimentCollectCommand: CliCommand = {
  path: ['experiment', 'collect'],
  summary: "Merge a grid's cells into one report: per-cell and pooled EM rates with 95% intervals.",
  details: 'Reads each cell\'s judged base answers and last judged checkpoint; writes grid-report.json and grid-report.md beside experiment.json. Cells not finished are listed as missing.\nExample:\n  em-lab experiment collect em-lab-runs/grid',
  positionals: [{ name: 'EXPERIMENT', description: 'The grid experiment folder or its experiment.json.', required: true }],
  async run(args, io) {
    const { report, files } = await collectGrid(args.positionals[0]!, io.cwd);
    io.out(readFileSync(files[1]!, 'utf8').trimEnd());
    io.out(`\nWrote ${files.map((f) => join(basename(dirname(f)), basename(f))).join(' and ')}.`);
    io.event({ event: 'collected', report, files });
    return report.cells.some((c) => c.missing) ? 3 : 0;
  },
};

/** `em-lab experiment status` of a grid: one line per cell. */
export function formatGridStatus(s: GridStatusView): string {
  const counts = Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(', ');
  const lines = [
    `Grid ${s.name}: ${s.cells.length} cells (${s.keys.join(' x ')}): ${counts}.`,
    ...(s.slurmError ? [`SLURM did not answer: ${s.slurmError} (showing the folders alone).`] : s.queriedAt ? [`SLURM asked at ${s.queriedAt} (answers are reused for 30 s).`] : []),
    ...s.cells.map((c) => {
      const stages = c.stages.map((st) => `${st.id} ${st.status}${st.message && st.status !== 'done' ? ` (${st.message})` : ''}`).join(', ');
      const task = c.task ? ` [${c.task.jobId} ${c.task.state}${c.task.reason ? ` ${c.task.reason}` : ''}${c.task.exitCode && c.task.exitCode !== '0:0' ? ` exit ${c.task.exitCode}` : ''}]` : '';
      return `  ${String(c.index).padStart(3)} ${c.state.padEnd(13)} ${c.label}${task}\n        ${stages}`;
    }),
  ];
  const resumable = s.cells.filter((c) => ['failed', 'cancelled', 'timeout', 'node-fail', 'out-of-memory', 'stopped'].includes(c.state));
  if (resumable.length) lines.push(`${resumable.length} cell(s) stopped before finishing: submit again to resume them from their last checkpoint (em-lab experiment submit ${s.dir} --slurm).`);
  return lines.join('\n');
}

export const experimentGridCommands: CliCommand[] = [experimentSubmitCommand, experimentCollectCommand];
