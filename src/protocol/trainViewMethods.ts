// Host <-> "EM Lab: Train LoRA Adapter" webview, in the rpc.ts envelope. The webview is untrusted: the host checks
// every message's shape; run folders it acts on must be ones the host listed (under the runs folder).
import type { MetricsView, PreviewSpan, RunView, TrainConfigView } from './trainMethods';

export interface TrainViewInit {
  defaults: Omit<TrainConfigView, 'model' | 'domains' | 'dataFiles'>;
  /** Datasets in the configured data folder (emLab.datasets.folder), known EM datasets first. */
  datasets: { id: string; label: string; rows: number; harmful: boolean }[];
  /** That folder: the form sends it as the config's dataDir, so the trainer reads the same files. */
  dataDir: string;
  runs: RunView[];
  /** Datasets to tick in the form (opened with "Train on This Dataset"): the form is shown, not a run. */
  select?: { domains: string[] };
  /** The run to show (reopened panel, or the one just started). */
  attached?: { run: RunView; metrics: MetricsView[] };
}

export interface TrainViewMethods {
  'view/init': [Record<string, never>, TrainViewInit];
  'view/preview': [{ config: Partial<TrainConfigView> }, { spans: PreviewSpan[]; trainExamples: number; evalExamples: number; tokens: number }];
  'view/start': [{ config: Partial<TrainConfigView> }, { run: RunView }];
  'view/attach': [{ runDir: string }, { run: RunView; metrics: MetricsView[] }];
  'view/pause': [{ runDir: string }, { ok: boolean }];
  'view/cancel': [{ runDir: string }, { ok: boolean }];
  'view/resume': [{ runDir: string }, { ok: boolean }];
  /** Opens the chat sandbox with the base model and this checkpoint's adapter. */
  'view/openChat': [{ runDir: string; checkpoint: string }, { ok: boolean }];
  'view/evaluate': [{ runDir: string; checkpoint: string }, { ok: boolean }];
  /** Native file picker for a JSONL dataset; undefined when cancelled. */
  'view/pickDataFile': [Record<string, never>, { file?: string }];
}

export interface TrainViewNotifications {
  'view/progress': { runDir: string; run: RunView; metrics: MetricsView[] };
  /** Show the start form with these datasets ticked. */
  'view/select': { domains: string[] };
}
