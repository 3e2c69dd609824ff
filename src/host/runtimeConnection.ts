// The host's end of the runtime process, without vscode (the runtime tests fork the real dist/runtime.mjs through
// this class; src/host/runtimeClient.ts wraps it for the extension). It owns: lazy start under a lock, the
// `initialize` handshake with a timeout, request ids from a counter, a timeout on every pending request, cancel by
// id, and crash semantics — an exit event once per process with the stderr tail, every pending request rejected
// with that tail, a capped auto-restart, and an idempotent dispose that kills the process tree.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PROTOCOL_VERSION, isRpcMessage, type InitializeResult, type RpcCancel, type RpcRequest } from '../protocol/rpc';
import type { RuntimeMethods, RuntimeNotifications } from '../protocol/methods';
import { forEachLine, LineTail } from './outputLines';
import { killTree } from './processTree';
import { RuntimeRequestError } from './runtimeErrors';

export type RuntimeState = 'stopped' | 'starting' | 'idle' | 'busy' | 'crashed';

export interface RuntimeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we stopped it (stop, restart, dispose, failed handshake); false for a crash. */
  expected: boolean;
  stderrTail: string;
  willRestart: boolean;
}

export interface ConnectionOptions {
  /** Path to dist/runtime.mjs. */
  runtimePath: string;
  /** The child's environment, evaluated at every start (secrets may have changed). Default: process.env. */
  env?: () => NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv>;
  cwd?: string;
  storageDir?: string;
  /** Only tests change this (to check that the runtime refuses a mismatch). */
  protocolVersion?: number;
  handshakeTimeoutMs?: number;
  /** Per-request timeout unless the call passes its own; 0 = none. */
  defaultTimeoutMs?: number;
  stderrTailLines?: number;
  /** Auto-restart after a crash at most maxRestarts times within restartWindowMs. */
  maxRestarts?: number;
  restartWindowMs?: number;
  restartDelayMs?: number;
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface ConnectionRequestOptions {
  signal?: AbortSignal;
  /** Milliseconds; default ConnectionOptions.defaultTimeoutMs (60 s); 0 = none. */
  timeoutMs?: number;
  onProgress?: (p: RuntimeNotifications['progress']) => void;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(err: RuntimeRequestError): void;
  onProgress?: (p: RuntimeNotifications['progress']) => void;
  cleanup(): void;
}

type Listener<T> = (value: T) => void;

function subscribe<T>(set: Set<Listener<T>>, listener: Listener<T>): () => void {
  set.add(listener);
  return () => set.delete(listener);
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

export class RuntimeConnection {
  private child: ChildProcess | undefined;
  private ready: InitializeResult | undefined;
  private starting: Promise<InitializeResult> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly stderrTail: LineTail;
  private crashTimes: number[] = [];
  /** Set when the crash cap is reached: lazy starts refuse until an explicit start()/restart(). */
  private blocked: RuntimeRequestError | undefined;
  private stopping = false;
  private disposed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private currentState: RuntimeState = 'stopped';
  private readonly stateListeners = new Set<Listener<RuntimeState>>();
  private readonly exitListeners = new Set<Listener<RuntimeExit>>();
  /** stop() callers waiting for the process to be gone (kept apart from listeners, which dispose clears). */
  private exitWaiters: (() => void)[] = [];
  private readonly notificationListeners = new Map<string, Set<Listener<unknown>>>();

  constructor(private readonly options: ConnectionOptions) {
    this.stderrTail = new LineTail(options.stderrTailLines ?? 50);
  }

  get state(): RuntimeState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.ready ? this.child?.pid : undefined;
  }

  /** Requests sent and not yet answered (the handshake excluded). */
  get pendingCount(): number {
    return [...this.pending.values()].filter((p) => p.method !== 'initialize').length;
  }

  onState(listener: Listener<RuntimeState>): () => void {
    return subscribe(this.stateListeners, listener);
  }

  onExit(listener: Listener<RuntimeExit>): () => void {
    return subscribe(this.exitListeners, listener);
  }

  onNotification<K extends keyof RuntimeNotifications>(method: K, listener: Listener<RuntimeNotifications[K]>): () => void {
    let set = this.notificationListeners.get(method);
    if (!set) this.notificationListeners.set(method, (set = new Set()));
    return subscribe(set, listener as Listener<unknown>);
  }

  /** Starts the runtime if needed (an explicit start also lifts the crash cap). Resolves after the handshake. */
  start(): Promise<InitializeResult> {
    this.blocked = undefined;
    return this.ensureStarted();
  }

  async stop(): Promise<void> {
    this.clearRestartTimer();
    const child = this.child;
    if (!child) {
      this.setState('stopped');
      return;
    }
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    // Graceful first: the runtime exits when its IPC channel disconnects. A worker stuck in a long
    // session.run() cannot be interrupted, so kill the tree after 3 s.
    if (child.connected) child.disconnect();
    const force = setTimeout(() => killTree(child, 'SIGKILL'), 3000);
    await closed;
    clearTimeout(force);
  }

  async restart(): Promise<InitializeResult> {
    await this.stop();
    this.crashTimes = [];
    return this.start();
  }

  async request<K extends keyof RuntimeMethods>(method: K, params: RuntimeMethods[K][0], options: ConnectionRequestOptions = {}): Promise<RuntimeMethods[K][1]> {
    if (options.signal?.aborted) throw new RuntimeRequestError('cancelled', `"${method}" was cancelled before it started.`);
    await this.ensureStarted();
    return (await this.send(method, params, options)) as RuntimeMethods[K][1];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearRestartTimer();
    this.rejectAll(new RuntimeRequestError('runtime-stopped', 'The EM Lab runtime was shut down (the extension is deactivating).'));
    const child = this.child;
    if (child) {
      this.stopping = true;
      killTree(child, 'SIGTERM');
      setTimeout(() => killTree(child, 'SIGKILL'), 2000).unref();
    }
    this.stateListeners.clear();
    this.exitListeners.clear();
    this.notificationListeners.clear();
  }

  private ensureStarted(): Promise<InitializeResult> {
    if (this.disposed) return Promise.reject(new RuntimeRequestError('runtime-stopped', 'The EM Lab runtime was shut down (the extension is deactivating).'));
    if (this.blocked) return Promise.reject(this.blocked);
    if (this.ready && this.child) return Promise.resolve(this.ready);
    this.starting ??= this.spawnAndHandshake().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async spawnAndHandshake(): Promise<InitializeResult> {
    this.clearRestartTimer();
    this.setState('starting');
    const env = (await this.options.env?.()) ?? process.env;
    if (this.disposed) throw new RuntimeRequestError('runtime-stopped', 'The EM Lab runtime was shut down while starting.');
    this.stderrTail.clear();
    this.stopping = false;
    if (!existsSync(this.options.runtimePath)) {
      this.setState('stopped');
      throw new RuntimeRequestError('runtime-missing', `The EM Lab runtime bundle ${this.options.runtimePath} is missing. Build it with \`npm run build\` (or reinstall the extension).`);
    }
    const child = fork(this.options.runtimePath, [], {
      env,
      cwd: this.options.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [], // not the parent's flags (the extension host's inspector, a test runner's loader)
      serialization: 'advanced', // structured clone: typed arrays cross without JSON
      detached: process.platform !== 'win32', // own process group, so the tree can be killed
    });
    this.child = child;
    const outputEnded = Promise.all([
      forEachLine(child.stdout, (line) => this.options.onOutput?.('stdout', line)),
      forEachLine(child.stderr, (line) => {
        this.stderrTail.push(line);
        this.options.onOutput?.('stderr', line);
      }),
    ]);
    child.on('message', (message: unknown) => this.onMessage(message));
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (gone) return;
      gone = true;
      this.onChildGone(child, code, signal);
    };
    child.on('error', (err) => {
      this.stderrTail.push(`failed to start or signal the runtime process: ${err.message}`);
      if (child.pid === undefined) onGone(null, null);
    });
    // Not 'close': Node does not emit it after the parent disconnects the IPC channel (checked on Node 20).
    // Wait for stdout/stderr to end instead (at most 1 s: a grandchild may hold them) so the tail is complete.
    child.on('exit', (code, signal) => {
      const grace = new Promise((resolve) => setTimeout(resolve, 1000).unref());
      void Promise.race([outputEnded, grace]).then(() => onGone(code, signal));
    });

    const timeoutMs = this.options.handshakeTimeoutMs ?? 20_000;
    try {
      const result = (await this.send('initialize', { protocolVersion: this.options.protocolVersion ?? PROTOCOL_VERSION, storageDir: this.options.storageDir }, { timeoutMs })) as InitializeResult;
      if (this.child !== child) throw new RuntimeRequestError('runtime-stopped', 'The EM Lab runtime was stopped while starting.');
      this.ready = result;
      this.setState(this.pendingCount > 0 ? 'busy' : 'idle');
      return result;
    } catch (err) {
      // A refused or timed-out handshake is not a crash to auto-restart: the same build would fail again.
      if (this.child === child) {
        this.stopping = true;
        killTree(child, 'SIGKILL');
      }
      const e = err instanceof RuntimeRequestError ? err : new RuntimeRequestError('internal', String(err));
      if (e.code === 'timeout') {
        throw new RuntimeRequestError('handshake-timeout', `The EM Lab runtime did not answer the handshake within ${timeoutMs / 1000} s. Check the EM Lab log (EM Lab: Show Log) for its output.`, this.stderrTail.text());
      }
      throw e;
    }
  }

  private send(method: string, params: unknown, options: ConnectionRequestOptions): Promise<unknown> {
    const child = this.child;
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      if (!child?.connected) {
        reject(new RuntimeRequestError('runtime-stopped', `The EM Lab runtime is not running, so "${method}" was not sent. Run "EM Lab: Start Runtime".`, this.stderrTail.text()));
        return;
      }
      const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 60_000;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.settle(id)?.reject(new RuntimeRequestError('timeout', `"${method}" got no answer from the EM Lab runtime within ${timeoutMs / 1000} s, so it was cancelled. If the job is just slow, pass a longer timeout; otherwise check the EM Lab log.`));
              this.sendCancel(id);
            }, timeoutMs)
          : undefined;
      const onAbort = () => {
        this.settle(id)?.reject(new RuntimeRequestError('cancelled', `"${method}" was cancelled.`));
        this.sendCancel(id);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        method,
        resolve,
        reject,
        onProgress: options.onProgress,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      });
      this.updateBusy();
      const request: RpcRequest = { kind: 'request', id, method, params };
      child.send(request, (err) => {
        if (err) this.settle(id)?.reject(new RuntimeRequestError('runtime-stopped', `Could not send "${method}" to the EM Lab runtime: ${err.message}.`, this.stderrTail.text()));
      });
    });
  }

  /** Removes a pending request (once) and returns it, so exactly one of response/timeout/cancel/crash wins. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.cleanup();
    this.updateBusy();
    return p;
  }

  private sendCancel(id: number): void {
    const child = this.child;
    if (child?.connected) child.send({ kind: 'cancel', id } satisfies RpcCancel, () => undefined);
  }

  private onMessage(message: unknown): void {
    if (!isRpcMessage(message)) return;
    if (message.kind === 'response') {
      const p = this.settle(message.id);
      if (!p) return; // answered after a timeout or cancel: nobody waits any more
      if (message.error) p.reject(new RuntimeRequestError(message.error.code, message.error.message, undefined, message.error.data));
      else p.resolve(message.result);
      return;
    }
    if (message.kind === 'notification') {
      if (message.method === 'progress') {
        const progress = message.params as RuntimeNotifications['progress'];
        this.pending.get(progress.requestId)?.onProgress?.(progress);
      }
      for (const listener of this.notificationListeners.get(message.method) ?? []) listener(message.params);
    }
  }

  private onChildGone(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.ready = undefined;
    const expected = this.stopping || this.disposed;
    const tail = this.stderrTail.text();
    const running = [...this.pending.values()].map((p) => `"${p.method}"`).join(', ');
    this.rejectAll(
      expected
        ? new RuntimeRequestError('runtime-stopped', `The EM Lab runtime was stopped while ${running || 'a request'} was running; run it again.`, tail)
        : new RuntimeRequestError('runtime-crashed', `The EM Lab runtime exited unexpectedly (${describeExit(code, signal)}) while running ${running || 'a request'}.${tail ? `\nLast stderr lines:\n${tail}` : ''}`, tail),
    );
    let willRestart = false;
    if (!expected) {
      const now = Date.now();
      const windowMs = this.options.restartWindowMs ?? 180_000;
      this.crashTimes = [...this.crashTimes.filter((t) => now - t < windowMs), now];
      const maxRestarts = this.options.maxRestarts ?? 3;
      if (this.crashTimes.length <= maxRestarts) {
        willRestart = true;
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.ensureStarted().catch(() => undefined); // a failure shows up as another exit event
        }, this.options.restartDelayMs ?? 1000);
      } else {
        this.blocked = new RuntimeRequestError(
          'runtime-crashed',
          `The EM Lab runtime crashed ${this.crashTimes.length} times within ${Math.round(windowMs / 60_000)} minutes, so it is not restarted automatically. ` +
            'Its last output is in the EM Lab log (EM Lab: Show Log); fix the cause, then run "EM Lab: Restart Runtime".',
          tail,
        );
      }
    }
    this.setState(expected ? 'stopped' : 'crashed');
    const exit: RuntimeExit = { code, signal, expected, stderrTail: tail, willRestart };
    for (const listener of this.exitListeners) listener(exit);
    for (const resolve of this.exitWaiters.splice(0)) resolve();
  }

  private rejectAll(error: RuntimeRequestError): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  private updateBusy(): void {
    if (this.ready && this.child) this.setState(this.pendingCount > 0 ? 'busy' : 'idle');
  }

  private setState(state: RuntimeState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}
