import type { RuntimeHandlers } from './handlerTypes';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { CancelledError, throwIfAborted } from '../errors';
import { activeRequestIds } from './activeRequests';
import { RUNTIME_VERSION } from '../version';

export const coreHandlers = {
  // The real handshake is answered by the runtime process itself (main.ts) before any worker call; this entry
  // keeps the table complete and answers in-process callers (tests, CLI).
  initialize: async () => ({ protocolVersion: PROTOCOL_VERSION, runtimeVersion: RUNTIME_VERSION, pid: process.pid }),
  'debug/echo': async (params) => ({ value: params.value }),
  'debug/sleep': async (params, ctx) => {
    const start = Date.now();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, params.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
    if (ctx.signal.aborted) throw new CancelledError('debug/sleep cancelled.');
    return { sleptMs: Date.now() - start, cancelled: false };
  },
  'debug/crash': async (params) => {
    // In the compute worker process.exit() ends only the thread; main.ts then exits the process with this code.
    process.stderr.write(`debug/crash requested: ${params.message}\n`);
    process.exit(3);
  },
  'debug/inflight': async () => ({ ids: activeRequestIds() }), // includes this request's own id
  'debug/progress': async (params, ctx) => {
    for (let i = 1; i <= params.count; i++) {
      await new Promise((resolve) => setTimeout(resolve, params.intervalMs));
      throwIfAborted(ctx.signal);
      ctx.progress(`step ${i}/${params.count}`, i / params.count);
    }
    return { sent: params.count };
  },
} satisfies Pick<RuntimeHandlers, 'initialize' | 'debug/echo' | 'debug/sleep' | 'debug/crash' | 'debug/inflight' | 'debug/progress'>;
