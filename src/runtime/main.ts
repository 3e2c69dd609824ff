// The EM Lab runtime process (dist/runtime.mjs), forked by the extension host with an IPC channel.
// This thread only routes messages: the first must be `initialize {protocolVersion}`; after it, requests and
// cancels go to the compute worker (dist/worker.mjs) and its responses and notifications come back here. Compute
// blocking the worker (onnxruntime's session.run) therefore never stalls IPC, progress or cancellation.
// stdout/stderr are plain logs (the host shows them in the EM Lab log), never the protocol.
// The process exits when the IPC channel disconnects (the host went away) or when the worker dies.
import { Worker } from 'node:worker_threads';
import { PROTOCOL_VERSION, isRpcMessage, type InitializeParams, type InitializeResult, type RpcMessage, type RpcRequest, type RpcResponse } from '../protocol/rpc';
import type { WorkerInit } from './worker';
import { RUNTIME_VERSION } from './version';
import { defaultStorageDir } from './storage';

type ToHost = Exclude<RpcMessage, RpcRequest>;

function sendToHost(message: ToHost, then?: () => void): void {
  if (!process.connected || !process.send) return;
  process.send(message, undefined, {}, () => then?.());
}

function errorResponse(id: number, code: string, message: string): RpcResponse {
  return { kind: 'response', id, error: { code, message } };
}

let worker: Worker | undefined;
let initialized = false;
let shuttingDown = false;

function shutdown(code: number): void {
  if (shuttingDown) return;
  shuttingDown = true;
  // terminate() stops the worker even inside a synchronous session.run(); the exit code is ours.
  void (worker?.terminate() ?? Promise.resolve()).finally(() => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}

function startWorker(req: RpcRequest, params: InitializeParams): void {
  const init: WorkerInit = { storageDir: params.storageDir ?? defaultStorageDir() };
  const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: init });
  worker = w;
  w.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === 'worker-ready') {
      initialized = true;
      const result: InitializeResult = { protocolVersion: PROTOCOL_VERSION, runtimeVersion: RUNTIME_VERSION, pid: process.pid };
      sendToHost({ kind: 'response', id: req.id, result });
      console.log(`EM Lab runtime ${RUNTIME_VERSION} ready (pid ${process.pid}, protocol ${PROTOCOL_VERSION}, node ${process.version})`);
      return;
    }
    if (isRpcMessage(message) && message.kind !== 'request' && message.kind !== 'cancel') sendToHost(message);
  });
  w.on('error', (err) => {
    process.stderr.write(`EM Lab runtime: the compute worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    shutdown(1);
  });
  w.on('exit', (code) => {
    if (shuttingDown) return;
    process.stderr.write(`EM Lab runtime: the compute worker exited with code ${code}; the runtime process exits too.\n`);
    shutdown(code === 0 ? 1 : code);
  });
}

function handleInitialize(req: RpcRequest): void {
  const params = (req.params ?? {}) as Partial<InitializeParams>;
  if (params.protocolVersion !== PROTOCOL_VERSION) {
    const message =
      `Protocol mismatch: the extension speaks protocol version ${String(params.protocolVersion)}, this runtime ` +
      `(dist/runtime.mjs ${RUNTIME_VERSION}) speaks ${PROTOCOL_VERSION}. They come from different builds: run ` +
      '`npm run build` (or reinstall the extension) and reload the window.';
    process.stderr.write(`EM Lab runtime: ${message}\n`);
    sendToHost(errorResponse(req.id, 'protocol-mismatch', message), () => shutdown(2));
    return;
  }
  if (params.storageDir !== undefined && typeof params.storageDir !== 'string') {
    sendToHost(errorResponse(req.id, 'bad-params', 'initialize: storageDir must be a string path.'));
    return;
  }
  startWorker(req, params as InitializeParams);
}

function onHostMessage(raw: unknown): void {
  if (!isRpcMessage(raw)) {
    process.stderr.write('EM Lab runtime: ignored a message that is not an RPC envelope.\n');
    return;
  }
  if (raw.kind === 'request' && raw.method === 'initialize') {
    if (worker) sendToHost(errorResponse(raw.id, 'already-initialized', 'The runtime is already initialized; send initialize once per process.'));
    else handleInitialize(raw);
    return;
  }
  if (!initialized || !worker) {
    if (raw.kind === 'request') sendToHost(errorResponse(raw.id, 'not-initialized', `"${raw.method}" arrived before the initialize handshake finished; the host must await initialize first.`));
    return;
  }
  if (raw.kind === 'request' || raw.kind === 'cancel') worker.postMessage(raw);
}

if (!process.send) {
  process.stderr.write('dist/runtime.mjs is the EM Lab runtime process: the extension starts it with an IPC channel. On the command line use `npx em-lab` instead.\n');
  process.exit(2);
}
process.on('message', onHostMessage);
process.on('disconnect', () => shutdown(0));
