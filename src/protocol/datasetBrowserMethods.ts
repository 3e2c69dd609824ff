// Messages between the dataset browser webview and its host controller (src/views/datasets/datasetBrowser.ts),
// in the envelope of rpc.ts. The host validates every request (shape, and `file` must be a listed dataset)
// before forwarding it to the runtime. Types only.
import type { DataConversation, DataListResult, DataPageParams, DataPageResult, DataStatsResult } from './dataMethods';

export interface DatasetBrowserMethods {
  'browser/list': [Record<string, never>, DataListResult];
  'browser/page': [DataPageParams, DataPageResult];
  'browser/row': [{ file: string; index: number }, DataConversation];
  'browser/stats': [{ file: string }, DataStatsResult];
  /** Runs "EM Lab: Get Training Data". */
  'browser/getTrainingData': [Record<string, never>, null];
}

export interface DatasetBrowserNotifications {
  /** The host asks the view to show this dataset (e.g. opened from the sidebar). */
  'browser/select': { file: string };
  /** Dataset files changed on disk: list again. */
  'browser/datasetsChanged': Record<string, never>;
}

/** What the webview keeps across hide/show (getState/setState). */
export interface DatasetBrowserState {
  schemaVersion: 1;
  file?: string;
  search: string;
  offset: number;
  selectedIndex?: number;
}

export const DATASET_BROWSER_PAGE_SIZE = 50;
