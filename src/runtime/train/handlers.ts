// train/* runtime methods. The runtime never trains in its own process: it starts and signals the detached
// trainer (trainProcess.ts) and reads / watches the run directory, which is the truth (runDir.ts).
import { existsSync, mkdirSync, readdirSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Handler } from '../rpc/handlerTypes';
import type { MetricsView, RunView, TrainConfigView } from '../../protocol/trainMethods';
import { UserError } from '../errors';
import { absolutePathProblem, insideProblem, isAbsolutePath } from '../../protocol/pathRules';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from './trainConfig';
import { effectiveRun, readMetrics, readRunJson, writeRunJson, RUN_SCHEMA, type RunJson, runFolderName } from './runDir';
import { signalTrainer, spawnTrainer } from './trainProcess';
import { loadModelForTraining } from './trainModel';
import { loadTrainData, previewExample } from './trainData';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { epochFields } from './epochs';

/** run.json without the fields only the disk keeps (pid, schema, timings), plus where the run lives. */
function toView(runDir: string, r: RunJson): RunView {
  const { schemaVersion: _schema, kind: _kind, pid: _pid, finishedAt: _finished, deviceNote: _note, finalAdapter: _final, wallSeconds: _wall, ...view } = r;
  return { runDir, ...view };
}

function runOf(runDir: string): RunView {
  checkPath(runDir, 'runDir');
  const r = effectiveRun(resolve(runDir));
  if (!r) throw new UserError('run-not-found', `${runDir}: no run.json (not a training run, or it has not started yet). Pick a folder under em-lab-runs/.`);
  return toView(resolve(runDir), r);
}

/** Path params from the host (which relays webview input): absolute, without `..` (protocol/pathRules.ts). */
function checkPath(value: string | undefined, field: string): void {
  const problem = value === undefined ? undefined : absolutePathProblem(value, field);
  if (problem) throw new UserError('unsafe-path', `${problem}.`);
}

function configFrom(partial: Partial<TrainConfigView>, workspaceDir: string | undefined): TrainConfig {
  const c = { ...TRAIN_DEFAULTS, model: TINY_LLAMA_ID, domains: [], dataFiles: [], ...partial } as TrainConfig;
  checkPath(workspaceDir, 'workspaceDir');
  // (joined as text, not resolved: resolving would hide a `..`)
  c.dataFiles.forEach((f, i) => checkPath(isAbsolutePath(f) ? f : `${workspaceDir ?? process.cwd()}/${f}`, `config.dataFiles[${i}]`));
  c.dataFiles = c.dataFiles.map((f) => resolve(workspaceDir ?? process.cwd(), f));
  checkPath(c.dataDir, 'config.dataDir');
  checkPath(c.initAdapter, 'config.initAdapter');
  if (c.model !== TINY_LLAMA_ID && isAbsolutePath(c.model)) checkPath(c.model, 'config.model');
  validateTrainConfig(c);
  return c;
}

/** A run folder named by the host: absolute, no `..`; with `runsDir`, directly inside it. */
function checkRunDir(runDir: string, runsDir?: string): string {
  checkPath(runDir, 'runDir');
  const dir = resolve(runDir);
  if (runsDir !== undefined && (insideProblem(dir, resolve(runsDir), 'runDir') || dir === resolve(runsDir))) throw new UserError('unsafe-path', `runDir ${dir} is not a folder inside the runs folder ${resolve(runsDir)}.`);
  return dir;
}

/** run.json as soon as the process is spawned (it loads the model for a few seconds before writing its own). */
function writeStartingRun(runDir: string, c: TrainConfig, pid: number): void {
  const now = new Date().toISOString();
  writeRunJson(runDir, { schemaVersion: RUN_SCHEMA, kind: 'train', id: basename(runDir), status: 'running', pid, heartbeat: now, startedAt: now, model: c.model, device: c.device, step: 0, totalSteps: 0, ...epochFields(0, c.numEpochs), checkpoints: [], wallSeconds: 0 });
}

const metricsAfter = (runDir: string, since: number): MetricsView[] => readMetrics(runDir).filter((m) => m.step > since);

const defaults: Handler<'train/defaults'> = async () => ({ config: { ...TRAIN_DEFAULTS } });

