// "EM Lab: Check Environment": a checklist webview. The checks run in the runtime (`env/doctor`, the same code as
// `em-lab doctor`); the webview shows them with fix-it buttons. Webview messages are untrusted: shape-checked here,
// and only allowlisted actions run (doctorActions.ts).
import * as vscode from 'vscode';
import { homedir } from 'node:os';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { renderWebviewHtml, webviewOptions } from '../../host/webviewHtml';
import type { DoctorReport } from '../../protocol/envMethods';
import type { DoctorViewMethods, DoctorViewNotifications } from '../../protocol/doctorViewMethods';
import type { RpcNotification, RpcResponse } from '../../protocol/rpc';
import { isFixAction, runFixAction } from './doctorActions';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The checks can take up to ~5 s (network) plus a runtime start; allow generous headroom. */
const DOCTOR_TIMEOUT_MS = 60_000;

export class DoctorPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private lastReport: DoctorReport | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {}

  open(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const { extensionUri } = this.deps.context;
    const panel = vscode.window.createWebviewPanel('emLab.doctor', 'EM Lab: Environment', vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: false });
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icons', 'em-lab.svg');
    panel.webview.html = renderWebviewHtml({ webview: panel.webview, extensionUri, bundle: 'doctor', title: 'EM Lab: Environment', styles: ['common.css', 'doctor/doctor.css'] });
    this.panel = panel;
    panel.onDidDispose(() => (this.panel = undefined), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m), null, this.disposables);
  }

  /** Runs the checks in the runtime. */
  async run(): Promise<DoctorReport> {
    const startDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? homedir();
    const report = await this.deps.runtime.request('env/doctor', { startDir, runsDir: this.deps.runsDir() }, { timeoutMs: DOCTOR_TIMEOUT_MS });
    this.lastReport = report;
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    this.deps.log.info(`Environment check: ${report.ok ? 'required checks pass' : 'required checks FAILED'}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}, ${report.durationMs} ms.`);
    return report;
  }

  notify<K extends keyof DoctorViewNotifications>(method: K, params: DoctorViewNotifications[K]): void {
    const message: RpcNotification<K, DoctorViewNotifications[K]> = { kind: 'notification', method, params };
    void this.panel?.webview.postMessage(message);
  }

  private async onMessage(raw: unknown): Promise<void> {
    if (!isObject(raw) || raw.kind !== 'request' || typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id) || typeof raw.method !== 'string') return;
    const id = raw.id;
    let response: RpcResponse;
    try {
      response = { kind: 'response', id, result: await this.handle(raw.method, raw.params) };
    } catch (err) {
      const code = isObject(err) && typeof err.code === 'string' ? err.code : 'error';
      response = { kind: 'response', id, error: { code, message: errorText(err) } };
    }
    void this.panel?.webview.postMessage(response);
  }

  private async handle(method: string, params: unknown): Promise<DoctorViewMethods[keyof DoctorViewMethods][1]> {
    switch (method) {
      case 'doctor/run':
        return this.run();
      case 'doctor/fix': {
        const action = isObject(params) ? params.action : undefined;
        if (!isFixAction(action)) throw Object.assign(new Error('Unknown fix action.'), { code: 'bad-request' });
        return { rerun: await runFixAction(action, this.deps, this.lastReport) };
      }
      default:
        throw Object.assign(new Error(`Unknown request ${method}.`), { code: 'bad-request' });
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function activateDoctor(deps: HostDeps): vscode.Disposable {
  const panel = new DoctorPanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.checkEnvironment', () => panel.open()),
  );
}
