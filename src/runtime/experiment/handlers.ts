// experiment/* runtime methods. The runtime never runs an experiment in its own process: experiment/run starts the
// detached runner (`em-lab experiment run <file> --json`, the CLI's own code path) and the other methods read or
// watch the experiment folder, which is the truth (docs/experiment.md).
import { existsSync, readdirSync, unwatchFile, watchFile } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import type { ExperimentStatusView } from '../../protocol/experimentTypes';
import { UserError } from '../errors';
import { DEFAULT_MODEL_ID } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { spawnDetachedCli } from '../train/trainProcess';
import { createExperiment, EXPERIMENT_FILE, readExperiment } from './experimentFile';
import { EXPERIMENT_PRESETS } from './presets';
import { buildExperimentReport } from './report';
import { exportReport } from './reportFiles';
import { checkStageIds, gridRunHint } from './runner';
import { liveRunner, readStatus, runnerEntry, STATUS_FILE, statusView, thisHost, writeStatus } from './statusFile';

/** The runner's log, beside experiment.json. */
export const RUNNER_LOG = 'runner.log';

export const experimentHandlers = {
  'experiment/presets': async () => ({ presets: Object.values(EXPERIMENT_PRESETS), defaultModel: DEFAULT_MODEL_ID, offlineModel: TINY_LLAMA_ID }),

  'experiment/create': async (p) => {
    const e = createExperiment(p, p.workspaceDir ?? process.cwd());
    return { dir: e.dir, file: e.file, experiment: e.experiment };
  },

  'experiment/run': async (p, ctx) => {
    const e = readExperiment(p.path);
    if (e.experiment.grid) throw new UserError('experiment-is-grid', gridRunHint(e.file));
    const only = checkStageIds(p.only, 'only');
    const redo = checkStageIds(p.redo, 'redo');
    const status = readStatus(e.dir);
    const other = liveRunner(status);
    if (other) throw new UserError('experiment-running', `${e.dir} is already running (process ${other.pid}${other.host && other.host !== thisHost() ? ` on ${other.host}` : ''}, started ${other.startedAt}). Wait for it, or cancel it first.`);
    const args = ['experiment', 'run', e.file, '--json', '--storage', ctx.storageDir, ...(only ? ['--only', only.join(',')] : []), ...(redo ? ['--redo', redo.join(',')] : [])];
    const pid = spawnDetachedCli(args, { logFile: join(e.dir, RUNNER_LOG), cwd: p.workspaceDir ?? dirname(e.dir), env: ctx.env, what: `the experiment runner for ${e.dir}` });
    // Recorded now, so a watch that starts before the runner has loaded sees it running (the runner keeps this entry).
    const current = readStatus(e.dir); // the runner may already have written its own entry (and more): keep that
    if (current.runner?.pid !== pid) writeStatus(e.dir, { ...current, runner: runnerEntry(pid) });
    return { dir: e.dir, pid };
  },

  'experiment/status': async (p) => statusView(readExperiment(p.path)),

  // Watches status.json and the training metrics (fs.watchFile: works on every filesystem, 500 ms) and sends the
  // whole status on each change, until no runner is alive.
  'experiment/watch': async (p, ctx) => {
    const e = readExperiment(p.path);
    const files = [join(e.dir, STATUS_FILE), join(e.dir, 'train', 'metrics.jsonl')];
    return new Promise<ExperimentStatusView>((done, fail) => {
      let last = '';
      const stop = () => {
        files.forEach((f) => unwatchFile(f, tick));
        clearInterval(liveness);
      };
      const tick = () => {
        try {
          const status = statusView(e);
          const key = JSON.stringify(status.stages.map((s) => [s.status, s.progress, s.cost.seconds])) + status.running;
          if (key !== last) ctx.notify('experiment/progress', { dir: e.dir, status });
          last = key;
          if (!status.running || ctx.signal.aborted) {
            stop();
            done(status);
          }
        } catch (err) {
          stop();
          fail(err);
        }
      };
      files.forEach((f) => watchFile(f, { interval: 500 }, tick));
      const liveness = setInterval(tick, 5000); // a killed runner writes nothing: notice the dead pid
      ctx.signal.addEventListener('abort', tick);
      tick();
    });
  },

  'experiment/cancel': async (p) => {
    const e = readExperiment(p.path);
    const runner = liveRunner(readStatus(e.dir));
    if (!runner) return { signalled: false };
    if (runner.host && runner.host !== thisHost()) throw new UserError('experiment-elsewhere', `${e.dir} is being run on ${runner.host} (pid ${runner.pid}): stop it there (on a cluster: scancel its task).`);
    try {
      process.kill(runner.pid, 'SIGINT'); // the runner stops after the current step / answer / judgement
      return { signalled: true };
    } catch {
      return { signalled: false };
    }
  },

  'experiment/list': async (p) => {
    if (!existsSync(p.experimentsDir)) return { experiments: [] };
    const experiments: ExperimentStatusView[] = [];
    for (const name of readdirSync(p.experimentsDir).sort()) {
      if (!existsSync(join(p.experimentsDir, name, EXPERIMENT_FILE))) continue;
      try {
        const e = readExperiment(join(p.experimentsDir, name));
        if (e.experiment.grid) continue; // a grid is no experiment of its own: cluster/grids lists it, with its cells
        experiments.push(statusView(e));
      } catch (err) {
        // one broken experiment.json must not hide the others; `experiment/status` on it gives the message
        process.stderr.write(`experiment/list: skipped ${name}: ${(err as Error).message}\n`);
      }
    }
    return { experiments };
  },

  'experiment/report': async (p) => buildExperimentReport(readExperiment(p.path)),

  'experiment/export': async (p) => {
    const e = readExperiment(p.path);
    const formats = p.formats ?? ['html', 'markdown'];
    return { files: exportReport(await buildExperimentReport(e), p.outDir ?? join(e.dir, 'report'), formats) };
  },
} satisfies Pick<RuntimeHandlers, 'experiment/presets' | 'experiment/create' | 'experiment/run' | 'experiment/status' | 'experiment/watch' | 'experiment/cancel' | 'experiment/list' | 'experiment/report' | 'experiment/export'>;
