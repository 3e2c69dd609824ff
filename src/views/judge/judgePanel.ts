// "EM Lab: Open Judge Results": judged answers as a sortable, filterable table with metric cards (Wilson
// intervals), a coherence-vs-alignment scatter with the preset's misaligned region, per-question bars, EM against
// step for sweeps, and a base-vs-fine-tuned comparison. The numbers come from the runtime (eval/loadJudged, the
// same code as `em-lab metrics`). Webview messages are untrusted: shapes are checked here, file paths only ever
// come from the user's own open/save dialogs, and exports are size-limited.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { ViewRequestError, type ViewHandlers } from '../../host/viewChannel';
import { noParams, obj, oneOf, str } from '../../host/viewParams';
import { ViewPanel } from '../../host/webviewChannel';
import type { JudgedFileView, JudgeViewMethods, JudgeViewNotifications } from '../../protocol/evalMethods';
import { withRuntimeProgress } from '../../host/withRuntimeProgress';
import { judgeChoiceFor } from '../../host/judgeSettings';

/** Exports above this are refused (a PNG data URL of a chart is ~100-500 kB; a 10k-row CSV ~10 MB). */
const MAX_EXPORT_CHARS = 50_000_000;
const JUDGED_FILTERS = { 'Judged answers (CSV)': ['csv'] };

export class JudgePanel implements vscode.Disposable {
  private view: ViewPanel<JudgeViewMethods, JudgeViewNotifications> | undefined;
  private mainPath: string | undefined;
  private basePath: string | undefined;

  constructor(private readonly deps: HostDeps) {}

  async open(path?: string, basePath?: string): Promise<void> {
    if (path) {
      this.mainPath = path;
      this.basePath = basePath;
    }
    if (!this.view) {
      this.view = new ViewPanel(this.deps, { viewType: 'emLab.judgeResults', title: 'EM Lab: Judge Results', bundle: 'judge', styles: ['common.css', 'judge/judge.css'], handlers: this.handlers }, () => (this.view = undefined));
    } else this.view.reveal();
    // The webview asks for the current file with judge/reload when it starts (or becomes visible again);
    // push it too, for a panel that is already showing.
    if (path) {
      const view = await this.load();
      if (view) this.view?.notify('judge/loaded', view);
    }
  }

  private async load(): Promise<JudgedFileView | null> {
    if (!this.mainPath) return null;
    const homeworkDir = workspaceFolder();
    return this.deps.runtime.request('eval/loadJudged', { path: this.mainPath, ...(this.basePath ? { basePath: this.basePath } : {}), ...(homeworkDir ? { homeworkDir } : {}) }, { timeoutMs: 120_000 });
  }

