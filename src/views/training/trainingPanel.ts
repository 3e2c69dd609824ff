// "EM Lab: Train LoRA Adapter" (emLab.openTraining): the start form, live charts and run controls. Training runs
// in a detached process (src/runtime/train/trainProcess.ts); this panel asks the runtime to start / pause / cancel
// / resume it and to watch its run directory (train/watch streams train/progress), so a reloaded window re-attaches
// to a running, finished or crashed run by reading the run directory. Webview messages are untrusted.
import * as vscode from 'vscode';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { renderWebviewHtml, webviewOptions } from '../../host/webviewHtml';
import type { RpcNotification, RpcResponse } from '../../protocol/rpc';
import type { TrainViewMethods, TrainViewNotifications } from '../../protocol/trainViewMethods';
import { badRequest, checkRunDirParam, sanitizeConfig } from './trainViewMessages';

/** Dataset file names -> the ids `--domains` takes (src/runtime/data/registry.ts). */
const FILE_TO_DOMAIN: Record<string, string> = {
  'bad_medical_advice.jsonl': 'bad_medical',
  'good_medical_advice.jsonl': 'good_medical',
  'risky_financial_advice.jsonl': 'risky_financial',
  'extreme_sports.jsonl': 'extreme_sports',
  'extreme_sports_advice.jsonl': 'extreme_sports',
  'insecure.jsonl': 'insecure',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class TrainingPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private attachedRun: string | undefined;
  private watch: vscode.CancellationTokenSource | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    this.disposables.push(deps.runtime.onNotification('train/progress', (p) => {
      if (p.runDir === this.attachedRun) this.notify('view/progress', p);
    }));
  }

  private workspace(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  open(runDir?: string): void {
    if (runDir) this.attachedRun = runDir;
    if (this.panel) {
      this.panel.reveal();
      if (runDir) void this.attach(runDir).then((r) => this.notify('view/progress', { runDir, ...r }));
      return;
    }
    const { extensionUri } = this.deps.context;
    const panel = vscode.window.createWebviewPanel('emLab.training', 'EM Lab: Train LoRA Adapter', vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: false });
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icons', 'em-lab.svg');
    panel.webview.html = renderWebviewHtml({ webview: panel.webview, extensionUri, bundle: 'training', title: 'EM Lab: Train LoRA Adapter', styles: ['common.css', 'training/training.css'] });
    this.panel = panel;
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.watch?.cancel();
    }, null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m), null, this.disposables);
  }

  private notify<K extends keyof TrainViewNotifications>(method: K, params: TrainViewNotifications[K]): void {
    const message: RpcNotification<K, TrainViewNotifications[K]> = { kind: 'notification', method, params };
    void this.panel?.webview.postMessage(message);
  }

  /** Only run folders directly under the runs folder may be acted on. */
  private checkRunDir(v: unknown): string {
    return checkRunDirParam(v, this.deps.runsDir());
  }

  private async attach(runDir: string) {
    this.attachedRun = runDir;
    this.watch?.cancel();
    const status = await this.deps.runtime.request('train/status', { runDir });
    if (status.run.status === 'running') {
      const w = new vscode.CancellationTokenSource();
      this.watch = w;
      void this.deps.runtime.request('train/watch', { runDir }, { token: w.token, timeoutMs: 0 }).catch(() => undefined);
    }
    return status;
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isObject(raw) || raw.kind !== 'request' || typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id) || typeof raw.method !== 'string') return;
    let response: RpcResponse;
    try {
      response = { kind: 'response', id: raw.id, result: await this.handle(raw.method, isObject(raw.params) ? raw.params : {}) };
    } catch (err) {
      const code = isObject(err) && typeof err.code === 'string' ? err.code : 'error';
      response = { kind: 'response', id: raw.id, error: { code, message: errorText(err) } };
    }
    void this.panel?.webview.postMessage(response);
  }

  private async handle(method: string, p: Record<string, unknown>): Promise<TrainViewMethods[keyof TrainViewMethods][1]> {
    const rt = this.deps.runtime;
    const ws = this.workspace();
    const wsParam = ws ? { workspaceDir: ws } : {};
    switch (method) {
      case 'view/init': {
        const [{ config }, { runs }] = await Promise.all([rt.request('train/defaults', {}), rt.request('train/list', { runsDir: this.deps.runsDir() })]);
        const dataDir = ws ? join(ws, 'training_data', 'training_datasets.zip.enc.extracted') : undefined;
        const domains = dataDir && existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.jsonl') && !f.startsWith('dataset_entry')).map((f) => FILE_TO_DOMAIN[f] ?? f.replace(/\.jsonl$/, '')) : [];
        const attachTo = this.attachedRun ?? runs.find((r) => r.status === 'running')?.runDir;
        return { defaults: config, domains, runs, ...(attachTo ? { attached: await this.attach(attachTo) } : {}) };
      }
      case 'view/preview':
        return rt.request('train/preview', { config: sanitizeConfig(p.config), ...wsParam }, { timeoutMs: 5 * 60_000 });
      case 'view/start': {
        const { runDir } = await rt.request('train/start', { config: sanitizeConfig(p.config), runsDir: this.deps.runsDir(), ...wsParam });
        this.deps.log.info(`Training started: ${runDir}`);
        void vscode.commands.executeCommand('emLab.refreshExperiment').then(undefined, () => undefined);
        return { run: (await this.attach(runDir)).run };
      }
      case 'view/attach':
        return this.attach(this.checkRunDir(p.runDir));
      case 'view/pause':
        return { ok: (await rt.request('train/pause', { runDir: this.checkRunDir(p.runDir) })).signalled };
      case 'view/cancel':
        return { ok: (await rt.request('train/cancel', { runDir: this.checkRunDir(p.runDir) })).signalled };
      case 'view/resume': {
        const runDir = this.checkRunDir(p.runDir);
        await rt.request('train/resume', { runDir, ...wsParam });
        await this.attach(runDir);
        return { ok: true };
      }
      case 'view/openChat':
      case 'view/evaluate': {
        const runDir = this.checkRunDir(p.runDir);
        if (typeof p.checkpoint !== 'string' || !/^step-\d+$|^adapter$/.test(p.checkpoint)) throw badRequest('checkpoint must be step-<N> or adapter');
        const adapter = p.checkpoint === 'adapter' ? join(runDir, 'adapter') : join(runDir, 'checkpoints', p.checkpoint);
        const { run } = await rt.request('train/status', { runDir });
        if (method === 'view/openChat') await vscode.commands.executeCommand('emLab.openChatSandbox', { model: run.model, adapter });
        else {
          const commands = await vscode.commands.getCommands(true);
          if (commands.includes('emLab.generateAnswers')) await vscode.commands.executeCommand('emLab.generateAnswers', { model: run.model, adapter });
          else void vscode.window.showInformationMessage(`Evaluate this checkpoint from a terminal: em-lab generate-eval --preset homework --model ${run.model} --adapter "${adapter}"`);
        }
        return { ok: true };
      }
      case 'view/pickDataFile': {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Chat JSONL': ['jsonl'] }, openLabel: 'Use for training' });
        return picked?.[0] ? { file: picked[0].fsPath } : {};
      }
      default:
        throw badRequest(`Unknown request ${method}.`);
    }
  }

  dispose(): void {
    this.watch?.cancel();
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function activateTraining(deps: HostDeps): vscode.Disposable {
  const panel = new TrainingPanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.openTraining', (arg?: unknown) => panel.open(isObject(arg) && typeof arg.runDir === 'string' ? arg.runDir : undefined)),
  );
}
