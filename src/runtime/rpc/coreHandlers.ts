import type { RuntimeHandlers } from './handlerTypes';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { CancelledError } from '../errors';

export const coreHandlers = {
  // The real handshake is answered by the runtime process itself (main.ts) before any worker call; this entry
  // keeps the table complete and answers in-process callers (tests, CLI).
  initialize: async () => ({ protocolVersion: PROTOCOL_VERSION, runtimeVersion: '0.1.0', pid: process.pid }),
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
    process.stderr.write(`debug/crash requested: ${params.message}\n`);
    process.exit(3);
  },
} satisfies Pick<RuntimeHandlers, 'initialize' | 'debug/echo' | 'debug/sleep' | 'debug/crash'>;
