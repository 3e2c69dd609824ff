// A long runtime request shown as a cancellable notification: the runtime's progress notifications drive the bar
// (ORT work reports fractions 0..1; VS Code wants increments), Cancel sends `cancel`, and there is no timeout
// because the job reports progress instead.
import * as vscode from 'vscode';
import type { RuntimeMethods } from '../protocol/methods';
import type { RuntimeApi } from './deps';

export function withRuntimeProgress<K extends keyof RuntimeMethods>(runtime: RuntimeApi, title: string, method: K, params: RuntimeMethods[K][0]): Promise<RuntimeMethods[K][1]> {
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      let last = 0;
      return runtime.request(method, params, {
        token,
        timeoutMs: 0,
        onProgress: (p) => {
          const pct = (p.fraction ?? 0) * 100;
          progress.report({ message: p.message, increment: Math.max(0, pct - last) });
          last = Math.max(last, pct);
        },
      });
    }),
  );
}
