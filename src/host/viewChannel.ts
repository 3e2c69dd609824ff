// The host's end of every webview channel, in the rpc.ts envelope: requests from the webview are untrusted input,
// so each method has a `parse` (shape check, throws ViewRequestError naming the field) and a `run`. A view's
// handler table is typed `ViewHandlers<ItsMethods>`: a method without a handler, or a handler for a method the
// view does not declare, fails to compile. No vscode here (src/host/webviewChannel.ts binds it to a Webview), so
// the dispatch is tested in plain Node (test/unit/viewChannel.test.ts).
import type { RpcMessage, RpcNotification, RpcResponse } from '../protocol/rpc';

/** A view's method map, as its protocol file declares it: method -> [params, result]. */
export type ViewMethodMap<M> = { [K in keyof M]: [unknown, unknown] };

export interface ViewMethodHandler<P, R> {
  /** Checks the webview's params (untrusted) and returns them typed; throws ViewRequestError on a bad shape. */
  parse(raw: unknown): P;
  run(params: P): Promise<R> | R;
}

/** Every method of M, each with its handler: completeness is checked by the compiler. */
export type ViewHandlers<M extends ViewMethodMap<M>> = { [K in keyof M]-?: ViewMethodHandler<M[K][0], M[K][1]> };

/** A request the webview got wrong (shape, unknown method, a path it may not name): code 'bad-request'. */
export class ViewRequestError extends Error {
  readonly code = 'bad-request';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function errorOf(err: unknown): { code: string; message: string } {
  const code = isObject(err) && typeof err.code === 'string' ? err.code : 'error';
  return { code, message: err instanceof Error ? err.message : String(err) };
}

export interface ViewChannelOptions {
  /** Sends one message to the webview (Webview.postMessage). */
  post(message: RpcMessage): unknown;
  /** Told about messages that are not requests at all (dropped) and handlers that failed (answered with the error). */
  log?(level: 'warn' | 'error', message: string): void;
}

export class ViewChannel<M extends ViewMethodMap<M>, N extends object> {
  constructor(
    private readonly handlers: ViewHandlers<M>,
    private readonly o: ViewChannelOptions,
  ) {}

  /** Handles one message from the webview; always answers a well-formed request, never throws. */
  async receive(raw: unknown): Promise<void> {
    if (!isObject(raw) || raw.kind !== 'request' || typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id) || typeof raw.method !== 'string') {
      this.o.log?.('warn', `ignored a webview message that is not a request: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const { id, method } = raw;
    let response: RpcResponse;
    try {
      // Own properties only: 'constructor' or '__proto__' from the webview must not reach Object.prototype.
      if (!Object.prototype.hasOwnProperty.call(this.handlers, method)) throw new ViewRequestError(`Unknown request ${method}.`);
      const handler = this.handlers[method as keyof M] as ViewMethodHandler<unknown, unknown>;
      const params = handler.parse(raw.params === undefined ? {} : raw.params);
      response = { kind: 'response', id, result: await handler.run(params) };
    } catch (err) {
      const error = errorOf(err);
      if (error.code !== 'bad-request' && error.code !== 'cancelled') this.o.log?.('warn', `${method} failed: ${error.message}`);
      response = { kind: 'response', id, error };
    }
    this.o.post(response);
  }

  notify<K extends keyof N & string>(method: K, params: N[K]): void {
    const message: RpcNotification<K, N[K]> = { kind: 'notification', method, params };
    this.o.post(message);
  }
}
