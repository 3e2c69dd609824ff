// The CUDA provider libraries are native code loaded into every EM Lab process that uses the GPU, so before they
// are installed their sha256 is compared with values pinned here for the ONNX Runtime versions EM Lab supports:
// a package swapped on the way (a proxy, a mirror, EM_LAB_NUGET_URL, a file passed with --from) cannot slip in
// another library. A version with no pinned values is installed with a warning that prints the hashes, so the
// user can compare them with NuGet's; docs/cuda.md ("Pinned hashes") says how to add a version.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors';
import type { PROVIDER_FILES } from './cudaDependencies';
import type { ProviderFile } from './providerPackage';

export type ProviderHashes = Record<(typeof PROVIDER_FILES)[number], string>;

/**
 * sha256 (hex) of libonnxruntime_providers_{shared,cuda}.so in Microsoft.ML.OnnxRuntime.Gpu.Linux, per version.
 * 1.30.0 (the pinned onnxruntime-node) is not listed yet: NuGet cannot be reached from the workplace that wrote
 * this, and a value copied from anywhere else would not be a known one. Add it as docs/cuda.md describes.
 */
export const KNOWN_PROVIDER_SHA256: Readonly<Record<string, ProviderHashes>> = {};

export interface ProviderVerification {
  /** True when the version has pinned values and every file matched them. */
  pinned: boolean;
  sha256: Record<string, string>;
}

function sha256Of(data: ProviderFile['data']): string {
  const h = createHash('sha256');
  if (Buffer.isBuffer(data)) return h.update(data).digest('hex');
  const fd = openSync(data.path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Hashes the files; with pinned values for `version`, refuses any mismatch before anything is installed. */
export function verifyProviderFiles(files: ProviderFile[], version: string | undefined, description: string, known: Readonly<Record<string, ProviderHashes>> = KNOWN_PROVIDER_SHA256): ProviderVerification {
  const sha256 = Object.fromEntries(files.map((f) => [f.name, sha256Of(f.data)]));
  const pinned = version !== undefined ? known[version] : undefined;
  if (!pinned) return { pinned: false, sha256 };
  for (const f of files) {
    if (sha256[f.name] !== pinned[f.name]) {
      throw new UserError(
        'cuda-hash-mismatch',
        `${f.name} from ${description} has sha256 ${sha256[f.name]}, but the official ONNX Runtime ${version} library has ${pinned[f.name]}. It is not the library EM Lab supports (altered, or from another build); nothing was installed. Download ${'Microsoft.ML.OnnxRuntime.Gpu.Linux'} ${version} from nuget.org again.`,
      );
    }
  }
  return { pinned: true, sha256 };
}
