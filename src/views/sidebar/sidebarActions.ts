// What the sidebar's inline and context actions do, and the palette commands for the CLI capabilities a homework
// needs (sweep, submission and its check, model pull, data mix, caches). Tree nodes are passed as the first argument; from
// the palette (no node) each command asks with a quick pick. CLI capabilities run the real `em-lab` command in an
// EM Lab terminal (cliTerminal.ts): its output names CLI flags, which is right there, and the line can be re-run.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { runCliInTerminal } from '../../host/cliTerminal';
import { judgeChoiceFor } from '../../host/judgeSettings';
import { listEvaluations, listRuns, type RunFolder } from './sidebarFolders';
import type { SidebarNode } from './sidebarTrees';

const isNode = (v: unknown): v is SidebarNode => typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';

function workspaceDir(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The run a command acts on: the node's, else one the user picks (finished runs first). */
async function pickRun(deps: HostDeps, arg: unknown, title: string, filter: (r: RunFolder) => boolean = () => true): Promise<RunFolder | undefined> {
  if (isNode(arg) && (arg.kind === 'run' || arg.kind === 'checkpoint')) return arg.run;
  const runs = listRuns(deps.runsDir()).filter(filter);
  if (!runs.length) {
    void vscode.window.showInformationMessage(`EM Lab: no training run in ${deps.runsDir()} can be used for this. Train one first ("EM Lab: Train LoRA Adapter" or "EM Lab: New Experiment").`);
    return undefined;
  }
  const order = (r: RunFolder) => (r.status === 'finished' ? 0 : 1);
  const picked = await vscode.window.showQuickPick(
    [...runs].sort((a, b) => order(a) - order(b)).map((r) => ({ label: r.name, description: `${r.status} · ${r.checkpoints.length} checkpoint(s)`, detail: r.path, run: r })),
    { title, placeHolder: 'Training run' },
  );
  return picked?.run;
}

/** `em-lab sweep RUN`: every checkpoint (and the base model) answers and is judged with the emLab.judge settings. */
async function sweep(deps: HostDeps, arg: unknown): Promise<void> {
  const run = await pickRun(deps, arg, 'EM Lab: Sweep Checkpoints', (r) => r.checkpoints.length > 0);
  if (!run) return;
  const preset = await vscode.window.showQuickPick(
    [
      { label: 'homework', description: 'the grader\'s 20 questions from your homework checkout, as its generate.py asks them' },
      { label: 'em-lab', description: 'EM Lab\'s own 10 medical + 10 general questions, 1 sample each, 200 new tokens' },
      { label: 'paper', description: '8 free-form questions x 50 samples, 600 new tokens per checkpoint (slow on a CPU)' },
    ],
    { title: `Sweep ${run.name}: which questions` },
  );
  if (!preset) return;
  const judge = judgeChoiceFor(deps.log);
  const args = ['sweep', run.path, '--model', run.model ?? 'tiny-llama', '--preset', preset.label, '--include-base', '--judge-model', judge.model, '--mode', judge.mode, '--concurrency', String(judge.concurrency)];
  if (judge.baseUrl) args.push('--judge-base-url', judge.baseUrl);
  const r = await runCliInTerminal(deps, `sweep ${run.name}`, args, workspaceDir());
  if (r.code === 0 && existsSync(join(run.path, 'sweep', 'sweep_judged.csv'))) await vscode.commands.executeCommand('emLab.openJudgeResults', join(run.path, 'sweep', 'sweep_judged.csv'));
}

/** `em-lab submission RUN`: model_generations.csv + training_details.md in RUN/submission, then checked. */
async function writeSubmission(deps: HostDeps, arg: unknown): Promise<void> {
  const run = await pickRun(deps, arg, 'EM Lab: Write Homework Submission');
  if (!run) return;
  const r = await runCliInTerminal(deps, `submission ${run.name}`, ['submission', run.path], workspaceDir());
  if (r.code === 0) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(join(run.path, 'submission')));
}

/** `em-lab check-submission FILE` on a model_generations.csv (the node's, or one picked from the workspace). */
async function checkSubmission(deps: HostDeps, arg: unknown): Promise<void> {
  let file = isNode(arg) && arg.kind === 'evaluation' ? arg.evaluation.submission : arg instanceof vscode.Uri ? arg.fsPath : undefined;
  if (!file) {
    const found = await vscode.workspace.findFiles('**/model_generations.csv', '**/node_modules/**', 200);
    const items = found.map((u) => ({ label: vscode.workspace.asRelativePath(u), path: u.fsPath }));
    const browse = { label: '$(folder-opened) Browse…', path: '' };
    const choice = await vscode.window.showQuickPick([...items, browse], { title: 'EM Lab: Check Submission File', placeHolder: 'model_generations.csv to check' });
    if (!choice) return;
    file = choice.path || (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'model_generations.csv': ['csv'] } }))?.[0]?.fsPath;
  }
  if (file) await runCliInTerminal(deps, 'check-submission', ['check-submission', file], workspaceDir());
}

