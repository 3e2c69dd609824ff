// The sidebar's Experiments view: every experiment in the runs folder (the runtime's experiment/list), each with its
// stages (base -> train -> sweep -> report) showing status, progress, time, and for a stage that cannot run the
// reason and a button for the next step. A running experiment is watched (experiment/watch streams
// experiment/progress), so the stages move live; the folder is the truth, so a reloaded window shows the same.
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { ExperimentStatusView, StageFixAction, StageView } from '../../protocol/experimentTypes';

export type ExperimentNode =
  | { kind: 'experiment'; experiment: ExperimentStatusView }
  | { kind: 'stage'; experiment: ExperimentStatusView; stage: StageView }
  | { kind: 'message'; text: string; icon: string; tooltip?: string };

const STAGE_ICON: Record<StageView['status'], [string, string?]> = {
  pending: ['circle-large-outline', 'descriptionForeground'],
  running: ['sync~spin', 'charts.blue'],
  done: ['pass', 'testing.iconPassed'],
  blocked: ['warning', 'editorWarning.foreground'],
  failed: ['error', 'errorForeground'],
  cancelled: ['circle-slash', 'descriptionForeground'],
  interrupted: ['debug-disconnect', 'editorWarning.foreground'],
};

/** What a view button does for a stage that cannot run (StageFixAction), as a VS Code command and its label. */
export const FIX_COMMANDS: Record<StageFixAction, { command: string; title: string }> = {
  'set-judge-key': { command: 'emLab.setOpenAiKey', title: 'Set OpenAI API Key' },
  'pull-model': { command: 'emLab.pullModel', title: 'Download Model' },
  'get-training-data': { command: 'emLab.getTrainingData', title: 'Get Training Data' },
  'finish-training': { command: 'emLab.runExperiment', title: 'Run Experiment' },
  'check-network': { command: 'emLab.checkEnvironment', title: 'Check Environment' },
  'edit-experiment': { command: 'emLab.openExperimentFile', title: 'Open experiment.json' },
  'run-again': { command: 'emLab.runExperiment', title: 'Run Again' },
};

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s <= 0) return '';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** One line for a stage: what it is doing or did, and for how long. */
export function stageDescription(s: StageView): string {
  const time = formatSeconds(s.cost.seconds);
  switch (s.status) {
    case 'running':
      return `${s.progress?.fraction !== undefined ? `${Math.round(100 * s.progress.fraction)}% · ` : ''}${s.progress?.message ?? 'running'}`;
    case 'done':
      return [s.detail, time].filter(Boolean).join(' · ');
    case 'blocked':
    case 'failed':
    case 'cancelled':
    case 'interrupted':
      return `${s.status}${s.reason ? `: ${s.reason}` : ''}`;
    default:
      return 'pending';
  }
}

function overall(e: ExperimentStatusView): { text: string; icon: [string, string?] } {
  if (e.running) {
    const stage = e.stages.find((s) => s.status === 'running');
    return { text: `running${stage ? ` · ${stage.title}` : ''}`, icon: STAGE_ICON.running };
  }
  if (e.complete) return { text: 'complete', icon: STAGE_ICON.done };
  const bad = e.stages.find((s) => s.status === 'failed' || s.status === 'blocked' || s.status === 'interrupted' || s.status === 'cancelled');
  if (bad) return { text: `${bad.title}: ${bad.status}`, icon: STAGE_ICON[bad.status] };
  const done = e.stages.filter((s) => s.status === 'done').length;
  return { text: done ? `${done}/${e.stages.length} stages done` : 'not run yet', icon: STAGE_ICON.pending };
}

function icon([id, color]: [string, string?]): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

