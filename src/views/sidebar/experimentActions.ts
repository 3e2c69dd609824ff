// Actions on experiments (sidebar nodes, or picked from the palette): run / resume, cancel, open experiment.json,
// run a blocked stage's next step, delete. Running starts the runtime's detached runner (experiment/run, the CLI's
// `em-lab experiment run`), then the Experiments view watches it.
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import type { ExperimentStatusView } from '../../protocol/experimentTypes';
import { FIX_COMMANDS, type ExperimentNode, type ExperimentsTree } from './experimentsTree';

const isNode = (v: unknown): v is Exclude<ExperimentNode, { kind: 'message' }> => typeof v === 'object' && v !== null && ((v as { kind?: unknown }).kind === 'experiment' || (v as { kind?: unknown }).kind === 'stage');

/** The experiment a command acts on: a node's, a `{dir}` or path argument, else one the user picks. */
export async function pickExperiment(deps: HostDeps, arg: unknown, title: string): Promise<ExperimentStatusView | undefined> {
  if (isNode(arg)) return arg.experiment;
  const dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'object' && arg !== null && typeof (arg as { dir?: unknown }).dir === 'string' ? (arg as { dir: string }).dir : undefined;
  if (dir) return deps.runtime.request('experiment/status', { path: dir });
  const { experiments } = await deps.runtime.request('experiment/list', { experimentsDir: deps.runsDir() });
  if (!experiments.length) {
    const create = await vscode.window.showInformationMessage(`EM Lab: no experiment in ${deps.runsDir()} yet.`, 'New Experiment');
    if (create) await vscode.commands.executeCommand('emLab.newExperiment');
    return undefined;
  }
  if (experiments.length === 1) return experiments[0];
  const picked = await vscode.window.showQuickPick(
    experiments.map((e) => ({ label: e.name, description: `${e.preset} · ${e.model}${e.running ? ' · running' : e.complete ? ' · complete' : ''}`, detail: e.dir, e })),
    { title, placeHolder: 'Experiment' },
  );
  return picked?.e;
}

export async function runExperiment(deps: HostDeps, tree: ExperimentsTree, dir: string): Promise<void> {
  const workspaceDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  await deps.runtime.request('experiment/run', { path: dir, ...(workspaceDir ? { workspaceDir } : {}) });
  deps.log.info(`Experiment started: ${dir} (its output: ${join(dir, 'runner.log')})`);
  tree.watch(dir);
  tree.refresh();
}

export function registerExperimentActions(deps: HostDeps, tree: ExperimentsTree, refresh: () => void): vscode.Disposable {
  const safely = (what: string, run: (arg?: unknown) => Promise<unknown>) => async (arg?: unknown) => {
    try {
      await run(arg);
    } catch (err) {
      void vscode.window.showErrorMessage(`EM Lab: ${what} failed: ${errorText(err)}`);
    }
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand(
      'emLab.runExperiment',
      safely('running the experiment', async (arg) => {
        const e = await pickExperiment(deps, arg, 'EM Lab: Run Experiment');
        if (e) await runExperiment(deps, tree, e.dir);
      }),
    ),
    vscode.commands.registerCommand(
      'emLab.cancelExperiment',
      safely('cancelling the experiment', async (arg) => {
        const e = await pickExperiment(deps, arg, 'EM Lab: Cancel Experiment');
        if (!e) return;
        const { signalled } = await deps.runtime.request('experiment/cancel', { path: e.dir });
        void vscode.window.showInformationMessage(signalled ? `EM Lab: ${e.name} stops after the current step; "Run Experiment" resumes it.` : `EM Lab: ${e.name} is not running.`);
      }),
    ),
    vscode.commands.registerCommand(
      'emLab.openExperimentFile',
      safely('opening experiment.json', async (arg) => {
        const e = await pickExperiment(deps, arg, 'EM Lab: Open experiment.json');
        if (e) await vscode.window.showTextDocument(vscode.Uri.file(e.file));
      }),
    ),
    vscode.commands.registerCommand(
      'emLab.fixStage',
      safely('the next step', async (arg) => {
        if (!isNode(arg) || arg.kind !== 'stage' || !arg.stage.fixAction) return;
        const fix = FIX_COMMANDS[arg.stage.fixAction];
        await vscode.commands.executeCommand(fix.command, fix.command.includes('Experiment') ? { dir: arg.experiment.dir } : undefined);
      }),
    ),
    vscode.commands.registerCommand(
      'emLab.deleteExperiment',
      safely('deleting the experiment', async (arg) => {
        const e = await pickExperiment(deps, arg, 'EM Lab: Delete Experiment');
        if (!e) return;
        if (e.running) {
          void vscode.window.showWarningMessage(`EM Lab: ${e.name} is running. Cancel it first, then delete it.`);
          return;
        }
        const answer = await vscode.window.showWarningMessage(`Delete experiment ${e.name}?`, { modal: true, detail: `${e.dir}\n\nThe folder and everything in it (the training run, answers, judgements, report) is moved to the trash.` }, 'Delete');
        if (answer !== 'Delete') return;
        await vscode.workspace.fs.delete(vscode.Uri.file(e.dir), { recursive: true, useTrash: true });
        deps.log.info(`Deleted ${e.dir}`);
        refresh();
      }),
    ),
  );
}
