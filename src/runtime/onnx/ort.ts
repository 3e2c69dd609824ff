// The ONE module that imports onnxruntime-node. Everything else gets sessions and tensors from here, so the
// execution-provider choice, the CPU fallback and the session options live in one place.
// (Transformers.js loads its own copy of onnxruntime-node behind its backends/onnx.js; that is fine.)
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';
import { explainCudaLoadFailure } from '../cuda/cudaDependencies';

export type Ort = typeof OrtTypes;
export type OrtSession = OrtTypes.InferenceSession;
export type OrtTensor = OrtTypes.Tensor;
export type OrtSessionOptions = OrtTypes.InferenceSession.SessionOptions;

const require = createRequire(import.meta.url);
let cached: Ort | undefined;

/** What to do when onnxruntime-node does not load, from a checkout or in an installed VSIX (one per platform). */
export const ORT_REINSTALL_FIX =
  'From a checkout: reinstall the dependencies with `npm ci` (package.json\'s allowScripts skips only the optional CUDA download). ' +
  `Installed extension: install the VSIX built for this machine (em-lab-${process.platform}-${process.arch}-<version>.vsix).`;

/** Loads onnxruntime-node (lazily: the CLI's data commands never pay for it). Throws with a fix on failure. */
export function loadOrt(): Ort {
  if (cached) return cached;
  try {
    cached = require('onnxruntime-node') as Ort;
    return cached;
  } catch (err) {
    throw new Error(
      `onnxruntime-node failed to load: ${err instanceof Error ? err.message : String(err)}. ` +
        ORT_REINSTALL_FIX,
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

export type Device = 'cpu' | 'cuda';

export interface SessionRequest {
  device?: Device;
  /** CPU intra-op threads (default: ORT's choice = physical cores). */
  threads?: number;
  /** 'all' (default) or 'disabled' (useful for debugging graph numerics). */
  optimization?: 'all' | 'disabled';
  /** ORT session config entries by their full key, e.g. { 'session.disable_prepacking': '1' }. */
  config?: Record<string, string>;
  /**
   * Per-node profiling (benches): ORT writes a Chrome-trace JSON named `<profile>_<date>.json` when
   * `session.endProfiling()` is called (bench/ortProfile.ts sums it per op).
   */
  profile?: string;
}

export interface CreatedSession {
  session: OrtSession;
  /** The device actually used: 'cpu' when CUDA was asked for but could not load. */
  device: Device;
  /** Why CUDA was not used, when it was asked for. */
  fallbackReason?: string;
}

/**
 * Creates an InferenceSession from a model file path (external data resolves beside it, memory-mapped) or bytes.
 * CUDA: ORT does not fall back by itself when the provider libraries are missing (session creation throws), so
 * we catch that, keep the reason, and recreate on CPU.
 */
export async function createSession(model: string | Uint8Array, request: SessionRequest = {}): Promise<CreatedSession> {
  const ort = loadOrt();
  const base: OrtSessionOptions = {
    graphOptimizationLevel: request.optimization === 'disabled' ? 'disabled' : 'all',
    ...(request.threads ? { intraOpNumThreads: request.threads } : {}),
    // the binding joins nested `extra` keys with '.', so full keys go in flat ({ session: { 'session.x' } } would
    // reach ORT as 'session.session.x', an unknown key it ignores without a word)
    ...(request.config ? { extra: { ...request.config } } : {}),
    ...(request.profile ? { enableProfiling: true, profileFilePrefix: request.profile } : {}),
  };
  const create = (opts: OrtSessionOptions) =>
    typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
  if (request.device === 'cuda') {
    const files = cudaProviderFiles();
    if (!files.cuda || !files.shared) {
      const missing = [!files.shared && 'libonnxruntime_providers_shared.so', !files.cuda && 'libonnxruntime_providers_cuda.so'].filter(Boolean).join(', ');
      return { session: await create({ ...base, executionProviders: ['cpu'] }), device: 'cpu', fallbackReason: `CUDA provider libraries missing in ${files.dir}: ${missing}. Run \`em-lab setup cuda\`.` };
    }
    try {
      return { session: await create({ ...base, executionProviders: [{ name: 'cuda', deviceId: 0 }, 'cpu'] }), device: 'cuda' };
    } catch (err) {
      const reason = explainCudaLoadFailure(files.dir, err instanceof Error ? err.message : String(err));
      return { session: await create({ ...base, executionProviders: ['cpu'] }), device: 'cpu', fallbackReason: `CUDA execution provider failed to load: ${reason}` };
    }
  }
  return { session: await create({ ...base, executionProviders: ['cpu'] }), device: 'cpu' };
}

/** Tensor constructor, re-exported so no other module needs onnxruntime-node. */
export function tensor(type: OrtTypes.Tensor.Type, data: OrtTypes.Tensor.DataType, dims: readonly number[]): OrtTensor {
  const ort = loadOrt();
  return new ort.Tensor(type, data as never, dims);
}
