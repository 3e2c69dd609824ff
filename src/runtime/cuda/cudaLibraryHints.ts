// How to get each CUDA / cuDNN library the CUDA execution provider needs, and where such libraries are often
// installed but not on the loader's path (pip `nvidia-*` wheels, the CUDA toolkit), so a report can say
// "found in X: add it to LD_LIBRARY_PATH" instead of "install it".
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

interface LibraryFamily {
  pattern: RegExp;
  what: string;
  /** pip wheel for CUDA major 12 and 13 (CUDA 13 wheels dropped the -cuXX suffix for most libraries). */
  pip: (cudaMajor: number) => string;
  apt: (cudaMajor: number) => string;
}

const FAMILIES: LibraryFamily[] = [
  { pattern: /^libcudart\.so/, what: 'CUDA runtime', pip: (c) => (c >= 13 ? 'nvidia-cuda-runtime' : `nvidia-cuda-runtime-cu${c}`), apt: (c) => `cuda-cudart-${c}-0` },
  { pattern: /^libcublas(Lt)?\.so/, what: 'cuBLAS', pip: (c) => (c >= 13 ? 'nvidia-cublas' : `nvidia-cublas-cu${c}`), apt: (c) => `libcublas-${c}-0` },
  { pattern: /^libcudnn/, what: 'cuDNN 9', pip: (c) => `nvidia-cudnn-cu${c}`, apt: (c) => `libcudnn9-cuda-${c}` },
  { pattern: /^libcufft\.so/, what: 'cuFFT', pip: (c) => (c >= 13 ? 'nvidia-cufft' : `nvidia-cufft-cu${c}`), apt: (c) => `libcufft-${c}-0` },
  { pattern: /^libcurand\.so/, what: 'cuRAND', pip: (c) => (c >= 13 ? 'nvidia-curand' : `nvidia-curand-cu${c}`), apt: (c) => `libcurand-${c}-0` },
  { pattern: /^libnvrtc/, what: 'NVRTC', pip: (c) => (c >= 13 ? 'nvidia-cuda-nvrtc' : `nvidia-cuda-nvrtc-cu${c}`), apt: (c) => `cuda-nvrtc-${c}-0` },
  { pattern: /^libnvJitLink/, what: 'nvJitLink', pip: (c) => (c >= 13 ? 'nvidia-nvjitlink' : `nvidia-nvjitlink-cu${c}`), apt: (c) => `libnvjitlink-${c}-0` },
];

/**
 * The CUDA major version the provider was built against, read from the sonames it needs: libcudart.so.12 /
 * libcublas.so.13 carry it directly; cuFFT is one ahead (libcufft.so.11 is CUDA 12). Undefined when unknown.
 */
export function cudaMajorOf(sonames: string[]): number | undefined {
  for (const s of sonames) {
    const m = /^lib(?:cudart|cublas|cublasLt|nvrtc)\.so\.(\d+)/.exec(s);
    if (m) return Number(m[1]);
  }
  for (const s of sonames) {
    const m = /^libcufft\.so\.(\d+)/.exec(s);
    if (m) return Number(m[1]) + 1;
  }
  return undefined;
}

/** One line saying how to install `soname`. */
export function installHint(soname: string, cudaMajor = 12): string {
  if (/^libcuda\.so/.test(soname)) {
    return `${soname}: the NVIDIA driver library. Install the NVIDIA driver (e.g. \`sudo apt install nvidia-driver-570\` or your distribution's package); in a container, run it with the NVIDIA Container Toolkit (\`--gpus all\`).`;
  }
  const family = FAMILIES.find((f) => f.pattern.test(soname));
  if (!family) return `${soname}: part of the CUDA ${cudaMajor} toolkit or cuDNN; install the CUDA ${cudaMajor} toolkit from https://developer.nvidia.com/cuda-downloads.`;
  return (
    `${soname} (${family.what}, CUDA ${cudaMajor}): \`pip install ${family.pip(cudaMajor)}\` then add its lib folder to LD_LIBRARY_PATH, ` +
    `or \`sudo apt install ${family.apt(cudaMajor)}\` from NVIDIA's CUDA apt repository, or the CUDA ${cudaMajor} toolkit (/usr/local/cuda-${cudaMajor}/lib64).`
  );
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/**
 * Folders where CUDA libraries commonly sit off the loader path: the CUDA toolkits, and the `nvidia/<pkg>/lib`
 * (CUDA 12 wheels) and `nvidia/cu13/lib` (CUDA 13 wheels) folders of every Python site-packages we can find,
 * plus PyTorch's own lib folder. Only existing folders are returned.
 */
export function wellKnownCudaDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  const cudaRoots = ['/usr/local/cuda', ...subdirs('/usr/local').filter((d) => /\/cuda-\d/.test(d)), ...(env.CUDA_HOME ? [env.CUDA_HOME] : [])];
  for (const root of cudaRoots) dirs.push(join(root, 'lib64'), join(root, 'lib'), join(root, 'targets', process.arch === 'arm64' ? 'sbsa-linux' : 'x86_64-linux', 'lib'));
  const pythonLibs = ['/usr/lib', '/usr/local/lib', join(homedir(), '.local', 'lib'), '/opt/conda/lib'];
  for (const prefix of [env.VIRTUAL_ENV, env.CONDA_PREFIX]) if (prefix) pythonLibs.push(join(prefix, 'lib'));
  for (const lib of pythonLibs) {
    for (const py of subdirs(lib).filter((d) => /\/python3[^/]*$/.test(d))) {
      for (const site of ['site-packages', 'dist-packages'].map((s) => join(py, s))) {
        for (const pkg of subdirs(join(site, 'nvidia'))) dirs.push(join(pkg, 'lib'));
        dirs.push(join(site, 'torch', 'lib'));
      }
    }
  }
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

/** For each missing soname, the first well-known folder that holds it (so LD_LIBRARY_PATH can point there). */
export function findOffPath(sonames: string[], dirs: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const soname of sonames) {
    const dir = dirs.find((d) => existsSync(join(d, soname)));
    if (dir) found.set(soname, dir);
  }
  return found;
}
