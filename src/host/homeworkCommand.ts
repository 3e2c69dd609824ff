// "EM Lab: Get Homework Files": the public homework repository's files (questions, judge, base judgements,
// scripts) downloaded into the workspace folder, so the homework preset has the grader to read. Files already
// there are kept; offline, the runtime's error says how to get them by hand.
import * as vscode from 'vscode';
import type { HostDeps } from './deps';
import { errorText } from './errorText';
import { withRuntimeProgress } from './withRuntimeProgress';

async function getHomeworkFiles(deps: HostDeps): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage('EM Lab: open a folder first (File > Open Folder…): the homework files go into the workspace.');
    return;
  }
  try {
    const r = await withRuntimeProgress(deps.runtime, 'EM Lab: Downloading the homework files', 'eval/fetchHomework', { destination: folder });
    deps.log.info(`Homework files in ${r.dir}: written ${r.written.join(', ') || 'none'}; unchanged ${r.unchanged.length}; kept as yours ${r.kept.join(', ') || 'none'}; not in the repository ${r.missing.join(', ') || 'none'}.`);
    const kept = r.kept.length ? ` Kept your own ${r.kept.join(', ')}.` : '';
    void vscode.window.showInformationMessage(`EM Lab: homework files in ${r.dir} (${r.written.length} new).${kept} The homework preset now reads the grader from them.`);
  } catch (err) {
    void vscode.window.showErrorMessage(`EM Lab: ${errorText(err)}`);
  }
}

export function activateHomeworkCommand(deps: HostDeps): vscode.Disposable {
  return vscode.commands.registerCommand('emLab.getHomeworkFiles', () => getHomeworkFiles(deps));
}
