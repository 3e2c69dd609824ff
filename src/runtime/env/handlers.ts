// Protocol handlers for the environment check (the host's "EM Lab: Check Environment").
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { runDoctor } from './doctor';

export const envHandlers = {
  'env/doctor': async (params, ctx) =>
    runDoctor({
      startDir: params.startDir ?? process.cwd(),
      env: ctx.env,
      ...(params.runsDir ? { runsDir: params.runsDir } : {}),
      ...(params.networkTimeoutMs ? { networkTimeoutMs: params.networkTimeoutMs } : {}),
      signal: ctx.signal,
      surface: params.surface ?? 'cli',
    }),
} satisfies Pick<RuntimeHandlers, 'env/doctor'>;
