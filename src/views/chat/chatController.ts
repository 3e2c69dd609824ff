// The host side of a chat view, shared by the sidebar chat (chatSidebar.ts) and the editor-tab sandbox
// (chatPanel.ts): the same handler table, the same webview bundle (media/chat). All compute happens in the runtime
// worker; this controller forwards the view's requests, relays token notifications for its own streams, and keeps
// each stream's text so a view re-created after being hidden (retainContextWhenHidden is off) gets what it missed.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams } from '../../host/viewParams';
import { MODEL_WEIGHT_NAMES, isModelWeights, type ChatGenerateResult, type ChatOpenRequest, type ChatSurface, type ChatViewGenerateParams, type ChatViewMethods, type ChatViewNotifications, type ModelRef, type Transcript } from '../../protocol/chatMethods';
import { transcriptToJson, transcriptToMarkdown } from './chatExport';
import { parseExport, parseGenerate, parseLoad, parseStop } from './chatViewMessages';
import { steeringHandlers } from './steeringHandlers';

/** The emLab.chat.weights setting applied to a pane's model (the view never chooses it). */
function withChatWeights(ref: ModelRef): ModelRef {
  const w = vscode.workspace.getConfiguration('emLab').get<string>('chat.weights', 'float32');
  if (!isModelWeights(w)) throw new Error(`The setting emLab.chat.weights is "${w}"; use ${MODEL_WEIGHT_NAMES.join(' or ')} (Settings → EM Lab → Chat: Weights).`);
  return w === 'float32' ? ref : { ...ref, weights: w };
}

interface StreamState {
  text: string;
  cancel: vscode.CancellationTokenSource;
  result?: ChatGenerateResult;
  failed?: string;
}

type Notify = <K extends keyof ChatViewNotifications & string>(method: K, params: ChatViewNotifications[K]) => void;

