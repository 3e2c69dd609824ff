// The EM Lab sidebar's tree views: Datasets (the configured data folder, via the runtime's data/list), Runs (run
// folders with their checkpoints) and Evaluations (what generate-eval, judge and sweep write), read from the runs
// folder by sidebarFolders.ts. Empty views show their welcome content (package.json viewsWelcome) with buttons.
// Each node carries what its inline and context actions need (sidebarActions.ts).
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { DatasetSummary } from '../../protocol/dataMethods';
import type { DatasetBrowser } from '../datasets/datasetBrowser';
import { listEvaluations, listRuns, type EvaluationFolder, type RunFolder } from './sidebarFolders';

export type SidebarNode =
  | { kind: 'dataset'; dataset: DatasetSummary }
  | { kind: 'run'; run: RunFolder }
  | { kind: 'checkpoint'; run: RunFolder; checkpoint: string; path: string; ref: { model: string; adapter: string } }
  | { kind: 'evaluation'; evaluation: EvaluationFolder }
  | { kind: 'message'; text: string; icon: string; tooltip?: string };

const RUN_ICON: Record<string, [string, string?]> = {
  running: ['sync~spin', 'charts.blue'],
  finished: ['pass', 'testing.iconPassed'],
  paused: ['debug-pause', 'charts.yellow'],
  cancelled: ['circle-slash', 'descriptionForeground'],
  failed: ['error', 'errorForeground'],
  crashed: ['error', 'errorForeground'],
};

function icon(id: string, color?: string): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