/** `em-lab model pull ID`: into the storage folder the CLI and the extension's runtime share (src/runtime/storage.ts). */
async function pullModel(deps: HostDeps): Promise<void> {
  const id = await vscode.window.showInputBox({
    title: 'EM Lab: Download Model',
    prompt: 'Hugging Face repo id (gated models such as Llama need "EM Lab: Set Hugging Face Token" and the licence accepted on the model page)',
    value: 'meta-llama/Llama-3.2-1B-Instruct',
    validateInput: (v) => (/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(v.trim()) ? undefined : 'owner/name, e.g. meta-llama/Llama-3.2-1B-Instruct'),
  });
  if (id) await runCliInTerminal(deps, `model pull ${id.trim()}`, ['model', 'pull', id.trim()], workspaceDir());
}

/** `em-lab data mix`: a seeded mixture of datasets from the configured data folder, written beside them. */
async function mixData(deps: HostDeps, dataDir: string): Promise<void> {
  const list = await deps.runtime.request('data/list', { dir: dataDir });
  if (!list.datasets.length) {
    void vscode.window.showWarningMessage(`EM Lab: no datasets in ${dataDir}. Run "EM Lab: Get Training Data" first.`);
    return;
  }
  const picked = await vscode.window.showQuickPick(
    list.datasets.map((d) => ({ label: d.label, description: `${d.id} · ${d.rows.toLocaleString('en-US')} rows`, id: d.id, rows: d.rows })),
    { title: 'EM Lab: Mix Datasets (1/3): datasets to mix', canPickMany: true },
  );
  if (!picked?.length) return;
  const weights = await vscode.window.showInputBox({
    title: 'EM Lab: Mix Datasets (2/3): weights',
    prompt: 'NAME=WEIGHT for each dataset (normalised), e.g. bad_medical=0.8,good_medical=0.2',
    value: picked.map((p) => `${p.id}=${(1 / picked.length).toFixed(2)}`).join(','),
    validateInput: (v) => (v.split(',').every((part) => /^[\w.-]+=\d*\.?\d+$/.test(part.trim())) ? undefined : 'NAME=WEIGHT,NAME=WEIGHT (weights are numbers)'),
  });
  if (!weights) return;
  const total = await vscode.window.showInputBox({
    title: 'EM Lab: Mix Datasets (3/3): rows in the mixture',
    value: String(Math.min(...picked.map((p) => p.rows))),
    validateInput: (v) => (/^[1-9]\d*$/.test(v.trim()) ? undefined : 'a whole number of rows, at least 1'),
  });
  if (!total) return;
  await runCliInTerminal(deps, 'data mix', ['data', 'mix', '--mix', weights.replace(/\s+/g, ''), '--total', total.trim(), '--data-dir', dataDir], workspaceDir());
}

/** `em-lab cache prune KIND` after the user picks what to free and confirms (`em-lab cache` shows the sizes). */
async function pruneCache(deps: HostDeps): Promise<void> {
  const kinds = [
    { label: 'artifacts', description: 'ONNX exports and training graphs: rebuilt on next use (minutes for a 1B model)' },
    { label: 'judge', description: 'judge answers: a rerun pays for the same requests again' },
    { label: 'models', description: 'downloaded models and tiny-llama: downloaded or built again on next use' },
    { label: 'cuda', description: 'CUDA provider downloads (installed ones keep working)' },
  ];
  const picked = await vscode.window.showQuickPick(kinds, { title: 'EM Lab: Free Cache Space', placeHolder: 'What to delete ("EM Lab: Show Caches" lists the sizes)', canPickMany: true });
  if (!picked?.length) return;
  const what = picked.map((p) => p.label);
  const ok = await vscode.window.showWarningMessage(`Delete the cached ${what.join(', ')}?`, { modal: true, detail: picked.map((p) => `${p.label}: ${p.description}`).join('\n') }, 'Delete');
  if (ok === 'Delete') await runCliInTerminal(deps, 'cache prune', ['cache', 'prune', ...what], workspaceDir());
}

