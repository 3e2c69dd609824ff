// The ONE module that imports onnxruntime-node. Everything else gets sessions and tensors from here, so the
// execution-provider choice, the CPU fallback and the session options live in one place.
// (Transformers.js loads its own copy of onnxruntime-node behind its backends/onnx.js; that is fine.)
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';

export type Ort = typeof OrtTypes;
export type OrtSession = OrtTypes.InferenceSession;
export type OrtTensor = OrtTypes.Tensor;
export type OrtSessionOptions = OrtTypes.InferenceSession.SessionOptions;

const require = createRequire(import.meta.url);
let cached: Ort | undefined;

/** Loads onnxruntime-node (lazily: the CLI's data commands never pay for it). Throws with a fix on failure. */
export function loadOrt(): Ort {
  if (cached) return cached;
  try {
    cached = require('onnxruntime-node') as Ort;
    return cached;
  } catch (err) {
    throw new Error(
      `onnxruntime-node failed to load: ${err instanceof Error ? err.message : String(err)}. ` +
        'Reinstall dependencies with `npm ci` (the project .npmrc skips only the optional CUDA download).',
    );
  }
}

/** Folder holding onnxruntime_binding.node and libonnxruntime.so.1 (where CUDA provider libraries must go). */
export function ortBinaryDir(): string {
  const pkg = require.resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

export function ortVersion(): string {
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

export interface CudaProviderFiles {
  dir: string;
  shared: boolean;
  cuda: boolean;
}

/** Whether the CUDA provider libraries sit beside the binding (they don't ship in the npm tarball). */
export function cudaProviderFiles(): CudaProviderFiles {
  const dir = ortBinaryDir();
  return {
    dir,
    shared: existsSync(join(dir, 'libonnxruntime_providers_shared.so')),
    cuda: existsSync(join(dir, 'libonnxruntime_providers_cuda.so')),
  };
}
