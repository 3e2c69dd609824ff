// Composition root: builds the host services and calls one activateX(deps) per feature. Nothing else lives here.
import * as vscode from 'vscode';
import type { HostDeps } from './host/deps';
import { RuntimeClient } from './host/runtimeClient';
import { SecretStore } from './host/secrets';
import { defaultRunsDir, firstWorkspaceFolder } from './host/runsDir';
import { activateRuntimeControls } from './host/runtimeControls';
import { activateSecretCommands } from './host/secretCommands';
import { activateDoctor } from './views/doctor/doctorPanel';
import { activateCudaCommands } from './host/cudaCommands';
import { activateDatasets } from './views/datasets/activateDatasets';
import { activateChatSandbox } from './views/chat/chatPanel';
import { activateJudgeResults } from './views/judge/judgePanel';
import { activateTraining } from './views/training/trainingPanel';
import { activateNewExperiment } from './views/experiment/newExperimentPanel';
import { activateReport } from './views/report/reportPanel';
import { activateGridTree } from './views/grids/gridTree';
import { activateHomeworkCommand } from './host/homeworkCommand';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('EM Lab', { log: true });
  const secrets = new SecretStore(context.secrets);
  const runtime = new RuntimeClient({ context, log, secrets, cwd: firstWorkspaceFolder });
  context.subscriptions.push(log, secrets, runtime);
  const deps: HostDeps = {
    context,
    runtime,
    log,
    getSecret: (name) => secrets.get(name),
    runsDir: () => defaultRunsDir(context),
  };

  // One line per feature.
  context.subscriptions.push(activateRuntimeControls(deps, runtime));
  context.subscriptions.push(activateSecretCommands(deps, secrets));
  context.subscriptions.push(activateDoctor(deps));
  context.subscriptions.push(activateCudaCommands(deps));
  context.subscriptions.push(activateDatasets(deps));
  context.subscriptions.push(activateChatSandbox(deps));
  context.subscriptions.push(activateJudgeResults(deps));
  context.subscriptions.push(activateTraining(deps));
  context.subscriptions.push(activateNewExperiment(deps));
  context.subscriptions.push(activateReport(deps));
  context.subscriptions.push(activateGridTree(deps));
  context.subscriptions.push(activateHomeworkCommand(deps));
  log.info('EM Lab activated');
}

export function deactivate(): void {
  // Disposables registered on context.subscriptions stop the runtime process (RuntimeClient.dispose kills its tree).
}
