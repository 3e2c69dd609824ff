// "EM Lab: Get Training Data": download the public archive if it is missing (URL from settings), then decrypt
// it natively into training_data/training_datasets.zip.enc.extracted/ with canaries removed. Offline or blocked:
// say exactly where to put the file by hand.
import * as vscode from 'vscode';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostDeps } from '../../host/deps';
import { errorText } from '../../host/errorText';
import { archivePath, DEFAULT_ARCHIVE_URL, DEFAULT_PASSWORD } from './trainingDataLocation';
import { withRuntimeProgress } from '../../host/withRuntimeProgress';

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function download(deps: HostDeps, url: string, destination: string): Promise<boolean> {
  try {
    await withRuntimeProgress(deps.runtime, 'EM Lab: Downloading the training data', 'data/download', { url, destination });
    return true;
  } catch (err) {
    deps.log.warn(`Training data download failed: ${errorText(err)}`);
    if (errorCode(err) === 'cancelled') return false;
    const choice = await vscode.window.showErrorMessage(errorText(err), 'Open Folder', 'Copy URL');
    if (choice === 'Open Folder') {
      mkdirSync(dirname(destination), { recursive: true });
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dirname(destination)));
    } else if (choice === 'Copy URL') await vscode.env.clipboard.writeText(url);
    return false;
  }
}

export async function getTrainingData(deps: HostDeps): Promise<void> {
  const config = vscode.workspace.getConfiguration('emLab');
  const url = config.get<string>('trainingData.archiveUrl') || DEFAULT_ARCHIVE_URL;
  const password = config.get<string>('trainingData.password') || DEFAULT_PASSWORD;
  const archive = archivePath(deps.context);
  const extracted = `${archive}.extracted`;

  if (!existsSync(archive)) {
    const choice = await vscode.window.showInformationMessage(
      `The EM training data archive is not at ${archive}. Download it (about 5 MB, encrypted) from the public repository?`,
      { modal: true, detail: `From ${url}. You can also save the file there yourself.` },
      'Download',
    );
    if (choice !== 'Download') return;
    if (!(await download(deps, url, archive))) return;
  }
  let overwrite = false;
  if (existsSync(extracted) && readdirSync(extracted).length > 0) {
    const choice = await vscode.window.showInformationMessage(`The training data is already decrypted in ${extracted}.`, 'Open Dataset Browser', 'Decrypt Again');
    if (choice === 'Open Dataset Browser') return void vscode.commands.executeCommand('emLab.openDatasetBrowser');
    if (choice !== 'Decrypt Again') return;
    overwrite = true;
  }
  try {
    const result = await withRuntimeProgress(deps.runtime, 'EM Lab: Decrypting the training data', 'data/unprotect', { archivePath: archive, password, removeCanaries: true, gitignore: true, overwrite });
    const datasets = result.files.filter((f) => f.path.endsWith('.jsonl')).length;
    deps.log.info(`Decrypted ${result.files.length} files into ${result.outputDir}${result.gitignoreUpdated ? ` (added to ${result.gitignoreUpdated})` : ''}.`);
    const open = await vscode.window.showInformationMessage(`EM Lab: decrypted ${datasets} datasets into ${result.outputDir}.`, 'Open Dataset Browser');
    if (open) await vscode.commands.executeCommand('emLab.openDatasetBrowser');
  } catch (err) {
    deps.log.warn(`Training data decryption failed: ${errorText(err)}`);
    if (errorCode(err) === 'cancelled') return;
    const actions = errorCode(err) === 'wrong-password' ? ['Open Settings'] : [];
    const choice = await vscode.window.showErrorMessage(errorText(err), ...actions);
    if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'emLab.trainingData.password');
  }
}

export function activateGetTrainingData(deps: HostDeps): vscode.Disposable {
  return vscode.commands.registerCommand('emLab.getTrainingData', () => getTrainingData(deps));
}