async function deleteFolder(deps: HostDeps, arg: unknown, refresh: () => void): Promise<void> {
  if (!isNode(arg)) return;
  const target = arg.kind === 'run' ? { path: arg.run.path, what: `training run ${arg.run.name}`, busy: arg.run.status === 'running' } : arg.kind === 'evaluation' ? { path: arg.evaluation.path, what: `evaluation ${arg.evaluation.name}`, busy: false } : undefined;
  if (!target) return;
  if (target.busy) {
    void vscode.window.showWarningMessage(`EM Lab: ${target.what} is still training. Cancel it first (open it and press Cancel), then delete it.`);
    return;
  }
  const answer = await vscode.window.showWarningMessage(`Delete ${target.what}?`, { modal: true, detail: `${target.path}\n\nThe folder and everything in it (checkpoints, answers, judgements) is moved to the trash.` }, 'Delete');
  if (answer !== 'Delete') return;
  try {
    await vscode.workspace.fs.delete(vscode.Uri.file(target.path), { recursive: true, useTrash: true });
  } catch {
    // No trash here (a remote or a container): delete for good, which the dialog did not promise, so ask again.
    const again = await vscode.window.showWarningMessage(`The trash is not available here. Delete ${target.what} permanently?`, { modal: true }, 'Delete Permanently');
    if (again !== 'Delete Permanently') return;
    await vscode.workspace.fs.delete(vscode.Uri.file(target.path), { recursive: true, useTrash: false });
  }
  deps.log.info(`Deleted ${target.path}`);
  refresh();
}

function folderOf(arg: unknown): string | undefined {
  // An Experiments view node carries its folder as experiment.dir.
  const experiment = typeof arg === 'object' && arg !== null ? (arg as { kind?: unknown; experiment?: { dir?: unknown } }) : undefined;
  if (experiment?.kind === 'experiment' && typeof experiment.experiment?.dir === 'string') return experiment.experiment.dir;
  if (!isNode(arg)) return undefined;
  if (arg.kind === 'run') return arg.run.path;
  if (arg.kind === 'checkpoint') return arg.path;
  if (arg.kind === 'evaluation') return arg.evaluation.path;
  if (arg.kind === 'dataset') return dirname(arg.dataset.file);
  return undefined;
}

export function registerSidebarActions(deps: HostDeps, dataDir: () => string, refresh: () => void): vscode.Disposable {
  const cmd = (id: string, run: (arg?: unknown) => unknown) => vscode.commands.registerCommand(id, run);
  return vscode.Disposable.from(
    cmd('emLab.openRun', (arg) => {
      const runDir = isNode(arg) && arg.kind === 'run' ? arg.run.path : undefined;
      return vscode.commands.executeCommand('emLab.openTraining', runDir ? { runDir } : undefined);
    }),
    cmd('emLab.trainOnDataset', (arg) => vscode.commands.executeCommand('emLab.openTraining', isNode(arg) && arg.kind === 'dataset' ? { dataset: arg.dataset.id } : undefined)),
    cmd('emLab.evaluateCheckpoint', (arg) => vscode.commands.executeCommand('emLab.generateAnswers', isNode(arg) && arg.kind === 'checkpoint' ? arg.ref : undefined)),
    cmd('emLab.openEvaluation', async (arg) => {
      if (isNode(arg) && arg.kind === 'evaluation' && arg.evaluation.judged) return vscode.commands.executeCommand('emLab.openJudgeResults', arg.evaluation.judged);
      const judged = listEvaluations(deps.runsDir()).filter((e) => e.judged);
      const picked = await vscode.window.showQuickPick(judged.map((e) => ({ label: e.name, description: e.kind, path: e.judged! })), { title: 'EM Lab: Open Evaluation Results' });
      return picked ? vscode.commands.executeCommand('emLab.openJudgeResults', picked.path) : undefined;
    }),
    cmd('emLab.judgeEvaluation', (arg) => vscode.commands.executeCommand('emLab.judgeAnswers', isNode(arg) && arg.kind === 'evaluation' ? arg.evaluation.answers : undefined)),
    cmd('emLab.revealFolder', (arg) => {
      const folder = folderOf(arg);
      if (!folder) return undefined;
      // In the Explorer when it is in the workspace (works remotely too), else in the system's file manager.
      const uri = vscode.Uri.file(folder);
      return vscode.commands.executeCommand(vscode.workspace.getWorkspaceFolder(uri) ? 'revealInExplorer' : 'revealFileInOS', uri);
    }),
    cmd('emLab.deleteItem', (arg) => deleteFolder(deps, arg, refresh)),
    cmd('emLab.sweep', (arg) => sweep(deps, arg)),
    cmd('emLab.writeSubmission', (arg) => writeSubmission(deps, arg)),
    cmd('emLab.checkSubmission', (arg) => checkSubmission(deps, arg)),
    cmd('emLab.pullModel', () => pullModel(deps)),
    cmd('emLab.mixData', () => mixData(deps, dataDir())),
    cmd('emLab.showCaches', () => runCliInTerminal(deps, 'cache', ['cache'], workspaceDir())),
    cmd('emLab.pruneCache', () => pruneCache(deps)),
  );
}
