// What every host-side feature gets from the composition root (src/extension.ts).
import type * as vscode from 'vscode';
import type { RuntimeMethods, RuntimeNotifications } from '../protocol/methods';

export interface RequestOptions {
  token?: vscode.CancellationToken;
  /** Default 60 s; long jobs pass a larger value or 0 for none (they report progress instead). */
  timeoutMs?: number;
  onProgress?: (p: RuntimeNotifications['progress']) => void;
}

/** The runtime process, as seen by features. Implemented by src/host/runtimeClient.ts. */
export interface RuntimeApi {
  request<K extends keyof RuntimeMethods>(method: K, params: RuntimeMethods[K][0], options?: RequestOptions): Promise<RuntimeMethods[K][1]>;
  onNotification<K extends keyof RuntimeNotifications>(method: K, listener: (params: RuntimeNotifications[K]) => void): vscode.Disposable;
}

export type SecretName = 'OPENAI_API_KEY' | 'HF_TOKEN';

export interface HostDeps {
  context: vscode.ExtensionContext;
  runtime: RuntimeApi;
  log: vscode.LogOutputChannel;
  /** Secret from SecretStorage (wins) or undefined; the runtime reads .env itself. */
  getSecret(name: SecretName): Promise<string | undefined>;
  /** Folder where runs, evaluations and generated models are written (workspace `em-lab-runs/` or global storage). */
  runsDir(): string;
}
