// RuntimeApi for the extension: the vscode wrapper around RuntimeConnection (which holds the transport logic and
// is tested against the real runtime). Adds: CancellationToken -> cancel, runtime output -> the EM Lab log,
// secrets from SecretStorage into the child's environment, vscode events for the status bar.
import * as vscode from 'vscode';
import type { RequestOptions, RuntimeApi } from './deps';
import type { RuntimeMethods, RuntimeNotifications } from '../protocol/methods';
import type { InitializeResult } from '../protocol/rpc';
import { RuntimeConnection, type RuntimeExit, type RuntimeState } from './runtimeConnection';
import { buildRuntimeEnv } from './runtimeEnv';
import type { SecretStore } from './secrets';

export interface RuntimeClientOptions {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  secrets: SecretStore;
  /** Working directory of the runtime (the first workspace folder, where .env lookup starts). */
  cwd(): string | undefined;
}

export class RuntimeClient implements RuntimeApi, vscode.Disposable {
  private readonly connection: RuntimeConnection;
  private readonly stateEmitter = new vscode.EventEmitter<RuntimeState>();
  private readonly exitEmitter = new vscode.EventEmitter<RuntimeExit>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidExit = this.exitEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** The child's environment is fixed at fork: a changed secret applies after the next (re)start. */
  private envStale = false;
  /** A stop in progress for new secrets: requests wait for it, then start a runtime with the new environment. */
  private envSwitch: Promise<void> | undefined;

  constructor(private readonly o: RuntimeClientOptions) {
    const { context, log } = o;
    this.connection = new RuntimeConnection({
      runtimePath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'runtime.mjs').fsPath,
      env: async () => buildRuntimeEnv(process.env, await o.secrets.all()),
      cwd: o.cwd(),
      // No storageDir: the runtime uses the CLI's ($EM_LAB_STORAGE or ~/.em-lab on the machine it runs on), so models
      // and caches are shared with `em-lab` in a terminal there (src/runtime/storage.ts).
      onOutput: (stream, line) => (stream === 'stderr' ? log.warn(`[runtime] ${line}`) : log.info(`[runtime] ${line}`)),
    });
    const offState = this.connection.onState((s) => {
      this.stateEmitter.fire(s);
      if (s === 'idle' && this.envStale) void this.applyNewEnvironment();
    });
    const offExit = this.connection.onExit((e) => {
      if (!e.expected) log.error(`EM Lab runtime exited (${e.signal ?? `code ${e.code}`})${e.willRestart ? '; restarting' : ''}. Last stderr lines:\n${e.stderrTail}`);
      this.exitEmitter.fire(e);
    });
    const offLog = this.connection.onNotification('log', (p) => log[p.level](`[runtime] ${p.message}`));
    this.disposables.push(
      { dispose: offState },
      { dispose: offExit },
      { dispose: offLog },
      o.secrets.onDidChange(() => {
        this.envStale = true;
        void this.applyNewEnvironment();
      }),
    );
  }

  get state(): RuntimeState {
    return this.connection.state;
  }

  get pendingCount(): number {
    return this.connection.pendingCount;
  }

  get pid(): number | undefined {
    return this.connection.pid;
  }

  async request<K extends keyof RuntimeMethods>(method: K, params: RuntimeMethods[K][0], options: RequestOptions = {}): Promise<RuntimeMethods[K][1]> {
    const controller = new AbortController();
    const sub = options.token?.onCancellationRequested(() => controller.abort());
    if (options.token?.isCancellationRequested) controller.abort();
    try {
      await this.envSwitch;
      return await this.connection.request(method, params, { signal: controller.signal, timeoutMs: options.timeoutMs, onProgress: options.onProgress });
    } finally {
      sub?.dispose();
    }
  }

  onNotification<K extends keyof RuntimeNotifications>(method: K, listener: (params: RuntimeNotifications[K]) => void): vscode.Disposable {
    return { dispose: this.connection.onNotification(method, listener) };
  }

  start(): Promise<InitializeResult> {
    this.envStale = false;
    return this.connection.start();
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }

  restart(): Promise<InitializeResult> {
    this.envStale = false;
    return this.connection.restart();
  }

  /** Stops an idle runtime so the next request starts one with the new secrets; a busy one is left to finish. */
  private async applyNewEnvironment(): Promise<void> {
    const s = this.connection.state;
    if (s === 'stopped' || s === 'crashed') {
      this.envStale = false; // the next start reads the secrets afresh
      return;
    }
    if (s !== 'idle') return; // retried when it becomes idle
    this.envStale = false;
    this.o.log.info('EM Lab: secrets changed; stopping the idle runtime so the next request uses them.');
    this.envSwitch = this.connection.stop().finally(() => {
      this.envSwitch = undefined;
    });
    await this.envSwitch;
  }

  dispose(): void {
    this.connection.dispose();
    for (const d of this.disposables) d.dispose();
    this.stateEmitter.dispose();
    this.exitEmitter.dispose();
  }
}
