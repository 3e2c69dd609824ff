// The chat sandbox panel (host side): one webview, two panes answering one prompt box. All compute happens in
// the runtime worker; this controller validates the webview's messages, forwards them as runtime requests,
// relays token notifications for its own streams, and keeps each stream's text so a view re-created after being
// hidden (retainContextWhenHidden is off) gets what it missed.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import type { HostDeps } from '../../host/deps';
import { renderWebviewHtml, webviewOptions } from '../../host/webviewHtml';
import { errorText } from '../../host/errorText';
import type { ChatGenerateResult, ChatHostToView, ChatViewToHost, ModelRef, Transcript } from '../../protocol/chatMethods';
import { parseChatViewMessage, validateModelRef, ViewMessageError } from './chatViewMessages';
import { transcriptToJson, transcriptToMarkdown } from './chatExport';

/** What the command takes: a model/adapter for the right pane (a run's checkpoint), or both panes. */
export interface OpenChatArgs {
  left?: ModelRef;
  right?: ModelRef;
}

interface StreamState {
  text: string;
  cancel: vscode.CancellationTokenSource;
  result?: ChatGenerateResult;
  failed?: string;
}

/** `{model, adapter}` (a checkpoint: base left, base+adapter right), `{left, right}`, or nothing. */
export function parseOpenArgs(arg: unknown): OpenChatArgs {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) return {};
  const o = arg as Record<string, unknown>;
  try {
    if (typeof o.model === 'string') {
      const ref = validateModelRef(o);
      return ref.adapter ? { left: { model: ref.model }, right: ref } : { left: ref };
    }
    return {
      ...(o.left !== undefined ? { left: validateModelRef(o.left) } : {}),
      ...(o.right !== undefined ? { right: validateModelRef(o.right) } : {}),
    };
  } catch (err) {
    void vscode.window.showErrorMessage(`EM Lab: Open Chat Sandbox was given an invalid model: ${errorText(err)}.`);
    return {};
  }
}

