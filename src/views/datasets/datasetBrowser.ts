// "EM Lab: Open Dataset Browser": one webview panel listing the datasets, a paged and searchable conversation
// list, a conversation by role, and length histograms. The webview only ever holds one page; paging, search and
// stats run in the runtime (data/page, data/row, data/stats). Webview requests are untrusted: shapes are checked
// and `file` must be one of the datasets the host listed.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { ViewRequestError, type ViewHandlers } from '../../host/viewChannel';
import { int, noParams, obj, optStr } from '../../host/viewParams';
import { ViewPanel } from '../../host/webviewChannel';
import type { DataListResult } from '../../protocol/dataMethods';
import type { DatasetBrowserMethods, DatasetBrowserNotifications } from '../../protocol/datasetBrowserMethods';
import { datasetsFolder, trainingDataRoot } from './trainingDataLocation';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class DatasetBrowser implements vscode.Disposable {
  private view: ViewPanel<DatasetBrowserMethods, DatasetBrowserNotifications> | undefined;
  private listed = new Set<string>();
  private pendingSelect: string | undefined;

  constructor(private readonly deps: HostDeps) {}

  async listDatasets(): Promise<DataListResult> {
    const result = await this.deps.runtime.request('data/list', { dir: datasetsFolder(this.deps.context), workspaceDir: trainingDataRoot(this.deps.context) });
    this.listed = new Set(result.datasets.map((d) => d.file));
    return result;
  }

  open(file?: string): void {
    if (this.view) {
      this.view.reveal();
      if (file) this.view.notify('browser/select', { file });
      return;
    }
    this.pendingSelect = file;
    this.view = new ViewPanel(
      this.deps,
      { viewType: 'emLab.datasetBrowser', title: 'EM Lab: Datasets', bundle: 'datasets', styles: ['common.css', 'datasets/datasets.css'], handlers: this.handlers, initialState: file ? { select: file } : undefined },
      () => (this.view = undefined),
    );
  }

  /** Tell an open browser that dataset files changed. */
  datasetsChanged(): void {
    this.view?.notify('browser/datasetsChanged', {});
  }

  /** `file` must be one of the datasets the host listed: the webview never names an arbitrary path. */
  private checkedFile(raw: unknown): string {
    const file = obj(raw).file;
    if (typeof file !== 'string' || !this.listed.has(file)) throw new ViewRequestError('That dataset is not in the list any more; refresh the browser.');
    return file;
  }

  private readonly handlers: ViewHandlers<DatasetBrowserMethods> = {
    'browser/list': {
      parse: noParams,
      run: async () => {
        const list = await this.listDatasets();
        if (this.pendingSelect) {
          this.view?.notify('browser/select', { file: this.pendingSelect });
          this.pendingSelect = undefined;
        }
        return list;
      },
    },
    'browser/page': {
      parse: (raw) => {
        const p = obj(raw);
        const search = optStr(p.search, 'search', 500);
        return { file: this.checkedFile(raw), offset: int(p.offset, 'offset', 0, 10_000_000), limit: int(p.limit, 'limit', 1, 500), ...(search !== undefined ? { search } : {}) };
      },
      run: (p) => this.deps.runtime.request('data/page', { ...p, previewChars: 200 }),
    },
    'browser/row': {
      parse: (raw) => ({ file: this.checkedFile(raw), index: int(obj(raw).index, 'index', 0, 10_000_000) }),
      run: (p) => this.deps.runtime.request('data/row', p),
    },
    'browser/stats': {
      parse: (raw) => ({ file: this.checkedFile(raw) }),
      run: (p) => this.deps.runtime.request('data/stats', p, { timeoutMs: 120_000 }),
    },
    'browser/getTrainingData': {
      parse: noParams,
      run: async () => {
        await vscode.commands.executeCommand('emLab.getTrainingData');
        return null;
      },
    },
  };

  dispose(): void {
    this.view?.dispose();
  }
}

/** The browser, shared with the sidebar (which opens datasets in it). */
export function activateDatasetBrowser(deps: HostDeps, browser: DatasetBrowser): vscode.Disposable {
  return vscode.Disposable.from(
    browser,
    vscode.commands.registerCommand('emLab.openDatasetBrowser', (arg?: unknown) => {
      // A path; `{ file }` (tree item click); the tree element `{ dataset: { file } }` (inline action); or nothing.
      const nested = isObject(arg) && isObject(arg.dataset) ? arg.dataset : arg;
      const file = typeof arg === 'string' ? arg : isObject(nested) && typeof nested.file === 'string' ? nested.file : undefined;
      browser.open(file);
    }),
  );
}