const preview: Handler<'train/preview'> = async (p, ctx) => {
  const config = configFrom(p.config, p.workspaceDir);
  ctx.progress('Loading the model and tokenizer…');
  const model = await loadModelForTraining(config.model, ctx.storageDir, p.workspaceDir ?? process.cwd());
  const data = await loadTrainData(config, model.tokenizer!, p.workspaceDir ?? process.cwd());
  const e = data.train[0]!;
  return { spans: previewExample(model.tokenizer!, e), trainExamples: data.train.length, evalExamples: data.eval.length, tokens: e.ids.length };
};

const start: Handler<'train/start'> = async (p, ctx) => {
  const config = configFrom(p.config, p.workspaceDir);
  checkPath(p.runsDir, 'runsDir');
  checkPath(p.outputDir, 'outputDir');
  const runDir = p.outputDir !== undefined ? resolve(p.outputDir) : checkRunDir(join(p.runsDir, runFolderName(config.model, config.domains, config.dataFiles)), p.runsDir);
  if (existsSync(join(runDir, 'run.json'))) throw new UserError('train-run-exists', `${runDir} already holds a run. Resume it, or choose another output folder.`);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'training_config.json'), JSON.stringify(config, null, 2) + '\n');
  const pid = spawnTrainer(runDir, { storageDir: ctx.storageDir, cwd: p.workspaceDir ?? process.cwd(), resume: false, env: ctx.env });
  writeStartingRun(runDir, config, pid);
  return { runDir, pid };
};

const signal = (sig: 'SIGINT' | 'SIGUSR1') => async (p: { runDir: string }): Promise<{ signalled: boolean }> => {
  const run = effectiveRun(checkRunDir(p.runDir));
  if (!run || run.status !== 'running') return { signalled: false };
  return { signalled: signalTrainer(run.pid, sig) };
};

const resumeRun: Handler<'train/resume'> = async (p, ctx) => {
  const run = runOf(p.runDir);
  if (run.status === 'running') throw new UserError('train-running', `${p.runDir} is still running (pid alive). Pause or cancel it first.`);
  if (run.status === 'finished') throw new UserError('train-finished', `${p.runDir} has finished; start a new run instead.`);
  const pid = spawnTrainer(run.runDir, { storageDir: ctx.storageDir, cwd: p.workspaceDir ?? process.cwd(), resume: true, env: ctx.env });
  const prev = readRunJson(run.runDir)!;
  writeRunJson(run.runDir, { ...prev, status: 'running', pid, heartbeat: new Date().toISOString() });
  return { runDir: run.runDir, pid };
};

const status: Handler<'train/status'> = async (p) => ({ run: runOf(p.runDir), metrics: metricsAfter(resolve(p.runDir), p.sinceStep ?? 0) });

// Watches metrics.jsonl and run.json (fs.watchFile: works on every filesystem, 500 ms) and forwards new lines.
const watch: Handler<'train/watch'> = async (p, ctx) => {
  const runDir = resolve(p.runDir);
  let last = 0;
  let lastStatus = '';
  return new Promise((done, fail) => {
    const files = [join(runDir, 'metrics.jsonl'), join(runDir, 'run.json')];
    const tick = () => {
      try {
        const run = runOf(runDir);
        const metrics = metricsAfter(runDir, last);
        if (metrics.length || run.status !== lastStatus) ctx.notify('train/progress', { runDir, run, metrics });
        last = metrics.at(-1)?.step ?? last;
        lastStatus = run.status;
        if (run.status !== 'running' || ctx.signal.aborted) {
          files.forEach((f) => unwatchFile(f, tick));
          clearInterval(liveness);
          done({ run });
        }
      } catch (err) {
        files.forEach((f) => unwatchFile(f, tick));
        clearInterval(liveness);
        fail(err);
      }
    };
    files.forEach((f) => watchFile(f, { interval: 500 }, tick));
    const liveness = setInterval(tick, 5000); // a killed trainer writes nothing: notice the dead pid
    ctx.signal.addEventListener('abort', tick);
    tick();
  });
};

const list: Handler<'train/list'> = async (p) => {
  if (!existsSync(p.runsDir)) return { runs: [] };
  const runs: RunView[] = [];
  for (const name of readdirSync(p.runsDir).sort()) {
    const dir = join(p.runsDir, name);
    const r = effectiveRun(dir);
    if (r?.kind === 'train') runs.push(toView(dir, r));
  }
  return { runs };
};

export const trainHandlers = {
  'train/defaults': defaults,
  'train/preview': preview,
  'train/start': start,
  'train/pause': signal('SIGUSR1'),
  'train/cancel': signal('SIGINT'),
  'train/resume': resumeRun,
  'train/status': status,
  'train/watch': watch,
  'train/list': list,
};