export class ChatPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private readonly streams = new Map<string, StreamState>();
  private readonly disposables: vscode.Disposable[] = [];
  private pendingOpen: OpenChatArgs;
  private disposed = false;

  constructor(
    private readonly deps: HostDeps,
    open: OpenChatArgs,
    private readonly onDisposed: () => void,
  ) {
    this.pendingOpen = open;
    const extensionUri = deps.context.extensionUri;
    this.panel = vscode.window.createWebviewPanel('emLab.chatSandbox', 'EM Lab Chat Sandbox', vscode.ViewColumn.Active, {
      ...webviewOptions(extensionUri),
      retainContextWhenHidden: false,
    });
    this.panel.webview.html = renderWebviewHtml({ webview: this.panel.webview, extensionUri, bundle: 'chat', title: 'EM Lab Chat Sandbox', styles: ['common.css', 'chat/chat.css'] });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      this.panel.onDidDispose(() => this.dispose()),
      deps.runtime.onNotification('chat/token', (p) => {
        const s = this.streams.get(p.streamId);
        if (!s) return;
        s.text += p.delta;
        if (this.panel.visible) this.post({ type: 'token', streamId: p.streamId, delta: p.delta });
      }),
    );
  }

  reveal(open: OpenChatArgs): void {
    this.panel.reveal();
    if (open.left || open.right) {
      this.pendingOpen = open;
      this.post({ type: 'open', ...open });
    }
  }

  private post(message: ChatHostToView): void {
    void this.panel.webview.postMessage(message);
  }

  private onMessage(raw: unknown): void {
    let msg: ChatViewToHost;
    try {
      msg = parseChatViewMessage(raw);
    } catch (err) {
      if (err instanceof ViewMessageError) this.deps.log.warn(`chat sandbox: ignored an invalid webview message: ${err.message}`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.onReady();
        break;
      case 'refreshModels':
        void this.sendModels();
        break;
      case 'load':
        void this.load(msg.pane, msg.ref);
        break;
      case 'generate':
        void this.generate(msg);
        break;
      case 'stop':
        this.streams.get(msg.streamId)?.cancel.cancel();
        break;
      case 'export':
        void this.exportTranscript(msg.format, msg.transcript);
        break;
    }
  }

  private onReady(): void {
    void this.sendModels();
    if (this.pendingOpen.left || this.pendingOpen.right) this.post({ type: 'open', ...this.pendingOpen });
    this.pendingOpen = {};
    const missed = [...this.streams.entries()].map(([streamId, s]) => ({ streamId, text: s.text, ...(s.result ? { result: s.result } : {}), ...(s.failed ? { failed: s.failed } : {}) }));
    this.post({ type: 'resume', streams: missed }); // always, so the view can tell interrupted answers apart
    for (const [id, s] of this.streams) if (s.result || s.failed) this.streams.delete(id);
  }

  private async sendModels(): Promise<void> {
    const folders = vscode.workspace.getConfiguration('emLab').get<string[]>('chat.modelFolders', []);
    try {
      const { models } = await this.deps.runtime.request('chat/listModels', { runsDir: this.deps.runsDir(), folders });
      this.post({ type: 'models', models });
    } catch (err) {
      this.post({ type: 'models', models: [], error: errorText(err) });
    }
  }

  private async load(pane: 'left' | 'right', ref: ModelRef): Promise<void> {
    try {
      const result = await this.deps.runtime.request('chat/load', ref, {
        timeoutMs: 0, // a first load builds tiny-llama or downloads a model: it reports progress instead
        onProgress: (p) => this.post({ type: 'loadProgress', pane, ref, message: p.message ?? 'Loading…', ...(p.fraction !== undefined ? { fraction: p.fraction } : {}) }),
      });
      this.post({ type: 'loaded', pane, ref, result });
    } catch (err) {
      this.post({ type: 'loadFailed', pane, ref, message: errorText(err) });
    }
  }

  private async generate(msg: Extract<ChatViewToHost, { type: 'generate' }>): Promise<void> {
    const state: StreamState = { text: '', cancel: new vscode.CancellationTokenSource() };
    this.streams.set(msg.streamId, state);
    try {
      const result = await this.deps.runtime.request(
        'chat/generate',
        { streamId: msg.streamId, ref: msg.ref, messages: msg.messages, ...(msg.system ? { system: msg.system } : {}), sampling: msg.sampling },
        { token: state.cancel.token, timeoutMs: 0 },
      );
      state.result = result;
      if (this.panel.visible) this.post({ type: 'done', streamId: msg.streamId, result });
    } catch (err) {
      state.failed = errorText(err);
      if (this.panel.visible) this.post({ type: 'failed', streamId: msg.streamId, message: state.failed });
    } finally {
      state.cancel.dispose();
      // Delivered now, or kept for the next `ready` of a re-created view.
      if (this.panel.visible) this.streams.delete(msg.streamId);
    }
  }

  private async exportTranscript(format: 'markdown' | 'json', transcript: Transcript): Promise<void> {
    const ext = format === 'markdown' ? 'md' : 'json';
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Export conversation as ${format === 'markdown' ? 'Markdown' : 'JSON'}`,
      filters: format === 'markdown' ? { Markdown: ['md'] } : { JSON: ['json'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `chat-${stamp}.${ext}`) } : {}),
    });
    if (!target) return;
    try {
      await writeFile(target.fsPath, format === 'markdown' ? transcriptToMarkdown(transcript) : transcriptToJson(transcript), 'utf8');
      this.post({ type: 'exported', path: target.fsPath });
    } catch (err) {
      void vscode.window.showErrorMessage(`EM Lab: could not write ${target.fsPath}: ${errorText(err)}. Pick another location.`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.streams.values()) s.cancel.cancel();
    this.streams.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.onDisposed();
  }
}

/** Registers "EM Lab: Open Chat Sandbox" (emLab.openChatSandbox), optionally with {model, adapter} or {left, right}. */
export function activateChatSandbox(deps: HostDeps): vscode.Disposable {
  let panel: ChatPanel | undefined;
  const command = vscode.commands.registerCommand('emLab.openChatSandbox', (arg?: unknown) => {
    const open = parseOpenArgs(arg);
    if (panel) panel.reveal(open);
    else panel = new ChatPanel(deps, open, () => (panel = undefined));
  });
  return new vscode.Disposable(() => {
    command.dispose();
    panel?.dispose();
  });
}
