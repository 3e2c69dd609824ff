// Composition root: builds the host services and calls one activateX(deps) per feature. Nothing else lives here.
import * as vscode from 'vscode';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('EM Lab', { log: true });
  context.subscriptions.push(log);
  log.info('EM Lab activated');
}

export function deactivate(): void {
  // Disposables registered on context.subscriptions stop the runtime process.
}
