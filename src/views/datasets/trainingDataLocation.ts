// Where the training data lives for this window: the first workspace folder, else the extension's global storage
// (so "Get Training Data" works without a folder open). Settings can point the browser elsewhere.
import * as vscode from 'vscode';
import { join, resolve } from 'node:path';

export const DEFAULT_ARCHIVE_URL = 'https://github.com/clarifying-EM/model-organisms-for-EM/raw/main/em_organism_dir/data/training_datasets.zip.enc';
export const DEFAULT_PASSWORD = 'model-organisms-em-datasets';

export function trainingDataRoot(context: vscode.ExtensionContext): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.globalStorageUri.fsPath;
}

export function archivePath(context: vscode.ExtensionContext): string {
  return join(trainingDataRoot(context), 'training_data', 'training_datasets.zip.enc');
}

/** The folder the browser and sidebar list: setting `emLab.datasets.folder`, else `<archive>.extracted`. */
export function datasetsFolder(context: vscode.ExtensionContext): string {
  const configured = vscode.workspace.getConfiguration('emLab').get<string>('datasets.folder')?.trim();
  if (configured) return resolve(trainingDataRoot(context), configured); // absolute, or relative to the workspace
  return `${archivePath(context)}.extracted`;
}
