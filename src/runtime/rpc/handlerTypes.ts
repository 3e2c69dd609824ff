// How runtime services are exposed as methods. A domain writes `export const xHandlers = {...} satisfies
// Partial<RuntimeHandlers>` in src/runtime/<domain>/handlers.ts; src/runtime/handlers.ts spreads them into the
// one table declared `satisfies RuntimeHandlers`, so a declared method without a handler fails to compile.
import type { RuntimeMethods, RuntimeNotifications } from '../../protocol/methods';

export interface HandlerContext {
  /** Aborted when the caller sends `cancel` for this request (or the host goes away). Check between steps. */
  signal: AbortSignal;
  /** Progress for this request (sent as a `progress` notification keyed by the request id). */
  progress(message: string, fraction?: number): void;
  /** Any other notification (token streams, training events), keyed by the ids in its params. */
  notify<K extends keyof RuntimeNotifications>(method: K, params: RuntimeNotifications[K]): void;
  /** Root folder for runs, caches and generated models. */
  storageDir: string;
  /** Environment, secrets included (the host passes them by environment, never argv). */
  env: NodeJS.ProcessEnv;
}

export type Handler<K extends keyof RuntimeMethods> = (
  params: RuntimeMethods[K][0],
  ctx: HandlerContext,
) => Promise<RuntimeMethods[K][1]>;

export type RuntimeHandlers = { [K in keyof RuntimeMethods]: Handler<K> };
