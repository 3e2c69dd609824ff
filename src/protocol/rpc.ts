// The one message envelope used between the extension host and the runtime process (over Node IPC),
// and between the host and each webview (postMessage). Types only: imported by host, runtime and webviews.

/** Bumped whenever a method's params or result change shape; the handshake refuses a mismatch. */
export const PROTOCOL_VERSION = 1;

export interface RpcRequest<M extends string = string, P = unknown> {
  kind: 'request';
  id: number;
  method: M;
  params: P;
}

export interface RpcErrorData {
  /** Stable machine-readable code, e.g. 'wrong-password', 'cancelled', 'timeout', 'runtime-crashed'. */
  code: string;
  /** What happened, where, and what to do next: shown to the user as is. */
  message: string;
  data?: unknown;
}

export interface RpcResponse<R = unknown> {
  kind: 'response';
  id: number;
  result?: R;
  error?: RpcErrorData;
}

export interface RpcNotification<M extends string = string, P = unknown> {
  kind: 'notification';
  method: M;
  params: P;
}

export interface RpcCancel {
  kind: 'cancel';
  id: number;
}

export type RpcMessage = RpcRequest | RpcResponse | RpcNotification | RpcCancel;

/** A method map: method name -> [params, result]. */
export type MethodMap = Record<string, [unknown, unknown]>;
export type ParamsOf<M extends MethodMap, K extends keyof M> = M[K][0];
export type ResultOf<M extends MethodMap, K extends keyof M> = M[K][1];

export interface InitializeParams {
  protocolVersion: number;
  /** Where runs, caches and generated models live (the extension's global storage, or a CLI folder). */
  storageDir?: string;
}

export interface InitializeResult {
  protocolVersion: number;
  runtimeVersion: string;
  pid: number;
}

export function isRpcMessage(value: unknown): value is RpcMessage {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'request' || kind === 'response' || kind === 'notification' || kind === 'cancel';
}