  private readonly handlers: ViewHandlers<JudgeViewMethods> = {
    'judge/reload': { parse: noParams, run: () => this.load() },
    'judge/open': {
      parse: (raw) => ({ role: oneOf(obj(raw).role, 'role', ['main', 'base'] as const) }),
      run: async ({ role }) => {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: JUDGED_FILTERS, title: role === 'main' ? 'Open judged answers (judged.csv, model_judged.csv, fg_judged.csv)' : 'Compare with the base model\'s judged answers' });
        if (!picked?.[0]) return null;
        if (role === 'main') this.mainPath = picked[0].fsPath;
        else this.basePath = picked[0].fsPath;
        return this.load();
      },
    },
    'judge/export': {
      parse: (raw) => {
        const p = obj(raw);
        return { kind: oneOf(p.kind, 'kind', ['csv', 'png'] as const), suggestedName: str(p.suggestedName, 'suggestedName', 200), content: str(p.content, 'content', MAX_EXPORT_CHARS) };
      },
      run: async (p) => {
        const name = p.suggestedName.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'export';
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${this.deps.runsDir()}/${name}.${p.kind}`), filters: p.kind === 'csv' ? { CSV: ['csv'] } : { 'PNG image': ['png'] } });
        if (!target) return { saved: false };
        if (p.kind === 'png') {
          const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(p.content);
          if (!m) throw new ViewRequestError('The chart image is not a PNG data URL.');
          await writeFile(target.fsPath, Buffer.from(m[1]!, 'base64'));
        } else await writeFile(target.fsPath, p.content, 'utf8');
        this.deps.log.info(`Judge results: exported ${p.kind.toUpperCase()} to ${target.fsPath}`);
        return { saved: true };
      },
    },
  };

  dispose(): void {
    this.view?.dispose();
  }
}

/** The first workspace folder: where a homework checkout (the grader's prompts and base judgements) is looked for. */
function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function pathArg(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return typeof arg === 'string' && arg ? arg : undefined;
}

/** Generation outputs in the workspace (most recent first), then "Browse…" for anything else. */
async function pickAnswersFile(): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/{generations.jsonl,model_generations.csv}', '**/node_modules/**', 200);
  const browse = { label: '$(folder-opened) Browse…', path: '' };
  const items = [...found.map((u) => ({ label: vscode.workspace.asRelativePath(u), path: u.fsPath })).sort((a, b) => a.label.localeCompare(b.label)), browse];
  const choice = found.length ? await vscode.window.showQuickPick(items, { title: 'EM Lab: Judge Answers', placeHolder: 'Answers to judge (generations.jsonl or model_generations.csv)' }) : browse;
  if (!choice) return undefined;
  if (choice.path) return choice.path;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Answers (generations.jsonl, model_generations.csv)': ['jsonl', 'csv'] }, title: 'Judge answers' });
  return picked?.[0]?.fsPath;
}

/** Judge a generations file with the configured judge (emLab.judge.*), then show the results. */
async function judgeGenerations(deps: HostDeps, panel: JudgePanel, arg: unknown, collect = false): Promise<void> {
  const answersPath = pathArg(arg) ?? (await pickAnswersFile());
  if (!answersPath) return;
  const { model, mode, baseUrl: baseURL, concurrency } = judgeChoiceFor(deps.log);
  const workspaceDir = workspaceFolder();
  const batch = collect ? 'collect' : vscode.workspace.getConfiguration('emLab.judge').get<boolean>('batch') ? 'submit' : undefined;
  try {
    const homeworkDir = workspaceDir;
    const title = collect ? 'EM Lab: Collecting judge batches' : batch ? `EM Lab: Submitting judge batches to ${model}` : `EM Lab: Judging with ${model}`;
    const result = await withRuntimeProgress(deps.runtime, title, 'eval/judge', { answersPath: answersPath!, model, mode, ...(baseURL ? { baseURL } : {}), ...(homeworkDir ? { homeworkDir } : {}), ...(workspaceDir ? { workspaceDir } : {}), concurrency, ...(batch ? { batch } : {}) });
    deps.log.info(`Judged ${answersPath} with ${result.prompts === 'homework' ? 'the homework grader\'s prompts (eval/judge.py)' : 'EM Lab\'s own rubric (no homework checkout found)'}: ${result.requested} requests, ${result.fromCache} cached, ${result.fromBatch} from batches, ${result.pending} pending, ${result.failed} failed${result.costUsd !== null ? `, $${result.costUsd.toFixed(4)}` : ''}.`);
    if (result.failed) void vscode.window.showWarningMessage(`EM Lab: ${result.failed} judgements failed (see the EM Lab log). Run "Judge Answers" again to retry only those.`);
    await rememberBatches(deps, answersPath, !result.complete);
    if (result.complete) return void (await panel.open(result.judgedCsv));
    const sub = result.submittedBatches;
    const costs = sub.map((b) => b.costUsd);
    const cost = costs.length && costs.every((c) => c !== null) ? ` about $${costs.reduce((a, b) => a! + b!, 0)!.toFixed(4)} at the batch price (half the live price);` : '';
    const running = result.runningBatches.map((b) => `${b.id}: ${b.status}${b.done !== undefined ? ` ${b.done}/${b.requests}` : ''}`).join(', ');
    void vscode.window.showInformationMessage(
      sub.length
        ? `EM Lab: submitted ${sub.length} judge batch(es), ${sub.reduce((n, b) => n + b.requests, 0)} requests;${cost} OpenAI answers within 24 h. Run "EM Lab: Collect Judge Batches" later (also after restarting VS Code).`
        : `EM Lab: ${result.pending} judgements wait for running batches (${running}). Run "EM Lab: Collect Judge Batches" again later.`,
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`EM Lab: judging failed: ${errorText(err)}`);
  }
}

/** Answers files with running judge batches, kept in workspace state so a restarted VS Code can collect them. */
const BATCH_FILES_KEY = 'emLab.judgeBatchFiles';

async function rememberBatches(deps: HostDeps, answersPath: string, running: boolean): Promise<void> {
  const files = deps.context.workspaceState.get<string[]>(BATCH_FILES_KEY, []).filter((f) => f !== answersPath);
  await deps.context.workspaceState.update(BATCH_FILES_KEY, running ? [...files, answersPath] : files);
}

/** "Collect Judge Batches": the answers files with running batches (or any file), merged when their batches ended. */
async function collectBatches(deps: HostDeps, panel: JudgePanel, arg: unknown): Promise<void> {
  let answersPath = pathArg(arg);
  if (!answersPath) {
    const files = deps.context.workspaceState.get<string[]>(BATCH_FILES_KEY, []);
    const browse = { label: '$(folder-opened) Browse…', path: '' };
    const choice = await vscode.window.showQuickPick([...files.map((f) => ({ label: vscode.workspace.asRelativePath(f), path: f })), browse], { title: 'EM Lab: Collect Judge Batches', placeHolder: files.length ? 'Answers whose judge batches to collect' : 'No batches remembered in this workspace: pick the answers file you submitted' });
    if (!choice) return;
    answersPath = choice.path || (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Answers (generations.jsonl, model_generations.csv)': ['jsonl', 'csv'] }, title: 'Collect judge batches of' }))?.[0]?.fsPath;
  }
  if (answersPath) await judgeGenerations(deps, panel, answersPath, true);
}

/** Where a checkpoint's answers go: <run>/eval/<checkpoint>/ for run checkpoints, else a new folder in the runs dir. */
function evalDirFor(deps: HostDeps, adapter: string | undefined): string {
  const m = adapter ? /^(.*)[\\/](?:checkpoints[\\/](step-\d+)|(adapter))[\\/]?$/.exec(adapter) : null;
  if (m) return `${m[1]}/eval/${m[2] ?? m[3]}`;
  return `${deps.runsDir()}/eval-${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

/** "Evaluate" a model or checkpoint: the preset's answers from the local engine, then judge them if the user wants. */
async function generateAnswers(deps: HostDeps, panel: JudgePanel, arg: unknown): Promise<void> {
  const ref = typeof arg === 'object' && arg !== null ? (arg as { model?: unknown; adapter?: unknown }) : {};
  const model = typeof ref.model === 'string' && ref.model ? ref.model : await vscode.window.showInputBox({ title: 'EM Lab: Generate Evaluation Answers', prompt: 'Model: tiny-llama, a model folder, or a downloaded Hub id', value: 'tiny-llama' });
  if (!model) return;
  const adapter = typeof ref.adapter === 'string' && ref.adapter ? ref.adapter : undefined;
  const preset = await vscode.window.showQuickPick(
    [
      { label: 'homework', description: 'the grader\'s 20 questions from your homework checkout, generated as its generate.py (model_generations.csv)' },
      { label: 'em-lab', description: 'EM Lab\'s own 10 medical + 10 general questions, 1 sample each, 200 new tokens' },
      { label: 'paper', description: '8 free-form questions x 50 samples, 600 new tokens' },
    ],
    { title: `Evaluate ${adapter ?? model}` },
  );
  if (!preset) return;
  const outDir = evalDirFor(deps, adapter);
  try {
    const homeworkDir = workspaceFolder();
    const r = await withRuntimeProgress(deps.runtime, 'EM Lab: Generating evaluation answers', 'eval/generate', { model, ...(adapter ? { adapter } : {}), preset: preset.label as 'homework' | 'em-lab' | 'paper', ...(homeworkDir ? { homeworkDir } : {}), outDir });
    deps.log.info(`Evaluation answers: ${r.answers} in ${r.generationsPath} (${r.fromRunFile} from an earlier run, ${r.failed} failed).`);
    const next = await vscode.window.showInformationMessage(`EM Lab: ${r.answers} answers written to ${r.outDir}.`, 'Judge Them', 'Open model_generations.csv');
    if (next === 'Judge Them') await judgeGenerations(deps, panel, r.generationsPath);
    else if (next === 'Open model_generations.csv') await vscode.window.showTextDocument(vscode.Uri.file(r.csvPath));
  } catch (err) {
    void vscode.window.showErrorMessage(`EM Lab: generating answers failed: ${errorText(err)} Answers made so far are kept in ${outDir}; run it again to continue.`);
  }
}

export function activateJudgeResults(deps: HostDeps): vscode.Disposable {
  const panel = new JudgePanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.openJudgeResults', (arg?: unknown, base?: unknown) => panel.open(pathArg(arg), pathArg(base))),
    vscode.commands.registerCommand('emLab.judgeAnswers', (arg?: unknown) => judgeGenerations(deps, panel, arg)),
    vscode.commands.registerCommand('emLab.collectJudgeBatches', (arg?: unknown) => collectBatches(deps, panel, arg)),
    vscode.commands.registerCommand('emLab.generateAnswers', (arg?: unknown) => generateAnswers(deps, panel, arg)),
  );
}
