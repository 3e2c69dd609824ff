// Node version, onnxruntime-node (loads and runs a tiny graph), the CUDA execution provider, the training data and
// free disk where runs are written.
import { existsSync, promises as fs, constants as fsConstants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { onSurface, type CheckOutcome, type CheckSpec } from './checkTypes';
import { cudaProviderFiles, createSession, loadOrt, ORT_REINSTALL_FIX, ortVersion, tensor } from '../onnx/ort';
import { cudaStatus } from '../cuda/cudaStatus';
import { GraphBuilder } from '../onnx/graphBuilder';
import { toModelBytes } from '../onnx/serialize';
import { trainingDataStatus } from '../data/registry';
import { errorMessage } from '../errors';

export const MIN_NODE: readonly [number, number] = [20, 15];
const GiB = 1024 ** 3;
/** Free space where runs are written: below 1 GiB fails (checkpoints and exported graphs cannot be written); below
 *  10 GiB warns (a Llama-3.2-1B fp32 export alone is ~4.9 GB). */
export const DISK_FAIL_BYTES = 1 * GiB;
export const DISK_WARN_BYTES = 10 * GiB;

export function nodeVersionOk(version: string, min = MIN_NODE): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

export const nodeCheck: CheckSpec = {
  id: 'node',
  title: 'Node.js version',
  required: true,
  run: async () =>
    nodeVersionOk(process.versions.node)
      ? { status: 'ok', detail: `Node ${process.versions.node} (needs >= ${MIN_NODE.join('.')}).` }
      : { status: 'fail', detail: `Node ${process.versions.node} is too old (needs >= ${MIN_NODE.join('.')}).`, fix: 'Install Node 20.15 or newer (https://nodejs.org), or update VS Code (it bundles its own Node).' },
};

/** y = x + 1 on a [2] float tensor: enough to prove the native binding loads, builds a session and runs. */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder('doctor');
  const x = g.input('x', 'float32', [2]);
  g.output(g.op('Add', [x, g.constFloat(1)]), 'y');
  return toModelBytes(g);
}

async function runsTinyOnCpu(): Promise<{ ms: number }> {
  const start = Date.now();
  const { session } = await createSession(tinyModel(), { device: 'cpu', threads: 1 });
  try {
    const out = await session.run({ x: tensor('float32', new Float32Array([1, -2.5]), [2]) });
    const y = Array.from(out.y!.data as Float32Array);
    if (y[0] !== 2 || y[1] !== -1.5) throw new Error(`the test graph computed [${y}] instead of [2, -1.5]`);
  } finally {
    await session.release();
  }
  return { ms: Date.now() - start };
}

export const onnxruntimeCheck: CheckSpec = {
  id: 'onnxruntime',
  title: 'ONNX Runtime (onnxruntime-node)',
  required: true,
  run: async () => {
    try {
      loadOrt();
      const r = await runsTinyOnCpu();
      return { status: 'ok', detail: `onnxruntime-node ${ortVersion()} loads; a CPU session ran a test graph correctly (${r.ms} ms).` };
    } catch (err) {
      return { status: 'fail', detail: errorMessage(err), fix: ORT_REINSTALL_FIX, action: 'showLog' };
    }
  },
};

function nvidiaGpuPresent(): boolean {
  return existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidiactl');
}

/** Uses the CUDA engineer's cudaStatus() (provider files, ELF dependencies, a probe session); this adds only how
 *  serious it is: no GPU = skip, GPU without the provider = warn, provider installed but broken = fail. */
