// The chat views: the inline chat in the EM Lab sidebar (a WebviewView, the default place to chat) and the
// editor-tab sandbox ("EM Lab: Open Chat Sandbox", room for two panes side by side). Both are the same webview
// bundle (media/chat) driven by the same host controller (chatController.ts).
// Commands: emLab.openChatSandbox (editor tab), emLab.openInChat (the sidebar chat with a model or checkpoint:
// base on the left, base + adapter on the right), emLab.askAboutSelection (the selection becomes the prompt).
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { connectWebview, ViewPanel } from '../../host/webviewChannel';
import { renderWebviewHtml, webviewOptions } from '../../host/webviewHtml';
import type { ChatOpenRequest, ChatViewMethods, ChatViewNotifications } from '../../protocol/chatMethods';
import { ChatController } from './chatController';
import { validateModelRef } from './chatViewMessages';

export const CHAT_VIEW_ID = 'emLab.chat';
const STYLES = ['common.css', 'chat/chat.css'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What the commands take: `{model, adapter}` (a checkpoint: base left, base + adapter right), `{left, right}`, a
 * sidebar tree node carrying `{ref}`, or nothing.
 */
export function parseOpenArgs(arg: unknown): ChatOpenRequest {
  if (!isObject(arg) || arg instanceof vscode.Uri) return {};
  const o = isObject(arg.ref) ? arg.ref : arg;
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
    void vscode.window.showErrorMessage(`EM Lab: "Open in Chat" was given an invalid model: ${errorText(err)}.`);
    return {};
  }
}

/** The editor-tab sandbox: one at a time, revealed when opened again. */
class ChatPanel implements vscode.Disposable {
  private readonly controller: ChatController;
  private readonly view: ViewPanel<ChatViewMethods, ChatViewNotifications>;
  private readonly subscription: vscode.Disposable;

  constructor(deps: HostDeps, open: ChatOpenRequest, onDisposed: () => void) {
    this.controller = new ChatController(deps, 'panel');
    this.controller.open(open);
    this.view = new ViewPanel(deps, { viewType: 'emLab.chatSandbox', title: 'EM Lab Chat Sandbox', bundle: 'chat', styles: STYLES, handlers: this.controller.handlers, initialState: { surface: 'panel' } }, () => {
      this.dispose();
      onDisposed();
    });
    this.controller.bind((m, p) => this.view.notify(m, p));
    this.subscription = this.view.panel.onDidChangeViewState(() => {
      if (!this.view.panel.visible) this.controller.pageGone();
    });
  }

  reveal(open: ChatOpenRequest): void {
    this.view.reveal();
    this.controller.open(open);
  }

  dispose(): void {
    this.subscription.dispose();
    this.controller.dispose();
    this.view.dispose();
  }
}

/** The chat view in the EM Lab sidebar. */
class ChatSidebar implements vscode.WebviewViewProvider, vscode.Disposable {
  readonly controller: ChatController;
  private readonly disposables: vscode.Disposable[] = [];
  private viewSubscriptions: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    this.controller = new ChatController(deps, 'sidebar');
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const d of this.viewSubscriptions.splice(0)) d.dispose();
    this.controller.pageGone();
    const { extensionUri } = this.deps.context;
    view.webview.options = webviewOptions(extensionUri);
    view.webview.html = renderWebviewHtml({ webview: view.webview, extensionUri, bundle: 'chat', title: 'EM Lab Chat', styles: STYLES, initialState: { surface: 'sidebar' } });
    const { channel, subscription } = connectWebview<ChatViewMethods, ChatViewNotifications>(view.webview, this.controller.handlers, this.deps.log, 'Chat');
    this.controller.bind((m, p) => channel.notify(m, p));
    this.viewSubscriptions = [
      subscription,
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.controller.pageGone();
      }),
      view.onDidDispose(() => {
        this.controller.pageGone();
        for (const d of this.viewSubscriptions.splice(0)) d.dispose();
      }),
    ];
  }

  /** Reveals the sidebar chat (resolving it if needed) and hands it the request. */
  async show(open: ChatOpenRequest): Promise<void> {
    this.controller.open(open);
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  dispose(): void {
    for (const d of [...this.viewSubscriptions, ...this.disposables]) d.dispose();
    this.controller.dispose();
  }
}

/** The selection in the active editor, or what the user types when there is none. */
async function selectedPrompt(): Promise<string | undefined> {
  const editor = vscode.window.activeTextEditor;
  const text = editor?.selections.map((s) => editor.document.getText(s)).join('\n').trim();
  if (text) return text;
  return vscode.window.showInputBox({ title: 'EM Lab: Ask the Models', prompt: 'Nothing is selected: type the question to ask', ignoreFocusOut: true });
}

export function activateChatSandbox(deps: HostDeps): vscode.Disposable {
  let panel: ChatPanel | undefined;
  const sidebar = new ChatSidebar(deps);
  return vscode.Disposable.from(
    sidebar,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, sidebar),
    vscode.commands.registerCommand('emLab.openChatSandbox', (arg?: unknown) => {
      const open = parseOpenArgs(arg);
      if (panel) panel.reveal(open);
      else panel = new ChatPanel(deps, open, () => (panel = undefined));
    }),
    vscode.commands.registerCommand('emLab.openInChat', (arg?: unknown) => sidebar.show(parseOpenArgs(arg))),
    vscode.commands.registerCommand('emLab.askAboutSelection', async () => {
      const prompt = await selectedPrompt();
      if (prompt) await sidebar.show({ prompt, send: true });
    }),
    { dispose: () => panel?.dispose() },
  );
}
