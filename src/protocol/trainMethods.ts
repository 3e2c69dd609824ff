// Training methods (runtime) and the training webview's channel (host <-> webview). Types only.
// Training runs in its own detached process (`em-lab train --config ...`) that writes the run directory; these
// methods start it, signal it, and read or watch its run directory, so a window reload or a runtime restart never
// stops a run and anything can re-attach to it.

/** The run's configuration as stored in <run>/training_config.json (see src/runtime/train/trainConfig.ts). */
export interface TrainConfigView {
  model: string;
  domains: string[];
  dataFiles: string[];
  dataDir?: string;
  numEpochs: number;
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  useRslora: boolean;
  targetModules: string[];
  layersToTransform: number[];
  learningRate: number;
  lrScheduler: 'linear' | 'cosine' | 'constant';
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  batchSize: number;
  gradientAccumulationSteps: number;
  maxLength: number;
  sampleSize: number;
  trainOn: 'assistant' | 'all';
  seed: number;
  shuffle: boolean;
  evalSplit: number;
  evalSteps: number;
  saveSteps: number;
  firstEpochCheckpoints: number;
  initAdapter?: string;
  device: 'cpu' | 'cuda';
  dtype: 'float32' | 'float64';
  maxSteps: number;
}

export type RunStatusView = 'running' | 'paused' | 'finished' | 'failed' | 'cancelled';

export interface RunView {
  runDir: string;
  id: string;
  status: RunStatusView;
  reason?: string;
  model: string;
  device: string;
  step: number;
  totalSteps: number;
  epoch: number;
  numEpochs: number;
  lastLoss?: number;
  lastEvalLoss?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  checkpoints: string[];
  startedAt: string;
  heartbeat: string;
}

export interface MetricsView {
  step: number;
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
