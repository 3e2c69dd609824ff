// The webview's end of the host channel (rpc.ts envelope): requests answered by src/views/training/trainingPanel.ts,
// notifications pushed by it. Browser code only.
import type { TrainViewMethods, TrainViewNotifications } from '../../src/protocol/trainViewMethods';
import type { RpcMessage } from '../../src/protocol/rpc';
import { vscodeApi } from '../shared/vscodeApi';

/** Preview loads the model and tokenizer (seconds to a minute); the rest is quick. */
const TIMEOUT_MS = 10 * 60_000;

let nextId = 1;
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

export function request<K extends keyof TrainViewMethods>(method: K, params: TrainViewMethods[K][0]): Promise<TrainViewMethods[K][1]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = window.setTimeout(() => {
      pending.delete(id);
      reject(new Error(`${method} timed out after ${TIMEOUT_MS / 1000} s.`));
    }, TIMEOUT_MS);
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
    vscodeApi().postMessage({ kind: 'request', id, method, params });
  });
}

export function onNotification<K extends keyof TrainViewNotifications>(method: K, listener: (params: TrainViewNotifications[K]) => void): void {
  listeners.set(method, [...(listeners.get(method) ?? []), listener as (p: unknown) => void]);
}
