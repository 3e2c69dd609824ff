// The compute thread of the runtime process (dist/worker.mjs). Hosts the handler table; main.ts forwards requests
// and cancels here and relays what this thread sends back. session.run() blocks this thread, not the IPC thread.
import { parentPort, workerData } from 'node:worker_threads';
import { isRpcMessage, type RpcCancel, type RpcRequest } from '../protocol/rpc';
import { runtimeHandlers } from './handlers';
import { createDispatcher } from './rpc/dispatcher';
import type { HandlerContext } from './rpc/handlerTypes';

export interface WorkerInit {
  storageDir: string;
}

/** Sent once the handler table is loaded, so the handshake answers only when requests can run. */
export interface WorkerReady {
  kind: 'worker-ready';
}

const port = parentPort;
if (!port) throw new Error('dist/worker.mjs is the runtime compute thread; start dist/runtime.mjs instead.');
const init = workerData as WorkerInit;

const dispatcher = createDispatcher({
  handlers: runtimeHandlers as unknown as Record<string, (params: unknown, ctx: HandlerContext) => Promise<unknown>>,
  send: (message) => port.postMessage(message),
  storageDir: init.storageDir,
  env: process.env,
});

port.on('message', (message: unknown) => {
  if (isRpcMessage(message) && (message.kind === 'request' || message.kind === 'cancel')) {
    dispatcher.handle(message as RpcRequest | RpcCancel);
  }
});
port.postMessage({ kind: 'worker-ready' } satisfies WorkerReady);
