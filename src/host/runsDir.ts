// Where runs, evaluations and generated models are written: `em-lab-runs/` in the first workspace folder (so
// they sit next to the user's project and the CLI finds them), else the extension's global storage.
import * as vscode from 'vscode';
import { join } from 'node:path';
import { RUNS_FOLDER } from '../protocol/trainMethods';

export function defaultRunsDir(context: vscode.ExtensionContext): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return join(folder ? folder.uri.fsPath : context.globalStorageUri.fsPath, RUNS_FOLDER);
}

export function firstWorkspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}
