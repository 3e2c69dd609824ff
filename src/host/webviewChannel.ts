// Binds the typed view channel (viewChannel.ts) to a VS Code webview, and opens the editor-tab panels every EM Lab
// view uses: one place creates a WebviewPanel (icon, options, the one HTML writer, the channel), so the views only
// declare their handler tables.
import * as vscode from 'vscode';
import type { HostDeps } from './deps';
import { ViewChannel, type ViewHandlers, type ViewMethodMap } from './viewChannel';
import { renderWebviewHtml, webviewOptions } from './webviewHtml';

/** Connects `webview` to `handlers`; the returned channel pushes notifications. Dispose to stop listening. */
export function connectWebview<M extends ViewMethodMap<M>, N extends object>(webview: vscode.Webview, handlers: ViewHandlers<M>, log: vscode.LogOutputChannel, label: string): { channel: ViewChannel<M, N>; subscription: vscode.Disposable } {
  const channel = new ViewChannel<M, N>(handlers, {
    post: (m) => void webview.postMessage(m).then(undefined, () => undefined), // a disposed webview: nothing to tell
    log: (level, message) => log[level](`${label}: ${message}`),
  });
  return { channel, subscription: webview.onDidReceiveMessage((m: unknown) => void channel.receive(m)) };
}

export interface ViewPanelOptions<M extends ViewMethodMap<M>> {
  /** The panel's view type, e.g. 'emLab.training'. */
  viewType: string;
  title: string;
  /** dist/media/<bundle>.js, built from media/<bundle>/main.ts. */
  bundle: string;
  styles: string[];
  handlers: ViewHandlers<M>;
  initialState?: unknown;
}

/** An editor-tab webview with its channel. `retainContextWhenHidden` is off: views ask for what they missed. */
export class ViewPanel<M extends ViewMethodMap<M>, N extends object> implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly channel: ViewChannel<M, N>;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(deps: HostDeps, o: ViewPanelOptions<M>, private readonly onDisposed: () => void) {
    const { extensionUri } = deps.context;
    this.panel = vscode.window.createWebviewPanel(o.viewType, o.title, vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: false });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icons', 'em-lab.svg');
    this.panel.webview.html = renderWebviewHtml({ webview: this.panel.webview, extensionUri, bundle: o.bundle, title: o.title, styles: o.styles, initialState: o.initialState });
    const { channel, subscription } = connectWebview<M, N>(this.panel.webview, o.handlers, deps.log, o.title);
    this.channel = channel;
    this.disposables.push(
      subscription,
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  notify<K extends keyof N & string>(method: K, params: N[K]): void {
    if (!this.disposed) this.channel.notify(method, params);
  }

  reveal(): void {
    this.panel.reveal();
  }

  /** Closes the panel (or follows its closing by the user); the owner's onDisposed runs once either way. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.onDisposed();
  }
}
