// Checks that the libraries the CUDA provider needs can be found by the loader, and says exactly what is missing
// and how to get it. Independent of `ldd` (which may be absent); ldd's answer is added as a cross-check.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dependencyReport, lddNotFound, loaderEnvironment, type LoaderEnvironment } from './librarySearch';
import { cudaMajorOf, findOffPath, installHint, wellKnownCudaDirs } from './cudaLibraryHints';
import { readElfDynamic } from './elfDynamic';

export const PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;
export const CUDA_PROVIDER_LIB = 'libonnxruntime_providers_cuda.so';
/** The driver library: the CUDA runtime dlopens it at first use, so it is not a DT_NEEDED entry, but required. */
export const DRIVER_LIB = 'libcuda.so.1';

export interface MissingCudaLibrary {
  soname: string;
  neededBy: string[];
  /** How to install it. */
  hint: string;
  /** A folder that holds it but is not on the loader path (add it to LD_LIBRARY_PATH). */
  foundIn?: string;
}

export interface CudaDependencyCheck {
  providerPath: string;
  /** CUDA major version the provider links against (12, 13), when it can be read from its sonames. */
  cudaMajor?: number;
  /** Direct DT_NEEDED entries of the provider library. */
  needed: string[];
  resolvedCount: number;
  missing: MissingCudaLibrary[];
  wrongArchitecture?: string;
  /** Folders to prepend to LD_LIBRARY_PATH (before node starts) that would supply missing libraries. */
  suggestedLibraryPath: string[];
  /** `ldd`'s "not found" list, when ldd ran; `lddAgrees` is false when it names a different set. */
  ldd?: { notFound: string[]; agrees: boolean };
}

export interface DependencyCheckOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra folders to look in for missing libraries (besides CUDA toolkits and pip nvidia-* wheels). */
  searchDirs?: string[];
  /** Injected loader environment (tests). */
  loader?: LoaderEnvironment;
  /** Skip the ldd cross-check (tests, speed). */
  skipLdd?: boolean;
  /** Check libcuda.so.1 too (default true; tests on machines without a driver turn it off). */
  checkDriver?: boolean;
}

export function checkCudaDependencies(providerDir: string, options: DependencyCheckOptions = {}): CudaDependencyCheck {
  const providerPath = join(providerDir, CUDA_PROVIDER_LIB);
  const env = options.env ?? process.env;
  const loader = options.loader ?? loaderEnvironment(env);
  const needed = readElfDynamic(providerPath).needed;
  const cudaMajor = cudaMajorOf(needed);
  const report = dependencyReport(providerPath, loader, options.checkDriver === false ? [] : [DRIVER_LIB]);
  const offPath = findOffPath(
    report.missing.map((m) => m.soname),
    [...(options.searchDirs ?? []), ...wellKnownCudaDirs(env)],
  );
  const missing = report.missing.map((m) => ({
    soname: m.soname,
    neededBy: m.neededBy,
    hint: installHint(m.soname, cudaMajor),
    ...(offPath.has(m.soname) ? { foundIn: offPath.get(m.soname)! } : {}),
  }));
  const check: CudaDependencyCheck = {
    providerPath,
    ...(cudaMajor !== undefined ? { cudaMajor } : {}),
    needed,
    resolvedCount: report.resolved.length,
    missing,
    ...(report.wrongArchitecture ? { wrongArchitecture: report.wrongArchitecture } : {}),
    suggestedLibraryPath: [...new Set(offPath.values())],
  };
  if (!options.skipLdd && existsSync(providerPath)) {
    const notFound = lddNotFound(providerPath, env);
    if (notFound) {
      // ldd walks the same closure but does not know about libcuda.so.1 (dlopened), so compare without it.
      const ours = new Set(missing.map((m) => m.soname).filter((s) => s !== DRIVER_LIB));
      const agrees = notFound.length === ours.size && notFound.every((s) => ours.has(s));
      check.ldd = { notFound, agrees };
    }
  }
  return check;
}

/** Readable lines for a check: what is missing, needed by what, how to get it, where it already is. */
export function describeDependencyCheck(check: CudaDependencyCheck): string[] {
  const lines: string[] = [];
  if (check.wrongArchitecture) lines.push(check.wrongArchitecture);
  if (check.missing.length === 0) {
    lines.push(`All ${check.resolvedCount} libraries the CUDA provider needs are found${check.cudaMajor ? ` (built for CUDA ${check.cudaMajor})` : ''}.`);
  } else {
    lines.push(`Missing ${check.missing.length} librar${check.missing.length === 1 ? 'y' : 'ies'} the CUDA provider needs${check.cudaMajor ? ` (built for CUDA ${check.cudaMajor})` : ''}:`);
    for (const m of check.missing) {
      lines.push(`  ${m.soname}  (needed by ${m.neededBy.join(', ')})`);
      lines.push(m.foundIn ? `    found in ${m.foundIn}, which is not on the loader path` : `    ${m.hint}`);
    }
    if (check.suggestedLibraryPath.length) {
      lines.push(`Then start VS Code / the CLI with: export LD_LIBRARY_PATH=${check.suggestedLibraryPath.join(':')}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`);
    }
  }
  if (check.ldd && !check.ldd.agrees) lines.push(`Note: ldd reports a different set as not found: ${check.ldd.notFound.join(', ') || '(none)'}.`);
  return lines;
}
