// "EM Lab: Check Environment": a checklist webview. The checks run in the runtime (`env/doctor`, the same code as
// `em-lab doctor`); the webview shows them with fix-it buttons. Webview messages are untrusted: shape-checked by
// the channel, and only allowlisted actions run (doctorActions.ts).
import * as vscode from 'vscode';
import { homedir } from 'node:os';
import type { HostDeps } from '../../host/deps';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams, obj } from '../../host/viewParams';
import { ViewRequestError } from '../../host/viewChannel';
import { ViewPanel } from '../../host/webviewChannel';
import type { DoctorReport } from '../../protocol/envMethods';
import type { DoctorViewMethods, DoctorViewNotifications } from '../../protocol/doctorViewMethods';
import { isFixAction, runFixAction } from './doctorActions';

/** The checks can take up to ~5 s (network) plus a runtime start; allow generous headroom. */
const DOCTOR_TIMEOUT_MS = 60_000;

export class DoctorPanel implements vscode.Disposable {
  private view: ViewPanel<DoctorViewMethods, DoctorViewNotifications> | undefined;
  private lastReport: DoctorReport | undefined;

  constructor(private readonly deps: HostDeps) {}

  private readonly handlers: ViewHandlers<DoctorViewMethods> = {
    'doctor/run': { parse: noParams, run: () => this.run() },
    'doctor/fix': {
      parse: (raw) => {
        const action = obj(raw).action;
        if (!isFixAction(action)) throw new ViewRequestError('Unknown fix action.');
        return { action };
      },
      run: async ({ action }) => ({ rerun: await runFixAction(action, this.deps, this.lastReport) }),
    },
  };

  open(): void {
    if (this.view) return this.view.reveal();
    this.view = new ViewPanel(this.deps, { viewType: 'emLab.doctor', title: 'EM Lab: Environment', bundle: 'doctor', styles: ['common.css', 'doctor/doctor.css'], handlers: this.handlers }, () => (this.view = undefined));
  }

  /** Runs the checks in the runtime. */
  async run(): Promise<DoctorReport> {
    const startDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? homedir();
    const report = await this.deps.runtime.request('env/doctor', { startDir, runsDir: this.deps.runsDir(), surface: 'vscode' }, { timeoutMs: DOCTOR_TIMEOUT_MS });
    this.lastReport = report;
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    this.deps.log.info(`Environment check: ${report.ok ? 'required checks pass' : 'required checks FAILED'}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}, ${report.durationMs} ms.`);
    return report;
  }

  dispose(): void {
    this.view?.dispose();
  }
}

export function activateDoctor(deps: HostDeps): vscode.Disposable {
  const panel = new DoctorPanel(deps);
  return vscode.Disposable.from(panel, vscode.commands.registerCommand('emLab.checkEnvironment', () => panel.open()));
}
