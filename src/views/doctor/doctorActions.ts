// What each fix-it button does. The allowlist is FIX_ACTIONS (protocol/envMethods.ts): anything else is refused
// before it gets here. Paths come from the host's own last report, never from the webview.
import * as vscode from 'vscode';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { FIX_ACTIONS, type DoctorReport, type FixAction } from '../../protocol/envMethods';

export function isFixAction(value: unknown): value is FixAction {
  return typeof value === 'string' && (FIX_ACTIONS as readonly string[]).includes(value);
}

const DOTENV_TEMPLATE = [
  '# EM Lab reads this file like python-dotenv (see docs/secrets.md). Never commit it: list .env in .gitignore.',
  '# Keys stored with "EM Lab: Set OpenAI API Key" / "Set Hugging Face Token" take precedence over this file.',
  '# OPENAI_API_KEY=sk-...',
  '# HF_TOKEN=hf_...',
  '',
].join('\n');

async function runCommand(id: string, what: string): Promise<void> {
  const all = await vscode.commands.getCommands(true);
  if (!all.includes(id)) {
    void vscode.window.showWarningMessage(`EM Lab: ${what} is not available in this build (command ${id} is missing).`);
    return;
  }
  await vscode.commands.executeCommand(id);
}

/** Opens the .env the doctor found, or creates a commented template in the first workspace folder. */
async function openDotenv(report: DoctorReport | undefined): Promise<boolean> {
  let path = report?.dotenvPath;
  if (!path) {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showWarningMessage('EM Lab: open a folder first; .env is looked up from the workspace folder upwards.');
      return false;
    }
    path = join(folder.uri.fsPath, '.env');
    if (!existsSync(path)) writeFileSync(path, DOTENV_TEMPLATE, { flag: 'wx', mode: 0o600 });
  }
  await vscode.window.showTextDocument(vscode.Uri.file(path));
  return true;
}

/** Runs one fix action; returns whether the checks should run again afterwards. */
export async function runFixAction(action: FixAction, deps: HostDeps, report: DoctorReport | undefined): Promise<boolean> {
  switch (action) {
    case 'setOpenAiKey':
      await runCommand('emLab.setOpenAiKey', 'Setting the OpenAI API key');
      return true;
    case 'setHfToken':
      await runCommand('emLab.setHfToken', 'Setting the Hugging Face token');
      return true;
    case 'openDotenv':
      await openDotenv(report);
      return false;
    case 'getTrainingData':
      await runCommand('emLab.getTrainingData', 'Getting the training data');
      return true;
    case 'setupCuda':
      await runCommand('emLab.setupCuda', 'Setting up CUDA');
      return true;
    case 'showLog':
      deps.log.show();
      return false;
  }
}
