// Runs requests against the handler table: one AbortController per request id, progress and notifications
// sent back through `send`, errors turned into {code, message}. Used by the compute worker (worker.ts) and by
// in-process callers (tests). Several requests run concurrently; a synchronous ONNX run blocks the others until it
// returns, so cancellation acts between awaits.
import type { RpcCancel, RpcErrorData, RpcNotification, RpcRequest, RpcResponse } from '../../protocol/rpc';
import type { HandlerContext } from './handlerTypes';
import { errorCode, errorMessage, UserError } from '../errors';
import { toUserError } from '../osErrors';
import { markActive, markDone } from './activeRequests';

type AnyHandler = (params: unknown, ctx: HandlerContext) => Promise<unknown>;

export interface DispatcherOptions {
  handlers: Record<string, AnyHandler>;
  send(message: RpcResponse | RpcNotification): void;
  storageDir: string;
  env: NodeJS.ProcessEnv;
}

export interface Dispatcher {
  handle(message: RpcRequest | RpcCancel): void;
  /** Aborts every running request (the host went away). */
  abortAll(): void;
  readonly activeCount: number;
}

/** Error -> wire form. Internal errors keep their message but say where to look; the stack goes to stderr. */
export function toRpcError(caught: unknown, method: string): RpcErrorData {
  const err = toUserError(caught) ?? caught; // OS errors name their path and fix (osErrors.ts)
  const code = errorCode(err);
  if (err instanceof UserError || code !== 'internal') {
    return { code, message: errorMessage(err), ...(err instanceof UserError && err.data !== undefined ? { data: err.data } : {}) };
  }
  process.stderr.write(`internal error in ${method}: ${err instanceof Error ? err.stack : String(err)}\n`);
  return { code: 'internal', message: `Internal error in ${method}: ${errorMessage(err)}. The stack trace is in the EM Lab log (EM Lab: Show Log).` };
}

export function createDispatcher(o: DispatcherOptions): Dispatcher {
  const controllers = new Map<number, AbortController>();

  const run = async (req: RpcRequest): Promise<void> => {
    const handler = Object.prototype.hasOwnProperty.call(o.handlers, req.method) ? o.handlers[req.method] : undefined;
    if (!handler) {
      o.send({ kind: 'response', id: req.id, error: { code: 'unknown-method', message: `The runtime has no method "${req.method}". The extension and runtime builds differ: rebuild with \`npm run build\`.` } });
      return;
    }
    const controller = new AbortController();
    controllers.set(req.id, controller);
    markActive(req.id);
    const ctx: HandlerContext = {
      signal: controller.signal,
      progress: (message, fraction) => o.send({ kind: 'notification', method: 'progress', params: { requestId: req.id, message, ...(fraction !== undefined ? { fraction } : {}) } }),
      notify: (method, params) => o.send({ kind: 'notification', method, params }),
      storageDir: o.storageDir,
      env: o.env,
    };
    try {
      const result = await handler(req.params, ctx);
      o.send({ kind: 'response', id: req.id, result });
    } catch (err) {
      o.send({ kind: 'response', id: req.id, error: toRpcError(err, req.method) });
    } finally {
      controllers.delete(req.id);
      markDone(req.id);
    }
  };

  return {
    handle(message) {
      if (message.kind === 'cancel') {
        controllers.get(message.id)?.abort();
        return;
      }
      void run(message);
    },
    abortAll() {
      for (const c of controllers.values()) c.abort();
    },
    get activeCount() {
      return controllers.size;
    },
  };
}
