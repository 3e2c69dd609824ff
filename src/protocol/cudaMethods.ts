// CUDA methods of the runtime: install the CUDA execution provider and report whether it can be used. Types only.

export interface CudaSetupParams {
  /** A downloaded .nupkg, an extracted package, or a folder with the provider .so files; absent = download from NuGet. */
  from?: string;
  checkOnly?: boolean;
  skipVersionCheck?: boolean;
  /** Extra folders to look in for missing CUDA/cuDNN libraries. */
  searchDirs?: string[];
}

export interface CudaMissingLibrary {
  soname: string;
  neededBy: string[];
  hint: string;
  foundIn?: string;
}

export interface CudaSetupResult {
  targetDir: string;
  ortVersion: string;
  /** Description of what was installed (absent with checkOnly). */
  installedFrom?: string;
  installed?: string[];
  cudaMajor?: number;
  missing: CudaMissingLibrary[];
  suggestedLibraryPath: string[];
  ready: boolean;
  /** The readable report, line by line (what the CLI prints). */
  report: string[];
}

export interface CudaStatusResult {
  available: boolean;
  reason?: string;
  missing?: string[];
  probed?: boolean;
}

export interface CudaMethods {
  /** Long (downloads hundreds of MB): progress notifications keyed by the request id; cancellable. */
  'cuda/setup': [CudaSetupParams, CudaSetupResult];
  'cuda/status': [{ probe?: boolean }, CudaStatusResult];
}
