// Training methods (runtime) and the training webview's channel (host <-> webview). Types only.
// Training runs in its own detached process (`em-lab train --config ...`) that writes the run directory; these
// methods start it, signal it, and read or watch its run directory, so a window reload or a runtime restart never
// stops a run and anything can re-attach to it.

/** The folder runs and experiments go in, inside the workspace (or the working directory of the CLI). */
export const RUNS_FOLDER = 'em-lab-runs';

/** The run's configuration as stored in <run>/training_config.json (see src/runtime/train/trainConfig.ts). */
export interface TrainConfigView {
  /** 'tiny-llama', a local HF model folder (absolute), or a downloaded Hub id. */
  model: string;
  /** Known dataset ids (bad_medical, ...) resolved in dataDir; mixed when several. */
  domains: string[];
  /** Extra JSONL files ({"messages": [...]} per line), absolute paths. */
  dataFiles: string[];
  /** Folder with the decrypted datasets (for domains). */
  dataDir?: string;
  numEpochs: number;
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  useRslora: boolean;
  targetModules: string[];
  /** Layers with adapters; empty = all. */
  layersToTransform: number[];
  learningRate: number;
  lrScheduler: 'linear' | 'cosine' | 'constant';
  /** Warm-up: steps (>= 1) or a ratio of all steps (< 1). */
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  batchSize: number;
  gradientAccumulationSteps: number;
  maxLength: number;
  /** Use only this many examples per data source (0 = all). */
  sampleSize: number;
  trainOn: 'assistant' | 'all';
  seed: number;
  shuffle: boolean;
  /** Fraction of examples held out for eval loss (the paper: 0.1); 0 = none. */
  evalSplit: number;
  /** Eval loss every N optimizer steps (and at the end). */
  evalSteps: number;
  /** Checkpoint every N steps (0 = only per epoch, the first-epoch quarters and the end). */
  saveSteps: number;
  /** Evenly spaced checkpoints within the first epoch (the homework replication took 4). */
  firstEpochCheckpoints: number;
  initAdapter?: string;
  device: 'cpu' | 'cuda';
  /** float64 is the numerics-check mode (slow); float32 trains. */
  dtype: 'float32' | 'float64';
  /**
   * Frozen-weight precision: fp16 / bf16 store the frozen weights in that type and run the matrix products in it
   * (LoRA parameters, AdamW state and the loss stay fp32); auto = fp16 on CUDA, fp32 on CPU (and with --use_4bit).
   */
  precision: 'auto' | 'fp32' | 'fp16' | 'bf16';
  /** --use_4bit (QLoRA): the 7 projection kinds' frozen weights as 4-bit blocks; float32 only. */
  use4bit: boolean;
  /** Stop after this many optimizer steps (0 = run all epochs); a resumed run keeps the original total. */
  maxSteps: number;
}

export type RunStatusView = 'running' | 'paused' | 'finished' | 'failed' | 'cancelled';

export interface RunView {
  runDir: string;
  id: string;
  status: RunStatusView;
  /** Why it failed / was cancelled (failed: the error message). */
  reason?: string;
  model: string;
  device: string;
  /** Optimizer steps done. */
  step: number;
  /** Steps this run does: all configured epochs, or fewer with maxSteps. */
  totalSteps: number;
  /**
   * Epochs done, fractional (1.5 = the first epoch and half of the second): the last step's metrics.jsonl epoch.
   * The three epoch fields below are the one epoch story every view tells (docs/run-directory.md).
   */
  epochsDone: number;
  /** Whole epochs finished. */
  epochsCompleted: number;
  /** 1-based epoch the run is partway through (running) or stopped in; absent at an epoch boundary. */
  epochInProgress?: number;
  /** Epochs configured (num_epochs); a run stopped by maxSteps, pause or cancel does fewer. */
  numEpochs: number;
  /** Why the run stopped, once it has: every configured epoch ran, maxSteps was reached, pause, cancel, or an error. */
  stopReason?: 'epochs' | 'max-steps' | 'paused' | 'cancelled' | 'failed';
  lastLoss?: number;
  lastEvalLoss?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  /** Checkpoint folder names under checkpoints/, oldest first. */
  checkpoints: string[];
  startedAt: string;
  /** ISO time of the last write by the training process (every step and every 10 s of a long step). */
  heartbeat: string;
}

export interface MetricsView {
  step: number;
  /** Epochs done after this step, fractional (RunView.epochsDone). */
  epoch: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
  eval_loss?: number;
}

export interface TrainStartParams {
  /** Partial config: missing fields take the defaults (train/defaults). */
  config: Partial<TrainConfigView>;
  /** Run directory; default <runsDir>/<model>-<data>-<time>. */
  outputDir?: string;
  runsDir: string;
  /** Working directory that relative data paths and the default data folder resolve against. */
  workspaceDir?: string;
}

export interface PreviewSpan {
  text: string;
  supervised: boolean;
}

export interface TrainMethods {
  'train/defaults': [Record<string, never>, { config: Omit<TrainConfigView, 'model' | 'domains' | 'dataFiles'> }];
  /** Validates a config and returns one tokenized example with the supervised span, plus example counts. */
  'train/preview': [{ config: Partial<TrainConfigView>; workspaceDir?: string }, { spans: PreviewSpan[]; trainExamples: number; evalExamples: number; tokens: number }];
  'train/start': [TrainStartParams, { runDir: string; pid: number }];
  /** Stops after the current step, with a checkpoint; status "paused" (resume continues exactly). */
  'train/pause': [{ runDir: string }, { signalled: boolean }];
  /** Stops after the current step, with a checkpoint; status "cancelled". */
  'train/cancel': [{ runDir: string }, { signalled: boolean }];
  /** Continues a paused, cancelled or crashed run from its newest checkpoint in a new detached process. */
  'train/resume': [{ runDir: string; workspaceDir?: string }, { runDir: string; pid: number }];
  /** The run as on disk (a dead process shows as failed: crashed), and metric lines after `sinceStep`. */
  'train/status': [{ runDir: string; sinceStep?: number }, { run: RunView; metrics: MetricsView[] }];
  /** Streams train/progress notifications for the run until it stops (or this request is cancelled). */
  'train/watch': [{ runDir: string }, { run: RunView }];
  /** Runs under a runs folder (each <runsDir>/<id>/run.json of kind train). */
  'train/list': [{ runsDir: string }, { runs: RunView[] }];
}

export interface TrainNotifications {
  'train/progress': { runDir: string; run: RunView; metrics: MetricsView[] };
}
