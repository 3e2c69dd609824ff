// One answer to "can EM Lab use CUDA here, and if not, why?" for `em-lab doctor`, `em-lab cuda status` and the
// extension. Cheap by default (file checks + ELF reads); `probe` also creates a one-node session on the CUDA EP,
// which is the only proof that the provider really loads (it costs a second or two and some GPU memory).
import { existsSync } from 'node:fs';
import { GraphBuilder } from '../onnx/graphBuilder';
import { toModelBytes } from '../onnx/serialize';
import { createSession, ortBinaryDir } from '../onnx/ort';
import { errorMessage } from '../errors';
import { checkCudaDependencies, PROVIDER_FILES, type DependencyCheckOptions } from './cudaDependencies';

export interface CudaStatus {
  available: boolean;
  reason?: string;
  /** Sonames the loader cannot find (CUDA, cuDNN, driver). */
  missing?: string[];
  /** Set when `probe` ran: whether a session was created on the CUDA EP. */
  probed?: boolean;
}

export interface CudaStatusOptions {
  /** Create a tiny session on the CUDA EP to prove it loads. */
  probe?: boolean;
  targetDir?: string;
  dependencies?: DependencyCheckOptions;
}

/** Runs a 1-node graph (Add) on the CUDA EP; returns the fallback reason, or undefined when CUDA worked. */
async function probeSession(): Promise<string | undefined> {
  const g = new GraphBuilder('cuda_probe');
  const x = g.input('x', 'float32', [1]);
  g.output(g.op('Add', [x, x]), 'y');
  const created = await createSession(toModelBytes(g), { device: 'cuda' });
  await created.session.release();
  return created.device === 'cuda' ? undefined : (created.fallbackReason ?? 'the session fell back to CPU');
}

export async function cudaStatus(options: CudaStatusOptions = {}): Promise<CudaStatus> {
  if (process.platform !== 'linux') return { available: false, reason: `CUDA is supported on Linux only (this is ${process.platform}).` };
  const dir = options.targetDir ?? ortBinaryDir();
  const absent = PROVIDER_FILES.filter((f) => !existsSync(`${dir}/${f}`));
  if (absent.length) {
    return { available: false, reason: `CUDA provider libraries not installed (${absent.join(', ')} missing in ${dir}). Run \`em-lab setup cuda\`.` };
  }
  let check;
  try {
    check = checkCudaDependencies(dir, { skipLdd: true, ...options.dependencies });
  } catch (err) {
    return { available: false, reason: `Cannot read the CUDA provider library: ${errorMessage(err)} Run \`em-lab setup cuda\` again.` };
  }
  if (check.wrongArchitecture) return { available: false, reason: check.wrongArchitecture };
  if (check.missing.length) {
    const where = check.suggestedLibraryPath.length ? ` Some are installed off the loader path: set LD_LIBRARY_PATH=${check.suggestedLibraryPath.join(':')} before starting.` : '';
    return {
      available: false,
      reason: `Libraries the CUDA provider needs are missing: ${check.missing.map((m) => m.soname).join(', ')}.${where} Run \`em-lab setup cuda --check-only\` for how to install each.`,
      missing: check.missing.map((m) => m.soname),
    };
  }
  if (!existsSync('/dev/nvidiactl') && !existsSync('/proc/driver/nvidia/version')) {
    return { available: false, reason: 'No NVIDIA GPU is visible (no /dev/nvidiactl): the libraries are in place but there is no device. In a container, start it with --gpus all.' };
  }
  if (!options.probe) return { available: true };
  try {
    const reason = await probeSession();
    return reason ? { available: false, reason, probed: true } : { available: true, probed: true };
  } catch (err) {
    return { available: false, reason: `A CUDA test session failed: ${errorMessage(err)}`, probed: true };
  }
}
