// The EM Lab sidebar as the experiment panel: Experiments, Datasets, Runs and Evaluations tree views (each with a
// welcome view and buttons when empty, package.json viewsWelcome) and the Chat view (views/chat). Refreshes on
// file changes in the runs and data folders; one activate function, called from activateDatasets.
import * as vscode from 'vscode';
import { basename, dirname } from 'node:path';
import type { HostDeps } from '../../host/deps';
import type { DatasetBrowser } from '../datasets/datasetBrowser';
import { datasetsFolder } from '../datasets/trainingDataLocation';
import { registerExperimentActions } from './experimentActions';
import { ExperimentsTree } from './experimentsTree';
import { registerSidebarActions } from './sidebarActions';
import { DatasetsTree, EvaluationsTree, RunsTree } from './sidebarTrees';

export const SIDEBAR_VIEWS = { experiments: 'emLab.experiments', datasets: 'emLab.datasets', runs: 'emLab.runs', evaluations: 'emLab.evaluations' } as const;

export function activateSidebar(deps: HostDeps, browser: DatasetBrowser): vscode.Disposable {
  const experiments = new ExperimentsTree(deps);
  const datasets = new DatasetsTree(deps, browser);
  const runs = new RunsTree(deps);
  const evaluations = new EvaluationsTree(deps);
  const refreshAll = () => {
    for (const t of [experiments, datasets, runs, evaluations]) t.refresh();
    browser.datasetsChanged();
  };
  const disposables: vscode.Disposable[] = [
    experiments,
    vscode.window.createTreeView(SIDEBAR_VIEWS.experiments, { treeDataProvider: experiments, showCollapseAll: true }),
    vscode.window.createTreeView(SIDEBAR_VIEWS.datasets, { treeDataProvider: datasets }),
    vscode.window.createTreeView(SIDEBAR_VIEWS.runs, { treeDataProvider: runs, showCollapseAll: true }),
    vscode.window.createTreeView(SIDEBAR_VIEWS.evaluations, { treeDataProvider: evaluations }),
  ];
  let timer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(refreshAll, 300); // coalesce the burst of events a decryption or a training step produces
  };
  // Watched from the folder's parent: a watcher on a folder that does not exist yet (em-lab-runs before the first
  // run, the data folder before decryption) never fires.
  const watch = (folder: string, glob: string) => {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dirname(folder)), `${basename(folder)}/${glob}`));
    disposables.push(w, w.onDidCreate(refreshSoon), w.onDidDelete(refreshSoon), w.onDidChange(refreshSoon));
  };
  let watchedRuns = '';
  let watchedData = '';
  const rewatch = () => {
    // Watchers are created once per location; settings changes that move the folders add new ones.
    const data = datasetsFolder(deps.context);
    if (data !== watchedData) {
      watchedData = data;
      watch(dirname(data), '**/*.{jsonl,enc}');
    }
    const runsDir = deps.runsDir();
    if (runsDir !== watchedRuns) {
      watchedRuns = runsDir;
      // run.json: runs; experiment.json / status.json: experiments; the rest: what generate-eval, judge and sweep write.
      watch(runsDir, '**/{run,experiment,status,summary}.json');
      watch(runsDir, '**/{generations.jsonl,judged.csv,sweep_judged.csv,model_generations.csv}');
    }
  };
  rewatch();
  disposables.push(
    // An experiment's stages write runs and evaluations: refresh when one changes state, whatever the watchers say.
    experiments.onDidChangeStages(refreshSoon),
    vscode.commands.registerCommand('emLab.refreshExperiment', refreshAll),
    registerSidebarActions(deps, () => datasetsFolder(deps.context), refreshAll),
    registerExperimentActions(deps, experiments, refreshAll),
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
