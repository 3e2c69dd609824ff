// "EM Lab: Open Dataset Browser": one webview panel listing the datasets, a paged and searchable conversation
// list, a conversation by role, and length histograms. The webview only ever holds one page; paging, search and
// stats run in the runtime (data/page, data/row, data/stats). Webview requests are untrusted: shapes are checked
// and `file` must be one of the datasets the host listed.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { renderWebviewHtml, webviewOptions } from '../../host/webviewHtml';
import type { DataListResult } from '../../protocol/dataMethods';
import type { DatasetBrowserMethods, DatasetBrowserNotifications } from '../../protocol/datasetBrowserMethods';
import type { RpcNotification, RpcRequest, RpcResponse } from '../../protocol/rpc';
import { datasetsFolder, trainingDataRoot } from './trainingDataLocation';

type Method = keyof DatasetBrowserMethods;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export class DatasetBrowser implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private listed = new Set<string>();
  private pendingSelect: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {}

  async listDatasets(): Promise<DataListResult> {
    const result = await this.deps.runtime.request('data/list', { dir: datasetsFolder(this.deps.context), workspaceDir: trainingDataRoot(this.deps.context) });
    this.listed = new Set(result.datasets.map((d) => d.file));
    return result;
  }

  open(file?: string): void {
    if (this.panel) {
      this.panel.reveal();
      if (file) this.notify('browser/select', { file });
      return;
    }
    const { extensionUri } = this.deps.context;
    this.pendingSelect = file;
    const panel = vscode.window.createWebviewPanel('emLab.datasetBrowser', 'EM Lab: Datasets', vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: false });
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icons', 'em-lab.svg');
    panel.webview.html = renderWebviewHtml({
      webview: panel.webview,
      extensionUri,
      bundle: 'datasets',
      title: 'EM Lab: Datasets',
      styles: ['common.css', 'datasets/datasets.css'],
      initialState: file ? { select: file } : undefined,
    });
    this.panel = panel;
    panel.onDidDispose(() => (this.panel = undefined), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m), null, this.disposables);
  }

  /** Tell an open browser that dataset files changed. */
  datasetsChanged(): void {
    this.notify('browser/datasetsChanged', {});
  }

  private notify<K extends keyof DatasetBrowserNotifications>(method: K, params: DatasetBrowserNotifications[K]): void {
    const message: RpcNotification<K, DatasetBrowserNotifications[K]> = { kind: 'notification', method, params };
    void this.panel?.webview.postMessage(message);
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isObject(raw) || raw.kind !== 'request' || !isInt(raw.id, 0, Number.MAX_SAFE_INTEGER) || typeof raw.method !== 'string') return;
    const request = raw as unknown as RpcRequest;
    const reply = (body: Omit<RpcResponse, 'kind' | 'id'>) => void this.panel?.webview.postMessage({ kind: 'response', id: request.id, ...body });
    try {
      reply({ result: await this.handle(request.method as Method, request.params) });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      reply({ error: { code: typeof code === 'string' ? code : 'internal', message: errorText(err) } });
    }
  }

  private checkedFile(params: unknown): string {
    const file = isObject(params) ? params.file : undefined;
    if (typeof file !== 'string' || !this.listed.has(file)) throw Object.assign(new Error('That dataset is not in the list any more; refresh the browser.'), { code: 'bad-request' });
    return file;
  }

  private async handle(method: Method, params: unknown): Promise<unknown> {
    switch (method) {
      case 'browser/list': {
        const list = await this.listDatasets();
        if (this.pendingSelect) {
          this.notify('browser/select', { file: this.pendingSelect });
          this.pendingSelect = undefined;
        }
        return list;
      }
      case 'browser/page': {
        const file = this.checkedFile(params);
        const p = params as Record<string, unknown>;
        if (!isInt(p.offset, 0, 10_000_000) || !isInt(p.limit, 1, 500) || (p.search !== undefined && (typeof p.search !== 'string' || p.search.length > 500))) {
          throw Object.assign(new Error('Bad page request.'), { code: 'bad-request' });
        }
        return this.deps.runtime.request('data/page', { file, offset: p.offset, limit: p.limit, search: p.search as string | undefined, previewChars: 200 });
      }
      case 'browser/row': {
        const file = this.checkedFile(params);
        const index = (params as Record<string, unknown>).index;
        if (!isInt(index, 0, 10_000_000)) throw Object.assign(new Error('Bad row request.'), { code: 'bad-request' });
        return this.deps.runtime.request('data/row', { file, index });
      }
      case 'browser/stats':
        return this.deps.runtime.request('data/stats', { file: this.checkedFile(params) }, { timeoutMs: 120_000 });
      case 'browser/getTrainingData':
        await vscode.commands.executeCommand('emLab.getTrainingData');
        return null;
      default:
        throw Object.assign(new Error(`Unknown request ${String(method)}.`), { code: 'bad-request' });
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
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
