// Runtime handlers for cuda/* (see src/protocol/cudaMethods.ts).
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { describeDependencyCheck } from './cudaDependencies';
import { cudaStatus } from './cudaStatus';
import { setupCuda } from './setupCuda';

export const cudaHandlers = {
  'cuda/setup': async (params, ctx) => {
    const result = await setupCuda({
      ...(params.from ? { from: params.from } : {}),
      checkOnly: params.checkOnly === true,
      skipVersionCheck: params.skipVersionCheck === true,
      signal: ctx.signal,
      progress: (m, f) => ctx.progress(m, f),
      dependencies: { env: ctx.env, ...(params.searchDirs ? { searchDirs: params.searchDirs } : {}) },
    });
    const d = result.dependencies;
    return {
      targetDir: result.targetDir,
      ortVersion: result.ortVersion,
      ...(result.source ? { installedFrom: result.source.description } : {}),
      ...(result.install ? { installed: result.install.installed } : {}),
      ...(d.cudaMajor !== undefined ? { cudaMajor: d.cudaMajor } : {}),
      missing: d.missing,
      suggestedLibraryPath: d.suggestedLibraryPath,
      ready: result.ready,
      report: describeDependencyCheck(d),
    };
  },
  'cuda/status': async (params, ctx) => cudaStatus({ probe: params.probe === true, dependencies: { env: ctx.env } }),
} satisfies Pick<RuntimeHandlers, 'cuda/setup' | 'cuda/status'>;