export class ExperimentsTree implements vscode.TreeDataProvider<ExperimentNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExperimentNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly stagesChanged = new vscode.EventEmitter<string>();
  /** An experiment's stage changed status (a stage started or ended): its folder. */
  readonly onDidChangeStages = this.stagesChanged.event;
  /** Latest status per experiment folder, from experiment/list or experiment/progress. */
  private readonly statuses = new Map<string, ExperimentStatusView>();
  private readonly watches = new Map<string, vscode.CancellationTokenSource>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    this.disposables.push(
      deps.runtime.onNotification('experiment/progress', ({ dir, status }) => {
        const before = this.statuses.get(dir)?.stages.map((s) => s.status).join();
        this.statuses.set(dir, status);
        this.changed.fire(undefined);
        if (status.stages.map((s) => s.status).join() !== before) this.stagesChanged.fire(dir);
      }),
    );
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** The status last seen for an experiment folder. */
  status(dir: string): ExperimentStatusView | undefined {
    return this.statuses.get(dir);
  }

  /** Streams progress for a running experiment until its runner stops (one watch per folder). */
  watch(dir: string): void {
    if (this.watches.has(dir)) return;
    const cts = new vscode.CancellationTokenSource();
    this.watches.set(dir, cts);
    void this.deps.runtime
      .request('experiment/watch', { path: dir }, { token: cts.token, timeoutMs: 0 })
      .then(
        (final) => {
          this.statuses.set(dir, final);
          this.stagesChanged.fire(dir);
        },
        (err) => this.deps.log.warn(`Watching ${dir} stopped: ${errorText(err)}`),
      )
      .finally(() => {
        this.watches.delete(dir);
        cts.dispose();
        this.changed.fire(undefined);
      });
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    switch (node.kind) {
      case 'experiment': {
        const e = node.experiment;
        const item = new vscode.TreeItem(e.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `experiment:${e.dir}`;
        const o = overall(e);
        item.description = `${e.preset} · ${e.model.split(/[\\/]/).pop()} · ${o.text}`;
        item.tooltip = `${e.dir}\npreset ${e.preset}, model ${e.model}\n${o.text}`;
        item.iconPath = icon(o.icon);
        item.contextValue = `emLab.experiment.${e.running ? 'running' : e.complete ? 'complete' : 'idle'}`;
        item.command = { command: 'emLab.openReport', title: 'Open Report', arguments: [node] };
        return item;
      }
      case 'stage': {
        const s = node.stage;
        const item = new vscode.TreeItem(s.title, vscode.TreeItemCollapsibleState.None);
        item.id = `stage:${node.experiment.dir}:${s.id}`;
        item.description = stageDescription(s);
        const fix = s.fixAction ? FIX_COMMANDS[s.fixAction] : undefined;
        const md = new vscode.MarkdownString(`**${s.title}**: ${s.status}${s.detail ? `\n\n${s.detail}` : ''}${s.reason ? `\n\n${s.reason}` : ''}${fix ? `\n\nNext step: **${fix.title}**` : s.fix ? `\n\nNext step (in a terminal): ${s.fix}` : ''}`);
        item.tooltip = md;
        item.iconPath = icon(STAGE_ICON[s.status]);
        item.contextValue = `emLab.stage.${s.status}${s.fixAction ? `.fix` : ''}`;
        item.accessibilityInformation = { label: `${s.title}: ${stageDescription(s)}` };
        // A stage that cannot run: clicking it runs the next step; otherwise it reveals what it wrote.
        if (fix && (s.status === 'blocked' || s.status === 'failed')) item.command = { command: 'emLab.fixStage', title: fix.title, arguments: [node] };
        else if (s.outputs[0]) item.command = { command: 'revealInExplorer', title: 'Reveal', arguments: [vscode.Uri.file(join(node.experiment.dir, s.outputs[0]))] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        item.tooltip = node.tooltip ?? node.text;
        return item;
      }
    }
  }

  async getChildren(node?: ExperimentNode): Promise<ExperimentNode[]> {
    if (node?.kind === 'experiment') {
      const e = this.statuses.get(node.experiment.dir) ?? node.experiment;
      return e.stages.map((stage) => ({ kind: 'stage', experiment: e, stage }));
    }
    if (node) return [];
    try {
      const { experiments } = await this.deps.runtime.request('experiment/list', { experimentsDir: this.deps.runsDir() });
      for (const e of experiments) {
        // A live watch's notifications are newer than a listing taken in between; keep them.
        if (!this.watches.has(e.dir)) this.statuses.set(e.dir, e);
        if (e.running) this.watch(e.dir);
      }
      return experiments.map((e) => ({ kind: 'experiment', experiment: this.statuses.get(e.dir) ?? e }));
    } catch (err) {
      this.deps.log.warn(`Listing experiments failed: ${errorText(err)}`);
      return [{ kind: 'message', text: `Could not list experiments: ${errorText(err)}`, icon: 'error' }];
    }
  }

  dispose(): void {
    for (const w of this.watches.values()) w.cancel();
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
    this.stagesChanged.dispose();
  }
}
