// Experiment methods of the runtime (docs/experiment.md). Types only. The runner is a detached process
// (`em-lab experiment run <experiment.json> --json`, its output in <experiment>/runner.log), like training: it keeps
// going through a window reload or a runtime restart, and anything re-attaches by reading the experiment folder.
// `path` everywhere is the experiment folder or its experiment.json.
import type { ExperimentCreateParams, ExperimentFile, ExperimentPresetView, ExperimentReport, ExperimentStageId, ExperimentStatusView } from './experimentTypes';

export interface ExperimentRunParams {
  path: string;
  /** Run only these stages (default: all, in order; done ones are skipped). */
  only?: ExperimentStageId[];
  /** Run these again even if done (their resumable files are reused where they still match). */
  redo?: ExperimentStageId[];
  /** The runner's working directory (its .env is read from here up); default the experiment's parent folder. */
  workspaceDir?: string;
}

export interface ExperimentExportParams {
  path: string;
  /** Default both. html: one self-contained file; markdown: report.md with PNG charts beside it. */
  formats?: ('html' | 'markdown')[];
  /** Default <experiment>/report. */
  outDir?: string;
}

export interface ExperimentMethods {
  /** The preset table (what New Experiment offers and fills in), with the default and the offline model. */
  'experiment/presets': [Record<string, never>, { presets: ExperimentPresetView[]; defaultModel: string; offlineModel: string }];
  /** Writes experiment.json (the same function as `em-lab experiment new`); refuses an existing one unless overwrite. */
  'experiment/create': [ExperimentCreateParams, { dir: string; file: string; experiment: ExperimentFile }];
  /** Starts the detached runner; refuses when one is already running for this experiment. */
  'experiment/run': [ExperimentRunParams, { dir: string; pid: number }];
  /** The experiment as on disk (a dead runner shows its running stage as interrupted). */
  'experiment/status': [{ path: string }, ExperimentStatusView];
  /** Streams experiment/progress until the runner stops (or this request is cancelled); returns the final status. */
  'experiment/watch': [{ path: string }, ExperimentStatusView];
  /** Stops the runner after the current unit of work (a training step with a checkpoint, an answer, a judgement). */
  'experiment/cancel': [{ path: string }, { signalled: boolean }];
  /** Experiments directly under a folder (each <dir>/<name>/experiment.json). */
  'experiment/list': [{ experimentsDir: string }, { experiments: ExperimentStatusView[] }];
  /** The report data, computed from the folder (stages not done yet show as missing, with why). */
  'experiment/report': [{ path: string }, ExperimentReport];
  /** Writes report.html and/or report.md + charts/*.png; returns the files written. */
  'experiment/export': [ExperimentExportParams, { files: string[] }];
}

export interface ExperimentNotifications {
  /** Sent by experiment/watch whenever the folder changes (status.json, the training run's metrics). */
  'experiment/progress': { dir: string; status: ExperimentStatusView };
}
