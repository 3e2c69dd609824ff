// `em-lab setup cuda` and `em-lab cuda status`: install and check the CUDA execution provider.
import { bool, list, str, type CliCommand } from './command';
import { describeDependencyCheck } from '../cuda/cudaDependencies';
import { cudaStatus } from '../cuda/cudaStatus';
import { setupCuda } from '../cuda/setupCuda';

const setupCudaCommand: CliCommand = {
  path: ['setup', 'cuda'],
  summary: 'Install the CUDA provider libraries for onnxruntime-node and check the CUDA/cuDNN libraries they need.',
  details: [
    'Downloads Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version as onnxruntime-node from NuGet, or takes',
    'a package you downloaded (--from FILE.nupkg), an extracted package, or a folder holding',
    'libonnxruntime_providers_shared.so + libonnxruntime_providers_cuda.so (e.g. Python onnxruntime-gpu\'s capi/).',
    'Copies them beside onnxruntime-node\'s binary (all or nothing), then lists every CUDA/cuDNN library the loader',
    'cannot find, with how to install it. Exit code 0 = ready, 3 = installed but libraries missing. See docs/cuda.md.',
    '',
    'Examples:',
    '  em-lab setup cuda',
    '  em-lab setup cuda --from ~/Downloads/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg',
    '  em-lab setup cuda --check-only --search /opt/venv/lib/python3.12/site-packages/nvidia/cudnn/lib',
  ].join('\n'),
  options: {
    from: { type: 'string', valueName: 'FILE|DIR', description: 'Use this downloaded .nupkg / folder instead of downloading from NuGet.' },
    'check-only': { type: 'boolean', description: 'Only check what is installed: no download, no copy.' },
    'skip-version-check': { type: 'boolean', description: 'Install even if the package is another ONNX Runtime version than onnxruntime-node (it may not load).' },
    search: { type: 'string', multiple: true, valueName: 'DIR', description: 'Extra folder(s) to look in for missing CUDA libraries (comma-separated or repeated).' },
    'target-dir': { type: 'string', valueName: 'DIR', description: "Install here instead of onnxruntime-node's binary folder (for packaging)." },
  },
  async run(args, io) {
    const from = str(args, 'from');
    const targetDir = str(args, 'target-dir');
    const searchDirs = list(args, 'search');
    const result = await setupCuda({
      ...(from ? { from } : {}),
      ...(targetDir ? { targetDir } : {}),
      checkOnly: bool(args, 'check-only'),
      skipVersionCheck: bool(args, 'skip-version-check'),
      signal: io.signal,
      progress: (m, f) => io.progress(m, f),
      dependencies: { env: io.env, ...(searchDirs ? { searchDirs } : {}) },
    });
    io.event({ event: 'result', ...result });
    if (result.install) {
      io.out(`Installed ${result.install.installed.join(', ')} into ${result.targetDir}`);
      io.out(`  from ${result.source?.description}${result.install.replaced.length ? ` (replaced ${result.install.replaced.length} existing file(s))` : ''}`);
      const v = result.verification;
      if (v?.pinned) io.out('  sha256 matches the official libraries EM Lab pins for this version.');
      else if (v) io.err(`warning: EM Lab has no pinned sha256 for ONNX Runtime ${result.source?.version ?? result.ortVersion}, so these libraries were not checked against known values. Compare with the package on nuget.org:\n${Object.entries(v.sha256).map(([f, h]) => `  ${h}  ${f}`).join('\n')}`);
    } else {
      io.out(`CUDA provider libraries in ${result.targetDir} (onnxruntime-node ${result.ortVersion}):`);
    }
    for (const line of describeDependencyCheck(result.dependencies)) io.out(line);
    io.out(result.ready ? 'CUDA is ready: train or generate with --device cuda.' : 'CUDA is not ready yet: install what is listed above, then run `em-lab setup cuda --check-only`.');
    return result.ready ? 0 : 3;
  },
};

const cudaStatusCommand: CliCommand = {
  path: ['cuda', 'status'],
  summary: 'Say whether the CUDA execution provider can be used here, and if not, why.',
  options: {
    probe: { type: 'boolean', description: 'Also create a tiny session on the GPU (proves the provider loads).' },
  },
  async run(args, io) {
    const status = await cudaStatus({ probe: bool(args, 'probe'), dependencies: { env: io.env } });
    io.event({ event: 'result', ...status });
    io.out(status.available ? `CUDA available${status.probed ? ' (a test session ran on the GPU)' : ''}.` : `CUDA not available: ${status.reason}`);
    return status.available ? 0 : 3;
  },
};

export const cudaCommands: CliCommand[] = [setupCudaCommand, cudaStatusCommand];
