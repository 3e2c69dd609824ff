// "EM Lab: Set Up CUDA": installs the CUDA provider libraries (NuGet download or a downloaded package / folder)
// through the runtime's cuda/setup, with progress and cancel, then shows what is still missing.
import * as vscode from 'vscode';
import type { HostDeps } from './deps';
import type { CudaSetupParams, CudaSetupResult } from '../protocol/cudaMethods';
import { errorText } from './errorText';

const DOWNLOAD = 'Download from NuGet';
const FROM_FILE = 'Use a downloaded package (.nupkg) or folder...';
const CHECK = 'Only check what is installed';

async function chooseSource(): Promise<CudaSetupParams | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: DOWNLOAD, detail: 'Microsoft.ML.OnnxRuntime.Gpu.Linux matching onnxruntime-node (several hundred MB).' },
      { label: FROM_FILE, detail: 'Where NuGet is unreachable: a .nupkg you downloaded elsewhere, its extracted folder, or a folder with the two provider .so files.' },
      { label: CHECK, detail: 'List the CUDA / cuDNN libraries the installed provider cannot find.' },
    ],
    { title: 'EM Lab: Set Up CUDA', ignoreFocusOut: true },
  );
  if (!pick) return undefined;
  if (pick.label === CHECK) return { checkOnly: true };
  if (pick.label === DOWNLOAD) return {};
  const uris = await vscode.window.showOpenDialog({
    title: 'CUDA provider package (.nupkg) or folder',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    filters: { 'NuGet package': ['nupkg', 'zip'], 'All files': ['*'] },
  });
  return uris?.[0] ? { from: uris[0].fsPath } : undefined;
}

/** The message shown after setup (exported for tests: pure text). */
export function setupSummary(result: CudaSetupResult): string {
  if (result.ready) return `EM Lab: CUDA is ready (provider libraries in ${result.targetDir}). Choose device "cuda" to train and generate on the GPU.`;
  const names = result.missing.map((m) => m.soname).join(', ');
  return `EM Lab: CUDA provider installed, but ${result.missing.length} librar${result.missing.length === 1 ? 'y is' : 'ies are'} missing: ${names}. See the log for how to install each.`;
}

export function activateCudaCommands(deps: HostDeps): vscode.Disposable {
  return vscode.commands.registerCommand('emLab.setupCuda', async () => {
    const params = await chooseSource();
    if (!params) return;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'EM Lab: Setting up CUDA', cancellable: true },
        (progress, token) => {
          let last = 0;
          return deps.runtime.request('cuda/setup', params, {
            token,
            timeoutMs: 0, // a download of several hundred MB: progress notifications instead of a timeout
            onProgress: (p) => {
              const increment = p.fraction !== undefined ? Math.max(0, p.fraction * 100 - last) : undefined;
              if (p.fraction !== undefined) last = p.fraction * 100;
              progress.report({ ...(p.message ? { message: p.message } : {}), ...(increment !== undefined ? { increment } : {}) });
            },
          });
        },
      );
      deps.log.info(`CUDA setup (onnxruntime-node ${result.ortVersion})${result.installedFrom ? `: installed from ${result.installedFrom}` : ''}`);
      for (const line of result.report) deps.log.info(line);
      if (result.ready) void vscode.window.showInformationMessage(setupSummary(result));
      else if ((await vscode.window.showWarningMessage(setupSummary(result), 'Show Log')) === 'Show Log') deps.log.show();
    } catch (err) {
      deps.log.error(`CUDA setup failed: ${errorText(err)}`);
      if ((await vscode.window.showErrorMessage(`EM Lab: CUDA setup failed: ${errorText(err)}`, 'Show Log')) === 'Show Log') deps.log.show();
    }
  });
}
