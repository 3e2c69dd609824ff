// "EM Lab: Open Experiment Report": one page per experiment (media/report) with the setup, the loss curve, EM and
// coherence against step with 95% intervals, base vs fine-tuned with the significance test, example answers behind
// a content warning, cost and time per stage, and the commands that reproduce it. The data is the runtime's
// experiment/report (the same function as `em-lab experiment report --json`); exports call experiment/export.
// While the experiment runs, the page follows it (experiment/progress from the sidebar's watch).
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams, obj, oneOf, str } from '../../host/viewParams';
import { ViewPanel } from '../../host/webviewChannel';
import type { ReportViewInit, ReportViewMethods, ReportViewNotifications } from '../../protocol/experimentViewMethods';
import { pickExperiment } from '../sidebar/experimentActions';

export class ReportPanel implements vscode.Disposable {
  private view: ViewPanel<ReportViewMethods, ReportViewNotifications> | undefined;
  private dir: string | undefined;
  private lastKey = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    this.disposables.push(
      deps.runtime.onNotification('experiment/progress', ({ dir, status }) => {
        if (dir !== this.dir || !this.view) return;
        // Recompute only when a stage changed state (not on every progress tick).
        const key = status.stages.map((s) => s.status).join();
        if (key === this.lastKey) return;
        this.lastKey = key;
        void this.load().then((init) => init && this.view?.notify('report/updated', init), (err) => deps.log.warn(`Report: ${errorText(err)}`));
      }),
    );
  }

  async open(dir: string): Promise<void> {
    this.dir = dir;
    this.lastKey = '';
    if (this.view) {
      this.view.reveal();
      const init = await this.load();
      if (init) this.view.notify('report/updated', init);
      return;
    }
    this.view = new ViewPanel(this.deps, { viewType: 'emLab.report', title: 'EM Lab: Experiment Report', bundle: 'report', styles: ['common.css', 'report/report.css'], handlers: this.handlers }, () => (this.view = undefined));
  }

  private async load(): Promise<ReportViewInit | null> {
    if (!this.dir) return null;
    const [report, status] = await Promise.all([this.deps.runtime.request('experiment/report', { path: this.dir }, { timeoutMs: 120_000 }), this.deps.runtime.request('experiment/status', { path: this.dir })]);
    if (this.view) this.view.panel.title = `Report: ${report.experiment.name}`;
    return { report, status };
  }

  private readonly handlers: ViewHandlers<ReportViewMethods> = {
    'report/init': { parse: noParams, run: () => this.load() },
    'report/export': {
      parse: (raw) => ({ format: oneOf(obj(raw).format, 'format', ['html', 'markdown'] as const) }),
      run: async ({ format }) => {
        if (!this.dir) return { files: [] };
        const { files } = await this.deps.runtime.request('experiment/export', { path: this.dir, formats: [format] }, { timeoutMs: 120_000 });
        const main = files.find((f) => f.endsWith(format === 'html' ? '.html' : '.md'));
        // Not awaited: the notification's promise settles only when the user dismisses it, and the page says
        // "Wrote ..." as soon as the files are there.
        if (main) {
          void vscode.window.showInformationMessage(`EM Lab: wrote ${main}`, format === 'html' ? 'Open in Browser' : 'Open', 'Reveal in Explorer').then(async (action) => {
            if (action === 'Open in Browser') await vscode.env.openExternal(vscode.Uri.file(main));
            else if (action === 'Open') await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(main));
            else if (action === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(main));
          });
        }
        return { files };
      },
    },
    'report/open': {
      parse: (raw) => ({ what: oneOf(obj(raw).what, 'what', ['judged', 'folder', 'experimentFile', 'chat'] as const) }),
      run: async ({ what }) => {
        const dir = this.dir;
        if (!dir) return { ok: false };
        if (what === 'judged') await vscode.commands.executeCommand('emLab.openJudgeResults', join(dir, 'sweep', 'sweep_judged.csv'), join(dir, 'base', 'judged.csv'));
        else if (what === 'folder') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dir));
        else if (what === 'experimentFile') await vscode.window.showTextDocument(vscode.Uri.file(join(dir, 'experiment.json')));
        else {
          const report = await this.deps.runtime.request('experiment/report', { path: dir });
          const step = report.comparison?.finetunedLabel;
          const adapter = step ? join(dir, 'train', 'checkpoints', step) : join(dir, 'train', 'adapter');
          const status = await this.deps.runtime.request('experiment/status', { path: dir });
          await vscode.commands.executeCommand('emLab.openInChat', { model: status.model, adapter });
        }
        return { ok: true };
      },
    },
    'report/copy': {
      parse: (raw) => ({ text: str(obj(raw).text, 'text', 20_000) }),
      run: async ({ text }) => {
        await vscode.env.clipboard.writeText(text);
        return { ok: true };
      },
    },
  };

  dispose(): void {
    this.view?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function activateReport(deps: HostDeps): vscode.Disposable {
  const panel = new ReportPanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.openReport', async (arg?: unknown) => {
      try {
        const e = await pickExperiment(deps, arg, 'EM Lab: Open Experiment Report');
        if (e) await panel.open(e.dir);
      } catch (err) {
        void vscode.window.showErrorMessage(`EM Lab: could not open the report: ${errorText(err)}`);
      }
    }),
  );
}
