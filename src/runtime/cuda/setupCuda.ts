// `em-lab setup cuda` / "EM Lab: Set Up CUDA": get the CUDA provider libraries matching onnxruntime-node (NuGet
// download or a given package/folder), check the version, place them beside the binding all-or-nothing, then check
// that the CUDA and cuDNN libraries they need are found and say exactly what is missing.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors';
import { ortBinaryDir, ortVersion } from '../onnx/ort';
import { checkCudaDependencies, type CudaDependencyCheck, type DependencyCheckOptions } from './cudaDependencies';
import { downloadNupkg, NUGET_FLAT_CONTAINER } from './nugetDownload';
import { installProviderFiles, type InstallHooks, type InstallResult } from './providerInstall';
import { NUGET_PACKAGE_ID, readProviderSource } from './providerPackage';
import { verifyProviderFiles, type ProviderHashes, type ProviderVerification } from './providerHashes';

export interface SetupCudaOptions {
  /** A downloaded .nupkg, an extracted package, or a folder with the two provider .so files. Default: download. */
  from?: string;
  /** Install even when the package's ONNX Runtime version differs from onnxruntime-node's (may crash at load). */
  skipVersionCheck?: boolean;
  /** Only check what is installed (no download, no copy). */
  checkOnly?: boolean;
  /** Where the provider libraries go (default: onnxruntime-node's binary folder). */
  targetDir?: string;
  /** onnxruntime-node's version to match (default: the installed one). */
  expectedVersion?: string;
  /** NuGet flat-container base URL (default api.nuget.org; env EM_LAB_NUGET_URL overrides; tests use a closed port). */
  nugetBase?: string;
  /** Download cache (default $XDG_CACHE_HOME/em-lab or ~/.cache/em-lab). */
  cacheDir?: string;
  signal?: AbortSignal;
  progress?: (message: string, fraction?: number) => void;
  dependencies?: DependencyCheckOptions;
  hooks?: InstallHooks;
  /** Pinned sha256 values per version (default KNOWN_PROVIDER_SHA256; tests pass their own). */
  knownHashes?: Readonly<Record<string, ProviderHashes>>;
}

export interface SetupCudaResult {
  targetDir: string;
  ortVersion: string;
  /** What was installed (absent with checkOnly). */
  source?: { description: string; version?: string; versionFrom?: string };
  install?: InstallResult;
  /** The installed libraries' sha256, and whether they matched pinned values. */
  verification?: ProviderVerification;
  dependencies: CudaDependencyCheck;
  /** True when nothing the loader needs is missing (the GPU itself is not probed here). */
  ready: boolean;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'em-lab');
}

function checkVersion(sourceVersion: string | undefined, expected: string, description: string, skip: boolean, versionFrom?: string): void {
  if (skip) return;
  if (!sourceVersion) {
    throw new UserError(
      'cuda-version-unknown',
      `Cannot tell which ONNX Runtime version ${description} is (no .nuspec or Python __init__.py beside it, and no single version string inside the library). The provider libraries must match onnxruntime-node ${expected} exactly. ` +
        `Use ${NUGET_PACKAGE_ID} ${expected}, or pass --skip-version-check if you know they match.`,
    );
  }
  if (sourceVersion !== expected) {
    throw new UserError(
      'cuda-version-mismatch',
      `${description} is ONNX Runtime ${sourceVersion} (from ${versionFrom ?? 'its metadata'}) but onnxruntime-node is ${expected}; a provider library of another version fails to load or crashes. ` +
        `Get ${NUGET_PACKAGE_ID} ${expected} (https://www.nuget.org/packages/${NUGET_PACKAGE_ID}/${expected}), or install onnxruntime-node ${sourceVersion} to match. Nothing was changed.`,
    );
  }
}

export async function setupCuda(options: SetupCudaOptions = {}): Promise<SetupCudaResult> {
  if (process.platform !== 'linux') {
    throw new UserError('cuda-unsupported-platform', `em-lab setup cuda supports Linux only (this is ${process.platform}). On Windows use WSL2 with the NVIDIA driver for WSL.`);
  }
  const targetDir = options.targetDir ?? ortBinaryDir();
  const expected = options.expectedVersion ?? ortVersion();
  let source: SetupCudaResult['source'];
  let install: InstallResult | undefined;
  let verification: ProviderVerification | undefined;
  if (!options.checkOnly) {
    const from =
      options.from ??
      (await downloadNupkg(expected, options.cacheDir ?? defaultCacheDir(), options.nugetBase ?? process.env.EM_LAB_NUGET_URL ?? NUGET_FLAT_CONTAINER, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.progress ? { progress: options.progress } : {}),
      }));
    options.progress?.(`Reading ${from}`);
    const pkg = readProviderSource(from);
    checkVersion(pkg.version, expected, pkg.description, options.skipVersionCheck === true, pkg.versionFrom);
    options.progress?.('Checking the libraries\' sha256');
    verification = verifyProviderFiles(pkg.files, pkg.version ?? expected, pkg.description, options.knownHashes);
    options.progress?.(`Installing into ${targetDir}`);
    install = installProviderFiles(pkg.files, targetDir, options.hooks);
    source = { description: pkg.description, ...(pkg.version ? { version: pkg.version } : {}), ...(pkg.versionFrom ? { versionFrom: pkg.versionFrom } : {}) };
  }
  options.progress?.('Checking CUDA and cuDNN libraries');
  let dependencies: CudaDependencyCheck;
  try {
    dependencies = checkCudaDependencies(targetDir, options.dependencies);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('cuda-not-installed', `The CUDA provider libraries are not installed in ${targetDir}. Run \`em-lab setup cuda\` (or with --from FILE.nupkg where NuGet is unreachable).`);
    }
    throw err;
  }
  return {
    targetDir,
    ortVersion: expected,
    ...(source ? { source } : {}),
    ...(install ? { install } : {}),
    ...(verification ? { verification } : {}),
    dependencies,
    ready: dependencies.missing.length === 0 && !dependencies.wrongArchitecture,
  };
}
