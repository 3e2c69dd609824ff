// The "SLURM Grids" view beside the Experiment view: grids submitted from this workspace's experiments folder
// (`em-lab experiment submit --slurm`), each with its cells' states and array tasks. The runtime reads the folders
// and SLURM (cluster/grids; SLURM is asked at most once per 30 s per grid there, whoever asks). This view refreshes
// when a grid's files change (debounced) and, while it is visible and a cell is pending or running, every 30 s;
// never faster. Without any submitted grid it asks the runtime nothing.
import * as vscode from 'vscode';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { GRID_JOBS_FILE, SLURM_POLL_MS, type GridCellState, type GridCellStatusView, type GridStatusView } from '../../protocol/clusterTypes';

type Node = { kind: 'grid'; grid: GridStatusView } | { kind: 'cell'; grid: GridStatusView; cell: GridCellStatusView } | { kind: 'message'; text: string; icon: string };

const STATE_ICON: Record<GridCellState, string> = {
  done: 'pass',
  running: 'sync~spin',
  pending: 'clock',
  failed: 'error',
  cancelled: 'circle-slash',
  timeout: 'watch',
  'node-fail': 'error',
  'out-of-memory': 'error',
  blocked: 'warning',
  stopped: 'debug-pause',
  'not-submitted': 'circle-outline',
};
const LIVE: readonly GridCellState[] = ['running', 'pending'];

/** Folders under `root` holding a submitted grid (cheap: no runtime call when there is none). */
export function submittedGridDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, GRID_JOBS_FILE)))
    .map((e) => join(root, e.name));
}

/** "2 done, 1 running, 1 pending" in the order cells move through. */
export function gridDescription(g: GridStatusView): string {
  return (Object.keys(STATE_ICON) as GridCellState[])
    .filter((s) => g.counts[s])
    .map((s) => `${g.counts[s]} ${s}`)
    .join(', ');
}

/** What a cell row shows: its state, the SLURM task, and the stage at work (or the reason it stopped). */
export function cellRow(c: GridCellStatusView): { label: string; description: string; tooltip: string; icon: string } {
  const busy = c.stages.find((s) => s.status !== 'done' && s.status !== 'pending');
  const task = c.task ? `${c.task.jobId} ${c.task.state}${c.task.nodes ? ` on ${c.task.nodes}` : ''}` : '';
  return {
    // the sidebar is narrow: "data.domains=bad_medical training.seed=0" -> "domains=bad_medical seed=0"
    label: `${c.index}: ${c.label.replace(/(^| )[\w.]*\.(\w+)=/g, '$1$2=')}`,
    description: [c.state, busy ? `${busy.id} ${busy.status}${busy.message ? `: ${busy.message}` : ''}` : '', task].filter(Boolean).join(' · '),
    tooltip: [
      `Cell ${c.index} (${c.dir}): ${c.state}`,
      c.label,
      ...c.stages.map((s) => `  ${s.id}: ${s.status}${s.message ? ` (${s.message})` : ''}`),
      ...(c.task ? [`SLURM task ${c.task.jobId}: ${c.task.state}${c.task.reason && c.task.reason !== 'None' ? ` (${c.task.reason})` : ''}${c.task.elapsed ? `, ${c.task.elapsed}` : ''}${c.task.exitCode ? `, exit ${c.task.exitCode}` : ''}`] : []),
      c.task?.log ? 'Click to open the task\'s log.' : 'Click to reveal the cell folder.',
    ].join('\n'),
    icon: STATE_ICON[c.state],
  };
}

/** Poll while something can still change on the cluster without a file here changing. */
export function needsPolling(grids: readonly GridStatusView[]): boolean {
  return grids.some((g) => g.cells.some((c) => LIVE.includes(c.state)));
}

export class GridTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  grids: GridStatusView[] = [];

  constructor(private readonly deps: HostDeps) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    if (node.kind === 'grid') {
      const g = node.grid;
      const item = new vscode.TreeItem(g.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `grid:${g.dir}`;
      item.description = gridDescription(g);
      item.tooltip = `${g.dir}\n${gridDescription(g)}\n${g.cells.length} cells (${g.keys.join(' x ')}); jobs ${g.jobs.map((j) => j.jobId).join(', ')}${g.queriedAt ? `\nSLURM asked at ${g.queriedAt}` : ''}${g.slurmError ? `\nSLURM did not answer: ${g.slurmError}` : ''}`;
      item.iconPath = new vscode.ThemeIcon(g.slurmError ? 'warning' : 'server-process');
      item.resourceUri = vscode.Uri.file(g.dir);
      item.contextValue = 'emLab.grid';
      return item;
    }
    const row = cellRow(node.cell);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `grid:${node.grid.dir}:${node.cell.index}`;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.contextValue = 'emLab.gridCell';
    item.command = node.cell.task?.log
      ? { command: 'vscode.open', title: 'Open Log', arguments: [vscode.Uri.file(node.cell.task.log)] }
      : { command: 'revealInExplorer', title: 'Reveal', arguments: [vscode.Uri.file(join(node.grid.dir, node.cell.dir))] };
    return item;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.kind === 'grid') return node.grid.cells.map((cell) => ({ kind: 'cell', grid: node.grid, cell }));
    if (node) return [];
    if (submittedGridDirs(this.deps.runsDir()).length === 0) {
      this.grids = [];
      return []; // the view's welcome text says how to submit one
    }
    try {
      const r = await this.deps.runtime.request('cluster/grids', { experimentsDir: this.deps.runsDir() });
      this.grids = r.grids;
      for (const e of r.errors) this.deps.log.warn(`SLURM Grids: ${e.dir}: ${e.message}`);
      return [...r.grids.map((grid): Node => ({ kind: 'grid', grid })), ...r.errors.map((e): Node => ({ kind: 'message', text: `${e.dir}: ${e.message}`, icon: 'error' }))];
    } catch (err) {
      return [{ kind: 'message', text: `Could not read the grids: ${errorText(err)}`, icon: 'error' }];
    }
  }
}

export function activateGridTree(deps: HostDeps): vscode.Disposable {
  const tree = new GridTree(deps);
  const view = vscode.window.createTreeView('emLab.grids', { treeDataProvider: tree });
  let lastRefresh = 0;
  const refresh = () => {
    lastRefresh = Date.now();
    tree.refresh();
  };
  let debounce: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => view.visible && refresh(), 2000); // a runner rewrites status.json twice a second
  };
  const poll = setInterval(() => {
    if (view.visible && needsPolling(tree.grids) && Date.now() - lastRefresh >= SLURM_POLL_MS - 1000) refresh();
  }, SLURM_POLL_MS);
  const disposables: vscode.Disposable[] = [view, { dispose: () => (clearInterval(poll), clearTimeout(debounce)) }];
  let watched = '';
  const rewatch = () => {
    const root = deps.runsDir();
    if (root === watched) return;
    watched = root;
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), `*/{${GRID_JOBS_FILE},cells/*/status.json}`));
    disposables.push(w, w.onDidCreate(refreshSoon), w.onDidChange(refreshSoon), w.onDidDelete(refreshSoon));
  };
  rewatch();
  disposables.push(
    view.onDidChangeVisibility((e) => e.visible && refresh()),
    vscode.commands.registerCommand('emLab.refreshGrids', refresh),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('emLab')) {
        rewatch();
        refreshSoon();
      }
    }),
  );
  return vscode.Disposable.from(...disposables);
}
