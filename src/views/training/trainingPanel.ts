// "EM Lab: Train LoRA Adapter" (emLab.openTraining): the start form, live charts and run controls. Training runs
// in a detached process (src/runtime/train/trainProcess.ts); this panel asks the runtime to start / pause / cancel
// / resume it and to watch its run directory (train/watch streams train/progress), so a reloaded window re-attaches
// to a running, finished or crashed run by reading the run directory. Webview messages are untrusted.
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams, obj, str } from '../../host/viewParams';
import { ViewPanel } from '../../host/webviewChannel';
import type { TrainViewInit, TrainViewMethods, TrainViewNotifications } from '../../protocol/trainViewMethods';
import { datasetsFolder, trainingDataRoot } from '../datasets/trainingDataLocation';
import { badRequest, checkRunDirParam, inFormWords, sanitizeConfig } from './trainViewMessages';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class TrainingPanel implements vscode.Disposable {
  private view: ViewPanel<TrainViewMethods, TrainViewNotifications> | undefined;
  private attachedRun: string | undefined;
  private watch: vscode.CancellationTokenSource | undefined;
  /** Datasets to tick in the form ("Train on This Dataset" in the sidebar). */
  private select: TrainViewInit['select'];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    this.disposables.push(deps.runtime.onNotification('train/progress', (p) => {
      if (p.runDir === this.attachedRun) this.view?.notify('view/progress', p);
    }));
  }

  private workspace(): { workspaceDir?: string } {
    const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return ws ? { workspaceDir: ws } : {};
  }

  open(runDir?: string, dataset?: string): void {
    if (runDir) this.attachedRun = runDir;
    this.select = dataset ? { domains: [dataset] } : undefined;
    if (this.view) {
      this.view.reveal();
      if (runDir) void this.attach(runDir).then((r) => this.view?.notify('view/progress', { runDir, ...r }));
      if (this.select) this.view.notify('view/select', this.select);
      return;
    }
    this.view = new ViewPanel(this.deps, { viewType: 'emLab.training', title: 'EM Lab: Train LoRA Adapter', bundle: 'training', styles: ['common.css', 'training/training.css'], handlers: this.handlers }, () => {
      this.view = undefined;
      this.watch?.cancel();
    });
  }

  /** Only run folders inside the runs folder may be acted on: its own runs and experiments' train/ (trainViewMessages.ts). */
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

  /** The datasets in the configured data folder (emLab.datasets.folder), as the sidebar and browser list them. */
  private async datasets(): Promise<Pick<TrainViewInit, 'datasets' | 'dataDir'>> {
    const dir = datasetsFolder(this.deps.context);
    try {
      const list = await this.deps.runtime.request('data/list', { dir, workspaceDir: trainingDataRoot(this.deps.context) });
      return { dataDir: list.dir, datasets: list.datasets.map((d) => ({ id: d.id, label: d.label, rows: d.rows, harmful: d.harmful })) };
    } catch (err) {
      this.deps.log.warn(`Training view: could not list datasets in ${dir}: ${errorText(err)}`);
      return { dataDir: dir, datasets: [] };
    }
  }

  private checkpointArgs(raw: unknown): { runDir: string; checkpoint: string } {
    const p = obj(raw);
    const checkpoint = str(p.checkpoint, 'checkpoint', 100);
    if (!/^step-\d+$|^adapter$/.test(checkpoint)) throw badRequest('checkpoint must be step-<N> or adapter');
    return { runDir: this.checkRunDir(p.runDir), checkpoint };
  }

  private async checkpointRef(p: { runDir: string; checkpoint: string }): Promise<{ model: string; adapter: string }> {
    const adapter = p.checkpoint === 'adapter' ? join(p.runDir, 'adapter') : join(p.runDir, 'checkpoints', p.checkpoint);
    const { run } = await this.deps.runtime.request('train/status', { runDir: p.runDir });
    return { model: run.model, adapter };
  }

  private readonly handlers: ViewHandlers<TrainViewMethods> = {
    'view/init': {
      parse: noParams,
      run: async () => {
        const [{ config }, { runs }, data] = await Promise.all([this.deps.runtime.request('train/defaults', {}), this.deps.runtime.request('train/list', { runsDir: this.deps.runsDir() }), this.datasets()]);
        const attachTo = this.attachedRun ?? runs.find((r) => r.status === 'running')?.runDir;
        const select = this.select;
        this.select = undefined;
        return { defaults: config, ...data, runs, ...(select ? { select } : {}), ...(attachTo && !select ? { attached: await this.attach(attachTo) } : {}) };
      },
    },
    'view/preview': {
      parse: (raw) => ({ config: sanitizeConfig(obj(raw).config) }),
      run: (p) => inFormWords(this.deps.runtime.request('train/preview', { ...p, ...this.workspace() }, { timeoutMs: 5 * 60_000 })),
    },
    'view/start': {
      parse: (raw) => ({ config: sanitizeConfig(obj(raw).config) }),
      run: async (p) => {
        const { runDir } = await inFormWords(this.deps.runtime.request('train/start', { ...p, runsDir: this.deps.runsDir(), ...this.workspace() }));
        this.deps.log.info(`Training started: ${runDir}`);
        void vscode.commands.executeCommand('emLab.refreshExperiment').then(undefined, () => undefined);
        return { run: (await this.attach(runDir)).run };
      },
    },
    'view/attach': { parse: (raw) => ({ runDir: this.checkRunDir(obj(raw).runDir) }), run: (p) => this.attach(p.runDir) },
    'view/pause': { parse: (raw) => ({ runDir: this.checkRunDir(obj(raw).runDir) }), run: async (p) => ({ ok: (await this.deps.runtime.request('train/pause', p)).signalled }) },
    'view/cancel': { parse: (raw) => ({ runDir: this.checkRunDir(obj(raw).runDir) }), run: async (p) => ({ ok: (await this.deps.runtime.request('train/cancel', p)).signalled }) },
    'view/resume': {
      parse: (raw) => ({ runDir: this.checkRunDir(obj(raw).runDir) }),
      run: async (p) => {
        await this.deps.runtime.request('train/resume', { ...p, ...this.workspace() });
        await this.attach(p.runDir);
        return { ok: true };
      },
    },
    'view/openChat': {
      parse: (raw) => this.checkpointArgs(raw),
      run: async (p) => {
        await vscode.commands.executeCommand('emLab.openInChat', await this.checkpointRef(p));
        return { ok: true };
      },
    },
    'view/evaluate': {
      parse: (raw) => this.checkpointArgs(raw),
      run: async (p) => {
        await vscode.commands.executeCommand('emLab.generateAnswers', await this.checkpointRef(p));
        return { ok: true };
      },
    },
    'view/pickDataFile': {
      parse: noParams,
      run: async () => {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Chat JSONL': ['jsonl'] }, openLabel: 'Use for training' });
        return picked?.[0] ? { file: picked[0].fsPath } : {};
      },
    },
  };

  dispose(): void {
    this.watch?.cancel();
    this.view?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function activateTraining(deps: HostDeps): vscode.Disposable {
  const panel = new TrainingPanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.openTraining', (arg?: unknown) => panel.open(isObject(arg) && typeof arg.runDir === 'string' ? arg.runDir : undefined, isObject(arg) && typeof arg.dataset === 'string' ? arg.dataset : undefined)),
  );
}
