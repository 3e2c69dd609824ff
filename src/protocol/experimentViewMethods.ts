// Host <-> the "EM Lab: New Experiment" form and the experiment report webview, in the rpc.ts envelope. The host
// checks every request's shape (src/host/viewChannel.ts); files are chosen with VS Code's own dialogs, never typed
// paths from the webview, except the model field (a Hub id or a folder the runtime checks). Types only.
import type { ExperimentPresetView, ExperimentReport, ExperimentStatusView, JudgeProvider, QuestionSourceSpec } from './experimentTypes';

export interface NewExperimentDataset {
  id: string;
  label: string;
  rows: number;
  harmful: boolean;
}

export interface NewExperimentInit {
  presets: ExperimentPresetView[];
  /** meta-llama/Llama-3.2-1B-Instruct: what every preset suggests. */
  defaultModel: string;
  /** tiny-llama: built in, offline, random weights. */
  offlineModel: string;
  /** Datasets in the configured data folder (emLab.datasets.folder). */
  datasets: NewExperimentDataset[];
  dataDir: string;
  /** Where the experiment folder goes (the runs folder). */
  experimentsDir: string;
  /** The judge settings (emLab.judge.*), so the form starts from the user's choice. */
  judge: { model: string; baseUrl?: string };
  /** An OpenAI key is stored (SecretStorage) or in the environment: the OpenAI judge can run. */
  hasOpenAiKey: boolean;
  /** Preselected (e.g. "Train on This Dataset" or a walkthrough step). */
  select?: { domains?: string[]; model?: string };
}

/** What the form sends: the choices; the rest of experiment.json comes from the preset (the runtime fills it). */
export interface NewExperimentChoices {
  preset: ExperimentPresetView['id'];
  name?: string;
  description?: string;
  model: string;
  domains: string[];
  /** JSONL files picked with the file dialog (absolute). */
  files: string[];
  questions: QuestionSourceSpec[];
  judge: { provider: JudgeProvider; model: string; baseURL?: string };
  /** Run the stages at once (else only experiment.json is written). */
  run: boolean;
}

export interface NewExperimentMethods {
  'newExperiment/init': [Record<string, never>, NewExperimentInit];
  /** Writes experiment.json (experiment/create) and, with `run`, starts the runner; reveals it in the sidebar. */
  'newExperiment/create': [NewExperimentChoices, { dir: string; file: string; started: boolean }];
  /** A file dialog: a model folder, a JSONL dataset, or a question file. Absent when cancelled. */
  'newExperiment/pick': [{ kind: 'model' | 'data' | 'questions' }, { path?: string }];
  /** Runs "EM Lab: Set OpenAI API Key"; answers whether a key is there now. */
  'newExperiment/setKey': [Record<string, never>, { hasOpenAiKey: boolean }];
}

export type NewExperimentNotifications = Record<string, never>;

export interface ReportViewInit {
  /** The experiment shown, and its report (computed from the folder by the runtime, as the CLI does). */
  report: ExperimentReport;
  status: ExperimentStatusView;
}

export interface ReportViewMethods {
  'report/init': [Record<string, never>, ReportViewInit | null];
  /** Writes report.html and/or report.md (+ charts) through the runtime's export; reveals the file. */
  'report/export': [{ format: 'html' | 'markdown' }, { files: string[] }];
  /** Opens a file of the experiment (a judged CSV in Judge Results, a folder in the Explorer, experiment.json). */
  'report/open': [{ what: 'judged' | 'folder' | 'experimentFile' | 'chat' }, { ok: boolean }];
  /** Copies a reproducing command line to the clipboard. */
  'report/copy': [{ text: string }, { ok: boolean }];
}

export interface ReportViewNotifications {
  /** The experiment changed on disk (a stage finished): the new report. */
  'report/updated': ReportViewInit;
}