export class ChatController implements vscode.Disposable {
  private readonly streams = new Map<string, StreamState>();
  private pendingOpen: ChatOpenRequest | undefined;
  private lastOpenId = 0;
  /** True once the current page asked for `sandbox/init` and until it is hidden (which destroys it). */
  private live = false;
  private notifyView: Notify = () => undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly deps: HostDeps,
    private readonly surface: ChatSurface,
  ) {
    this.disposables.push(
      deps.runtime.onNotification('chat/token', (p) => {
        const s = this.streams.get(p.streamId);
        if (!s) return;
        s.text += p.delta;
        if (this.live) this.notifyView('sandbox/token', { streamId: p.streamId, delta: p.delta });
      }),
    );
  }

  /** Where notifications go (the current page's channel). */
  bind(notify: Notify): void {
    this.notifyView = notify;
  }

  /** The page was hidden or disposed: it will ask for `sandbox/init` again when shown. */
  pageGone(): void {
    this.live = false;
  }

  /**
   * Shows models or a prompt: pushed to the page now, and kept for its next `sandbox/init` too (a page being
   * re-created may miss the push); the page applies each id once.
   */
  open(request: ChatOpenRequest): void {
    if (!request.left && !request.right && request.prompt === undefined) return;
    // Ids grow across extension restarts (the page persists the last one it applied).
    this.lastOpenId = Math.max(this.lastOpenId + 1, Date.now());
    const withId = { ...this.pendingOpen, ...request, id: this.lastOpenId };
    this.pendingOpen = withId;
    this.deps.log.info(`Chat (${this.surface}): open ${JSON.stringify({ ...withId, prompt: withId.prompt?.slice(0, 40) })}${this.live ? '' : ' (when the view starts)'}`);
    if (this.live) this.notifyView('sandbox/open', withId);
  }

  readonly handlers: ViewHandlers<ChatViewMethods> = {
    'sandbox/init': {
      parse: noParams,
      run: async () => {
        const { models, error } = await this.listModels();
        // Taken together with `live = true` (no await in between), so no token falls between snapshot and stream.
        const streams = [...this.streams.entries()].map(([streamId, s]) => ({ streamId, text: s.text, ...(s.result ? { result: s.result } : {}), ...(s.failed ? { failed: s.failed } : {}) }));
        for (const [id, s] of this.streams) if (s.result || s.failed) this.streams.delete(id);
        const open = this.pendingOpen;
        this.pendingOpen = undefined;
        this.live = true;
        return { surface: this.surface, models, ...(error ? { modelsError: error } : {}), ...(open ? { open } : {}), streams };
      },
    },
    'sandbox/listModels': { parse: noParams, run: () => this.listModels() },
    'sandbox/load': {
      parse: parseLoad,
      run: ({ pane, ref }) =>
        this.deps.runtime.request('chat/load', withChatWeights(ref), {
          timeoutMs: 0, // a first load builds tiny-llama or converts a model: it reports progress instead
          onProgress: (p) => this.notifyView('sandbox/loadProgress', { pane, ref, message: p.message ?? 'Loading…', ...(p.fraction !== undefined ? { fraction: p.fraction } : {}) }),
        }),
    },
    'sandbox/generate': {
      parse: parseGenerate,
      run: (p) => {
        void this.generate(p);
        return { accepted: true };
      },
    },
    'sandbox/stop': {
      parse: parseStop,
      run: ({ streamId }) => {
        const s = this.streams.get(streamId);
        s?.cancel.cancel();
        return { stopped: !!s };
      },
    },
    'sandbox/export': { parse: parseExport, run: ({ format, transcript }) => this.exportTranscript(format, transcript) },
    ...steeringHandlers(() => this.deps),
  };

  private async listModels(): Promise<{ models: ChatViewMethods['sandbox/listModels'][1]['models']; error?: string }> {
    const folders = vscode.workspace.getConfiguration('emLab').get<string[]>('chat.modelFolders', []);
    try {
      return await this.deps.runtime.request('chat/listModels', { runsDir: this.deps.runsDir(), folders });
    } catch (err) {
      return { models: [], error: errorText(err) };
    }
  }

  private async generate(p: ChatViewGenerateParams): Promise<void> {
    const state: StreamState = { text: '', cancel: new vscode.CancellationTokenSource() };
    this.streams.set(p.streamId, state);
    try {
      const result = await this.deps.runtime.request(
        'chat/generate',
        { streamId: p.streamId, ref: withChatWeights(p.ref), messages: p.messages, ...(p.system ? { system: p.system } : {}), sampling: p.sampling },
        { token: state.cancel.token, timeoutMs: 0 },
      );
      state.result = result;
      if (this.live) this.notifyView('sandbox/done', { streamId: p.streamId, result });
    } catch (err) {
      state.failed = errorText(err);
      if (this.live) this.notifyView('sandbox/failed', { streamId: p.streamId, message: state.failed });
    } finally {
      state.cancel.dispose();
      // Delivered now, or kept for the next `sandbox/init` of a re-created page.
      if (this.live) this.streams.delete(p.streamId);
    }
  }

  private async exportTranscript(asked: 'markdown' | 'json' | undefined, transcript: Transcript): Promise<{ path?: string }> {
    const format =
      asked ??
      (
        await vscode.window.showQuickPick(
          [
            { label: 'Markdown', description: 'readable, with each answer\'s model, adapter and sampling', format: 'markdown' as const },
            { label: 'JSON', description: 'the transcript with full provenance, for scripts', format: 'json' as const },
          ],
          { title: 'Export the conversation as' },
        )
      )?.format;
    if (!format) return {};
    const ext = format === 'markdown' ? 'md' : 'json';
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Export conversation as ${format === 'markdown' ? 'Markdown' : 'JSON'}`,
      filters: format === 'markdown' ? { Markdown: ['md'] } : { JSON: ['json'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `chat-${stamp}.${ext}`) } : {}),
    });
    if (!target) return {};
    try {
      await writeFile(target.fsPath, format === 'markdown' ? transcriptToMarkdown(transcript) : transcriptToJson(transcript), 'utf8');
    } catch (err) {
      throw new Error(`Could not write ${target.fsPath}: ${errorText(err)}. Pick another location.`);
    }
    return { path: target.fsPath };
  }

  dispose(): void {
    for (const s of this.streams.values()) s.cancel.cancel();
    this.streams.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
