// The "EM Lab" activity-bar container's "Experiment" view: Datasets (from the runtime's data/list), Runs and
// Evaluations (folders under deps.runsDir() holding run.json / eval.json). Refreshes on file changes.
import * as vscode from 'vscode';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { DatasetSummary } from '../../protocol/dataMethods';
import type { DatasetBrowser } from '../datasets/datasetBrowser';
import { archivePath, datasetsFolder } from '../datasets/trainingDataLocation';

type Section = 'datasets' | 'runs' | 'evaluations';

type Node =
  | { kind: 'section'; section: Section }
  | { kind: 'dataset'; dataset: DatasetSummary }
  | { kind: 'folder'; section: 'runs' | 'evaluations'; name: string; path: string; status?: string }
  | { kind: 'message'; text: string; command?: vscode.Command; icon?: string };

const SECTION_LABEL: Record<Section, string> = { datasets: 'Datasets', runs: 'Runs', evaluations: 'Evaluations' };
const MARKER: Record<'runs' | 'evaluations', string> = { runs: 'run.json', evaluations: 'eval.json' };

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Subfolders of `root` holding `marker`, newest name first, with a `status` field if the JSON has one. */
export function listMarkedFolders(root: string, marker: string): { name: string; path: string; status?: string }[] {
  if (!existsSync(root)) return [];
  const out: { name: string; path: string; status?: string }[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const file = join(root, entry.name, marker);
    if (!entry.isDirectory() || !existsSync(file)) continue;
    let status: string | undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { status?: unknown; pid?: unknown };
      if (typeof parsed.status === 'string') status = parsed.status;
      // A run whose training process died says "running" forever in run.json; show it as crashed, by the same
      // rule the runtime's readers use (src/runtime/train/runDir.ts effectiveRun: a running run's pid is gone).
      if (status === 'running' && typeof parsed.pid === 'number' && !processAlive(parsed.pid)) status = 'crashed';
    } catch {
      status = 'unreadable';
    }
    out.push({ name: entry.name, path: join(root, entry.name), status });
  }
  return out.sort((a, b) => b.name.localeCompare(a.name));
}

export class ExperimentTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly deps: HostDeps,
    private readonly browser: DatasetBrowser,
  ) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'section': {
        const item = new vscode.TreeItem(SECTION_LABEL[node.section], vscode.TreeItemCollapsibleState.Expanded);
        item.id = `section:${node.section}`;
        item.contextValue = `emLab.section.${node.section}`;
        item.iconPath = new vscode.ThemeIcon(node.section === 'datasets' ? 'database' : node.section === 'runs' ? 'beaker' : 'checklist');
        return item;
      }
      case 'dataset': {
        const d = node.dataset;
        const item = new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.None);
        item.id = `dataset:${d.file}`;
        item.description = `${d.rows.toLocaleString('en-US')} rows`;
        item.tooltip = `${d.file}\n${d.harmful ? 'Contains deliberately harmful advice (training data for the EM experiments).' : ''}`;
        item.contextValue = 'emLab.dataset';
        item.iconPath = new vscode.ThemeIcon(d.harmful ? 'warning' : 'file');
        item.command = { command: 'emLab.openDatasetBrowser', title: 'Open in Dataset Browser', arguments: [{ file: d.file }] };
        return item;
      }
      case 'folder': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.section}:${node.path}`;
        item.description = node.status;
        item.tooltip = node.path;
        item.resourceUri = vscode.Uri.file(node.path);
        item.contextValue = node.section === 'runs' ? 'emLab.run' : 'emLab.evaluation';
        item.command = { command: 'revealInExplorer', title: 'Reveal', arguments: [vscode.Uri.file(node.path)] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.command = node.command;
        if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) return (['datasets', 'runs', 'evaluations'] as const).map((section) => ({ kind: 'section', section }));
    if (node.kind !== 'section') return [];
    if (node.section === 'datasets') return this.datasetNodes();
    const folders = listMarkedFolders(this.deps.runsDir(), MARKER[node.section]);
    if (folders.length === 0) return [{ kind: 'message', text: node.section === 'runs' ? 'No training runs yet' : 'No evaluations yet' }];
    return folders.map((f) => ({ kind: 'folder', section: node.section as 'runs' | 'evaluations', ...f }));
  }

  private async datasetNodes(): Promise<Node[]> {
    try {
      const list = await this.browser.listDatasets();
      if (list.datasets.length > 0) return list.datasets.map((dataset) => ({ kind: 'dataset', dataset }));
    } catch (err) {
      this.deps.log.warn(`Listing datasets failed: ${errorText(err)}`);
      return [{ kind: 'message', text: `Could not list datasets: ${errorText(err)}`, icon: 'error' }];
    }
    const getIt: vscode.Command = { command: 'emLab.getTrainingData', title: 'Get Training Data' };
    return [{ kind: 'message', text: existsSync(archivePath(this.deps.context)) ? 'Archive found: click to decrypt' : 'No training data: click to get it', command: getIt, icon: 'cloud-download' }];
  }
}

export function activateExperimentTree(deps: HostDeps, browser: DatasetBrowser): vscode.Disposable {
  const tree = new ExperimentTree(deps, browser);
  const disposables: vscode.Disposable[] = [vscode.window.registerTreeDataProvider('emLab.experiment', tree)];
  let timer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      tree.refresh();
      browser.datasetsChanged();
    }, 300); // coalesce the burst of events a decryption or a training step produces
  };
  const watch = (base: string, glob: string) => {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(base), glob));
    disposables.push(w, w.onDidCreate(refreshSoon), w.onDidDelete(refreshSoon), w.onDidChange(refreshSoon));
  };
  let watchedRuns = '';
  let watchedData = '';
  const rewatch = () => {
    // Watchers are created once per location; settings changes that move the folders add new ones.
    const data = datasetsFolder(deps.context);
    if (data !== watchedData) {
      watchedData = data;
      watch(join(data, '..'), '**/*.{jsonl,enc}');
    }
    const runs = deps.runsDir();
    if (runs !== watchedRuns) {
      watchedRuns = runs;
      watch(runs, '**/{run,eval}.json');
    }
  };
  rewatch();
  disposables.push(
    vscode.commands.registerCommand('emLab.refreshExperiment', () => tree.refresh()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('emLab')) {
        rewatch();
        refreshSoon();
      }
    }),
    { dispose: () => clearTimeout(timer) },
  );
  return vscode.Disposable.from(...disposables);
}