export const cudaCheck: CheckSpec = {
  id: 'cuda',
  title: 'CUDA execution provider',
  required: false,
  run: async (ctx): Promise<CheckOutcome> => {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      return { status: 'skip', detail: `CUDA via onnxruntime-node is set up for Linux x64 only (this is ${process.platform}/${process.arch}); training runs on the CPU.` };
    }
    const files = cudaProviderFiles();
    const installed = files.cuda && files.shared;
    const gpu = nvidiaGpuPresent();
    const status = await cudaStatus({ probe: gpu });
    if (status.available) return { status: 'ok', detail: `CUDA provider libraries in ${files.dir}; ${status.probed ? 'a CUDA session ran a test graph' : 'all their dependencies resolve'}.` };
    const reason = status.reason ?? 'unknown reason';
    if (!gpu) return { status: 'skip', detail: `No NVIDIA GPU found (no /proc/driver/nvidia/version); training runs on the CPU. ${reason}` };
    return {
      status: installed ? 'fail' : 'warn',
      detail: `An NVIDIA GPU is present but CUDA cannot be used: ${reason}`,
      fix: installed
        ? 'Run `em-lab setup cuda --check-only` in a terminal for which CUDA/cuDNN libraries to install and the LD_LIBRARY_PATH to set.'
        : onSurface(ctx, { vscode: 'Run "EM Lab: Set Up CUDA" to install the CUDA provider libraries.', cli: 'Run `em-lab setup cuda` to install the CUDA provider libraries.' }),
      action: 'setupCuda',
    };
  },
};

export const trainingDataCheck: CheckSpec = {
  id: 'training-data',
  title: 'Training data',
  required: false,
  run: async (ctx) => {
    const s = trainingDataStatus(ctx.startDir);
    if (s.decrypted) {
      const names = s.datasets.map((d) => d.id).join(', ');
      const missing = s.missing.length ? `; not found: ${s.missing.join(', ')}` : '';
      return { status: 'ok', detail: `${s.datasets.length} dataset${s.datasets.length === 1 ? '' : 's'} decrypted in ${s.extractedDir} (${names})${missing}.` };
    }
    if (s.archivePresent) {
      return {
        status: 'warn',
        detail: `The archive ${s.archivePath} is present but not decrypted (no .jsonl in ${s.extractedDir}).`,
        fix: onSurface(ctx, { vscode: 'Run "EM Lab: Get Training Data" (it decrypts the archive).', cli: `Run \`em-lab data unprotect ${s.archivePath} -p model-organisms-em-datasets --remove-canaries\`.` }),
        action: 'getTrainingData',
      };
    }
    return {
      status: 'warn',
      detail: `No training data: neither ${s.archivePath} nor ${s.extractedDir} exists.`,
      fix: onSurface(ctx, {
        vscode: 'Run "EM Lab: Get Training Data" (downloads and decrypts it; see training_data/README.md).',
        cli: `Download training_datasets.zip.enc into ${dirname(s.archivePath)} (see training_data/README.md), then run \`em-lab data unprotect ${s.archivePath} -p model-organisms-em-datasets --remove-canaries\`.`,
      }),
      action: 'getTrainingData',
    };
  },
};

async function nearestExisting(path: string): Promise<string> {
  let dir = resolve(path);
  for (;;) {
    try {
      await fs.stat(dir);
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return dir;
      dir = parent;
    }
  }
}

export function formatBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}

export const diskCheck: CheckSpec = {
  id: 'disk',
  title: 'Free disk where runs are written',
  required: true,
  run: async (ctx) => {
    const dir = await nearestExisting(ctx.runsDir);
    const where = dir === resolve(ctx.runsDir) ? ctx.runsDir : `${ctx.runsDir} (not created yet; checked ${dir})`;
    try {
      await fs.access(dir, fsConstants.W_OK);
    } catch {
      return { status: 'fail', detail: `${where} is not writable.`, fix: 'Open a folder you can write to, or fix the folder\'s permissions.' };
    }
    const st = await fs.statfs(dir);
    const free = st.bavail * st.bsize;
    if (free < DISK_FAIL_BYTES) return { status: 'fail', detail: `Only ${formatBytes(free)} free at ${where}.`, fix: 'Free at least 1 GiB (10 GiB recommended for model exports and checkpoints).' };
    if (free < DISK_WARN_BYTES) return { status: 'warn', detail: `${formatBytes(free)} free at ${where}; a Llama-3.2-1B export needs ~5 GB.`, fix: 'Free up space (10 GiB recommended).' };
    return { status: 'ok', detail: `${formatBytes(free)} free at ${where}.` };
  },
};
