// "EM Lab: New Experiment": a form (media/experiment) for the base model, training data, preset, evaluation
// questions and judge. It writes experiment.json through the runtime (experiment/create, the same function as
// `em-lab experiment new`) and starts the staged runner (experiment/run); the Experiments view then shows the
// stages. Webview requests are untrusted: shapes are checked here, files come from VS Code's dialogs.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { judgeDefaults } from '../../host/judgeSettings';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams, obj, oneOf } from '../../host/viewParams';
import { ViewPanel } from '../../host/webviewChannel';
import type { NewExperimentInit, NewExperimentMethods, NewExperimentNotifications } from '../../protocol/experimentViewMethods';
import { parseChoices } from './newExperimentChoices';
import { datasetsFolder, trainingDataRoot } from '../datasets/trainingDataLocation';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class NewExperimentPanel implements vscode.Disposable {
  private view: ViewPanel<NewExperimentMethods, NewExperimentNotifications> | undefined;
  private select: NewExperimentInit['select'];

  constructor(private readonly deps: HostDeps) {}

  open(select?: NewExperimentInit['select']): void {
    this.select = select;
    if (this.view) return this.view.reveal();
    this.view = new ViewPanel(this.deps, { viewType: 'emLab.newExperiment', title: 'EM Lab: New Experiment', bundle: 'experiment', styles: ['common.css', 'experiment/experiment.css'], handlers: this.handlers }, () => (this.view = undefined));
  }

  private async hasOpenAiKey(): Promise<boolean> {
    return !!((await this.deps.getSecret('OPENAI_API_KEY')) || process.env.OPENAI_API_KEY);
  }

  private readonly handlers: ViewHandlers<NewExperimentMethods> = {
    'newExperiment/init': {
      parse: noParams,
      run: async () => {
        const dir = datasetsFolder(this.deps.context);
        const [presets, list] = await Promise.all([
          this.deps.runtime.request('experiment/presets', {}),
          this.deps.runtime.request('data/list', { dir, workspaceDir: trainingDataRoot(this.deps.context) }).catch(() => ({ dir, datasets: [] })),
        ]);
        const judge = judgeDefaults();
        return {
          ...presets,
          datasets: list.datasets.map((d) => ({ id: d.id, label: d.label, rows: d.rows, harmful: d.harmful })),
          dataDir: list.dir,
          experimentsDir: this.deps.runsDir(),
          judge: { model: judge.model, ...(judge.baseUrl ? { baseUrl: judge.baseUrl } : {}) },
          hasOpenAiKey: await this.hasOpenAiKey(),
          ...(this.select ? { select: this.select } : {}),
        };
      },
    },
    'newExperiment/create': {
      parse: parseChoices,
      run: async (c) => {
        const workspaceDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        let created;
        try {
          created = await this.deps.runtime.request('experiment/create', {
            preset: c.preset,
            experimentsDir: this.deps.runsDir(),
            ...(c.name ? { name: c.name } : {}),
            ...(c.description ? { description: c.description } : {}),
            model: c.model,
            data: { domains: c.domains, files: c.files, dataDir: datasetsFolder(this.deps.context) },
            questions: c.questions,
            judge: c.judge,
            ...(workspaceDir ? { workspaceDir } : {}),
          });
        } catch (err) {
          // The runtime words this one for the terminal (--force); in the form, the field to change is the name.
          if (isObject(err) && err.code === 'experiment-exists') throw new Error(`Name: an experiment called "${c.name ?? ''}" already exists in ${this.deps.runsDir()}. Choose another name, or run the existing one from the Experiments view.`);
          throw err;
        }
        this.deps.log.info(`New experiment: ${created.file}`);
        if (c.run) await vscode.commands.executeCommand('emLab.runExperiment', { dir: created.dir });
        await vscode.commands.executeCommand('emLab.experiments.focus');
        void vscode.commands.executeCommand('emLab.refreshExperiment');
        this.view?.dispose();
        return { dir: created.dir, file: created.file, started: c.run };
      },
    },
    'newExperiment/pick': {
      parse: (raw) => ({ kind: oneOf(obj(raw).kind, 'kind', ['model', 'data', 'questions'] as const) }),
      run: async ({ kind }) => {
        const picked = await vscode.window.showOpenDialog(
          kind === 'model'
            ? { canSelectFiles: false, canSelectFolders: true, openLabel: 'Use this model folder', title: 'A Hugging Face model folder (config.json, safetensors, tokenizer)' }
            : kind === 'data'
              ? { canSelectMany: false, filters: { 'Chat JSONL': ['jsonl'] }, openLabel: 'Train on this file' }
              : { canSelectMany: false, filters: { 'Question file': ['yaml', 'yml', 'csv', 'txt', 'py'] }, openLabel: 'Ask these questions' },
        );
        return picked?.[0] ? { path: picked[0].fsPath } : {};
      },
    },
    'newExperiment/setKey': {
      parse: noParams,
      run: async () => {
        await vscode.commands.executeCommand('emLab.setOpenAiKey');
        return { hasOpenAiKey: await this.hasOpenAiKey() };
      },
    },
  };

  dispose(): void {
    this.view?.dispose();
  }
}

export function activateNewExperiment(deps: HostDeps): vscode.Disposable {
  const panel = new NewExperimentPanel(deps);
  return vscode.Disposable.from(
    panel,
    vscode.commands.registerCommand('emLab.newExperiment', (arg?: unknown) => {
      // From the Datasets view ("New Experiment" on a dataset) or a walkthrough link with arguments.
      const o = isObject(arg) ? arg : {};
      const dataset = isObject(o.dataset) && typeof o.dataset.id === 'string' ? o.dataset.id : typeof o.dataset === 'string' ? o.dataset : undefined;
      panel.open({ ...(dataset ? { domains: [dataset] } : {}), ...(typeof o.model === 'string' ? { model: o.model } : {}) });
    }),
    vscode.commands.registerCommand('emLab.openWalkthrough', () => vscode.commands.executeCommand('workbench.action.openWalkthrough', `${deps.context.extension.id}#gettingStarted`, false)),
  );
}
