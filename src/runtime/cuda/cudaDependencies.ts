// Checks that the libraries the CUDA provider needs can be found by the loader, and says exactly what is missing
// and how to get it. Independent of `ldd` (which may be absent); ldd's answer is added as a cross-check.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dependencyReport, lddNotFound, loaderEnvironment, type LoaderEnvironment } from './librarySearch';
import { cudaMajorOf, findOffPath, installHint, wellKnownCudaDirs } from './cudaLibraryHints';
import { readElfDynamic } from './elfDynamic';
import { cachedProviderFacts, type ProviderBinaryFacts } from './providerBinaryScan';

export const PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;
export const CUDA_PROVIDER_LIB = 'libonnxruntime_providers_cuda.so';
/** The driver library: the CUDA runtime dlopens it at first use, so it is not a DT_NEEDED entry, but required. */
export const DRIVER_LIB = 'libcuda.so.1';
/** cuDNN 9: ONNX Runtime 1.19+ CUDA builds dlopen it (not DT_NEEDED), so it is checked by name when the provider mentions it. */
export const CUDNN_LIB = 'libcudnn.so.9';

export interface MissingCudaLibrary {
  soname: string;
  neededBy: string[];
  /** How to install it. */
  hint: string;
  /** A folder that holds it but is not on the loader path (add it to LD_LIBRARY_PATH). */
  foundIn?: string;
  /** Loaded with dlopen at run time (not a DT_NEEDED entry): ldd cannot see it. */
  loadedAtRunTime?: boolean;
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
  /** Facts from scanning the provider binary (default: scanned once, cached beside it). */
  facts?: ProviderBinaryFacts;
}

export function checkCudaDependencies(providerDir: string, options: DependencyCheckOptions = {}): CudaDependencyCheck {
  const providerPath = join(providerDir, CUDA_PROVIDER_LIB);
  const env = options.env ?? process.env;
  const loader = options.loader ?? loaderEnvironment(env);
  const needed = readElfDynamic(providerPath).needed;
  const cudaMajor = cudaMajorOf(needed);
  const facts = options.facts ?? cachedProviderFacts(providerPath);
  const runTime = [...(options.checkDriver === false ? [] : [DRIVER_LIB]), ...(facts.loadsCudnn ? [CUDNN_LIB] : [])].filter((s) => !needed.includes(s));
  const report = dependencyReport(providerPath, loader, runTime);
  const offPath = findOffPath(
    report.missing.map((m) => m.soname),
    [...(options.searchDirs ?? []), ...wellKnownCudaDirs(env)],
  );
  const missing = report.missing.map((m) => ({
    soname: m.soname,
    neededBy: m.neededBy,
    hint: installHint(m.soname, cudaMajor),
    ...(offPath.has(m.soname) ? { foundIn: offPath.get(m.soname)! } : {}),
    ...(runTime.includes(m.soname) ? { loadedAtRunTime: true } : {}),
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
      // ldd walks the same DT_NEEDED closure; it cannot know the libraries loaded at run time, so leave those out.
      const ours = new Set(missing.filter((m) => !m.loadedAtRunTime).map((m) => m.soname));
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
      lines.push(`  ${m.soname}  (${m.loadedAtRunTime ? 'loaded at run time by' : 'needed by'} ${m.neededBy.join(', ')})`);
      lines.push(m.foundIn ? `    found in ${m.foundIn}, which is not on the loader path` : `    ${m.hint}`);
    }
    if (check.suggestedLibraryPath.length) {
      lines.push(`Then start VS Code / the CLI with: export LD_LIBRARY_PATH=${check.suggestedLibraryPath.join(':')}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`);
    }
  }
  if (check.ldd && !check.ldd.agrees) lines.push(`Note: ldd reports a different set as not found: ${check.ldd.notFound.join(', ') || '(none)'}.`);
  return lines;
}

/**
 * ORT's error when the provider won't load is only "Failed to load shared library" (the dlopen message goes to
 * stderr), so the CPU fallback explains it with what the loader is missing, when the dependency check finds it.
 */
export function explainCudaLoadFailure(providerDir: string, message: string, options: DependencyCheckOptions = {}): string {
  if (!/load/i.test(message)) return message;
  try {
    const check = checkCudaDependencies(providerDir, { skipLdd: true, ...options });
    if (check.wrongArchitecture) return `${message}: ${check.wrongArchitecture}`;
    if (check.missing.length === 0) return message;
    const where = check.suggestedLibraryPath.length ? ` Installed off the loader path: start with LD_LIBRARY_PATH=${check.suggestedLibraryPath.join(':')}.` : '';
    return `${message}: missing ${check.missing.map((m) => m.soname).join(', ')}.${where} Run \`em-lab setup cuda --check-only\` for how to install each.`;
  } catch {
    return message;
  }
}
