// The webview's end of the host channel, in the rpc.ts envelope: requests answered by the view's host controller,
// notifications pushed by it. One implementation for every view; each view binds its own method map and timeout.
// Browser code only.
import type { RpcMessage } from '../../src/protocol/rpc';

/** A view's method map (an interface of method -> [params, result]). */
type Methods<M> = { [K in keyof M]: [unknown, unknown] };
import { vscodeApi } from './vscodeApi';

export interface HostRpc<M extends Methods<M>, N extends object> {
  request<K extends keyof M & string>(method: K, params: M[K][0]): Promise<M[K][1]>;
  onNotification<K extends keyof N & string>(method: K, listener: (params: N[K]) => void): void;
}

/** `timeoutMs` bounds every request: set it above the slowest thing the host may wait on (dialogs, model loads). */
export function createHostRpc<M extends Methods<M>, N extends object>(timeoutMs: number): HostRpc<M, N> {
  // A page re-created after being hidden starts a new channel while the host may still answer the old page's
  // requests: ids from a random start keep a late answer from matching a new request.
  let nextId = 1 + Math.floor(Math.random() * 2 ** 40);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: number }>();
  const listeners = new Map<string, ((params: unknown) => void)[]>();

  window.addEventListener('message', (event: MessageEvent<RpcMessage>) => {
    const m = event.data;
    if (m?.kind === 'response') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      window.clearTimeout(p.timer);
      if (m.error) p.reject(new Error(m.error.message));
      else p.resolve(m.result);
    } else if (m?.kind === 'notification') {
      for (const l of listeners.get(m.method) ?? []) l(m.params);
    }
  });

  return {
    request(method, params) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = window.setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${method} timed out after ${timeoutMs / 1000} s.`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        vscodeApi().postMessage({ kind: 'request', id, method, params });
      });
    },
    onNotification(method, listener) {
      listeners.set(method, [...(listeners.get(method) ?? []), listener as (p: unknown) => void]);
    },
  };
}