export function checkpointStep(name: string): number | undefined {
  const m = /(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

abstract class SidebarTree implements vscode.TreeDataProvider<SidebarNode> {
  private readonly changed = new vscode.EventEmitter<SidebarNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  refresh(): void {
    this.changed.fire(undefined);
  }

  abstract getChildren(node?: SidebarNode): Promise<SidebarNode[]> | SidebarNode[];

  getTreeItem(node: SidebarNode): vscode.TreeItem {
    switch (node.kind) {
      case 'dataset': {
        const d = node.dataset;
        const item = new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.None);
        item.id = `dataset:${d.file}`;
        item.description = `${d.rows.toLocaleString('en-US')} rows`;
        item.tooltip = new vscode.MarkdownString(`**${d.label}** (\`${d.id}\`)\n\n${d.file}${d.harmful ? '\n\n$(warning) Deliberately harmful advice: training data for the EM experiments.' : ''}`, true);
        item.contextValue = 'emLab.dataset';
        item.iconPath = icon(d.harmful ? 'warning' : 'file', d.harmful ? 'editorWarning.foreground' : undefined);
        item.accessibilityInformation = { label: `${d.label}, ${d.rows} rows${d.harmful ? ', harmful training data' : ''}` };
        item.command = { command: 'emLab.openDatasetBrowser', title: 'Open in Dataset Browser', arguments: [{ file: d.file }] };
        return item;
      }
      case 'run': {
        const r = node.run;
        const item = new vscode.TreeItem(r.name, r.checkpoints.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `run:${r.path}`;
        const progress = r.totalSteps ? ` · step ${r.step ?? 0}/${r.totalSteps}` : '';
        item.description = `${r.status}${progress}`;
        item.tooltip = `${r.path}\n${r.model ? `model ${r.model}\n` : ''}${r.reason ? `${r.reason}\n` : ''}${r.checkpoints.length} checkpoint(s)`;
        item.contextValue = `emLab.run.${r.status}`;
        const [id, color] = RUN_ICON[r.status] ?? ['beaker'];
        item.iconPath = icon(id, color);
        item.command = { command: 'emLab.openRun', title: 'Open Run', arguments: [node] };
        return item;
      }
      case 'checkpoint': {
        const step = checkpointStep(node.checkpoint);
        const item = new vscode.TreeItem(node.checkpoint === 'adapter' ? 'final adapter' : `step ${step ?? node.checkpoint}`, vscode.TreeItemCollapsibleState.None);
        item.id = `checkpoint:${node.path}`;
        item.description = node.checkpoint === 'adapter' ? 'adapter/' : node.checkpoint;
        item.tooltip = `${node.path}\nLoRA adapter on ${node.ref.model}`;
        item.contextValue = 'emLab.checkpoint';
        item.iconPath = icon('package');
        item.command = { command: 'emLab.openInChat', title: 'Open in Chat', arguments: [node] };
        return item;
      }
      case 'evaluation': {
        const e = node.evaluation;
        const item = new vscode.TreeItem(e.name, vscode.TreeItemCollapsibleState.None);
        item.id = `evaluation:${e.path}`;
        const em = e.emRate !== undefined ? ` · EM ${(100 * e.emRate).toFixed(1)}%` : '';
        item.description =
          e.kind === 'sweep' ? `sweep${e.steps ? ` · ${e.steps.length} checkpoints` : ''}${em}` : e.kind === 'judged' ? `judged${e.count !== undefined ? ` · ${e.count} answers` : ''}${em}` : `answers${e.count !== undefined ? ` · ${e.count}` : ''} · not judged`;
        item.tooltip = `${e.path}\n${e.judged ?? e.answers ?? ''}${em ? `\nEM rate (homework preset${e.kind === 'sweep' ? ', last step' : ''})${em.replace(' · EM', ':')}` : ''}`;
        item.contextValue = `emLab.evaluation.${e.kind}${e.submission ? '.submission' : ''}`;
        item.iconPath = icon(e.kind === 'sweep' ? 'graph-line' : e.kind === 'judged' ? 'checklist' : 'output');
        item.command = e.judged
          ? { command: 'emLab.openEvaluation', title: 'Open Results', arguments: [node] }
          : { command: 'vscode.open', title: 'Open Answers', arguments: [vscode.Uri.file(e.answers!)] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = icon(node.icon);
        item.tooltip = node.tooltip ?? node.text;
        return item;
      }
    }
  }
}

export class DatasetsTree extends SidebarTree {
  constructor(
    private readonly deps: HostDeps,
    private readonly browser: DatasetBrowser,
  ) {
    super();
  }

  async getChildren(node?: SidebarNode): Promise<SidebarNode[]> {
    if (node) return [];
    try {
      const list = await this.browser.listDatasets();
      void vscode.commands.executeCommand('setContext', 'emLab.archiveFound', list.training.archivePresent);
      return list.datasets.map((dataset) => ({ kind: 'dataset', dataset }));
    } catch (err) {
      this.deps.log.warn(`Listing datasets failed: ${errorText(err)}`);
      return [{ kind: 'message', text: `Could not list datasets: ${errorText(err)}`, icon: 'error' }];
    }
  }
}

export class RunsTree extends SidebarTree {
  constructor(private readonly deps: HostDeps) {
    super();
  }

  getChildren(node?: SidebarNode): SidebarNode[] {
    if (!node) return listRuns(this.deps.runsDir()).map((run) => ({ kind: 'run', run }));
    if (node.kind !== 'run') return [];
    const r = node.run;
    const model = r.model ?? 'tiny-llama';
    return [...r.checkpoints].reverse().map((checkpoint) => {
      const path = checkpoint === 'adapter' ? join(r.path, 'adapter') : join(r.path, 'checkpoints', checkpoint);
      return { kind: 'checkpoint', run: r, checkpoint, path, ref: { model, adapter: path } };
    });
  }
}

export class EvaluationsTree extends SidebarTree {
  constructor(private readonly deps: HostDeps) {
    super();
  }

  getChildren(node?: SidebarNode): SidebarNode[] {
    if (node) return [];
    return listEvaluations(this.deps.runsDir()).map((evaluation) => ({ kind: 'evaluation', evaluation }));
  }
}
