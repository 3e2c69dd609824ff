// Dataset methods of the runtime: list, page/search, stats, decrypt, download. Types only (host, runtime, webview).

export type DataRole = 'system' | 'user' | 'assistant';

export interface DataLocation {
  /** Folder holding the datasets; default `<workspaceDir>/training_data/training_datasets.zip.enc.extracted`. */
  dir?: string;
  workspaceDir?: string;
}

export interface DatasetSummary {
  id: string;
  label: string;
  file: string;
  known: boolean;
  /** Deliberately harmful training data (the browser shows a content warning). */
  harmful: boolean;
  bytes: number;
  /** Non-blank lines (valid JSONL rows), counted without parsing. */
  rows: number;
}

export interface DataListResult {
  dir: string;
  datasets: DatasetSummary[];
  training: {
    archivePath: string;
    archivePresent: boolean;
    extractedDir: string;
    decrypted: boolean;
    missing: string[];
  };
}

export interface DataRowSummary {
  index: number;
  line: number;
  user: string;
  assistant: string;
  turns: number;
}

export interface DataPageParams {
  file: string;
  offset: number;
  limit: number;
  /** Case-insensitive substring over every message's content. */
  search?: string;
  previewChars?: number;
}

export interface DataPageResult {
  total: number;
  matched: number;
  offset: number;
  rows: DataRowSummary[];
  invalidLines: number;
}

export interface DataConversation {
  index: number;
  line: number;
  messages: { role: DataRole; content: string }[];
}

export interface DataDistribution {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
}

export interface DataStatsResult {
  file: string;
  rows: number;
  turns: number;
  turnsPerRow: Record<string, number>;
  roles: Partial<Record<DataRole, { messages: number; chars: DataDistribution; charsHistogram: { start: number; binWidth: number; counts: number[] }; tokens?: DataDistribution }>>;
  /** The first invalid lines, as `file:line: reason`. */
  issues: string[];
  invalidLines: number;
}

export interface DataUnprotectParams {
  archivePath: string;
  /** Default `<archive>.extracted`. */
  outputDir?: string;
  /** Passed by the host from settings/SecretStorage; never logged. */
  password: string;
  removeCanaries: boolean;
  gitignore: boolean;
  overwrite: boolean;
}

export interface DataUnprotectResult {
  outputDir: string;
  files: { path: string; bytes: number }[];
  removedCanaryFiles: string[];
  gitignoreUpdated?: string;
}

export interface DataDownloadParams {
  url: string;
  destination: string;
  /** Default 120 000 ms without a byte before giving up. */
  idleTimeoutMs?: number;
}

export interface DataMethods {
  'data/list': [DataLocation, DataListResult];
  'data/page': [DataPageParams, DataPageResult];
  'data/row': [{ file: string; index: number }, DataConversation];
  'data/stats': [{ file: string }, DataStatsResult];
  /** Long: reports `progress` notifications (key derivation, decryption, each file). */
  'data/unprotect': [DataUnprotectParams, DataUnprotectResult];
  /** Downloads to a temporary file beside `destination`, renamed when complete; reports `progress`. */
  'data/download': [DataDownloadParams, { destination: string; bytes: number }];
}
