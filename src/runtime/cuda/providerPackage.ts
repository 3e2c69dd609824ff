// Where the CUDA provider libraries come from: a NuGet package file (`.nupkg`, a ZIP with a `.nuspec`), an
// extracted package folder, or any folder that holds the two .so files (Python onnxruntime-gpu's `capi/`, the npm
// package com.github.asus4.onnxruntime.linux-x64-gpu). Each source says which ONNX Runtime version it is, when it
// can tell, so a mismatch with onnxruntime-node is refused before anything is copied.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors';
import { listZipEntries, readZipEntry } from '../data/zipReader';
import { PROVIDER_FILES } from './cudaDependencies';
import { scanProviderBinary } from './providerBinaryScan';

export const NUGET_PACKAGE_ID = 'Microsoft.ML.OnnxRuntime.Gpu.Linux';
export const NATIVE_DIR = `runtimes/linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}/native`;

export interface ProviderFile {
  name: (typeof PROVIDER_FILES)[number];
  /** Bytes (from a package) or a file to copy. */
  data: Buffer | { path: string };
}

export interface ProviderSource {
  /** Human description: "NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 (file)". */
  description: string;
  /** ONNX Runtime version of the libraries, when the source says it. */
  version?: string;
  /** Where the version was read from (nuspec, __init__.py, ...). */
  versionFrom?: string;
  files: ProviderFile[];
}

/** Reads `<id>` and `<version>` from a .nuspec (metadata only; no XML library needed for two fields). */
export function parseNuspec(xml: string): { id?: string; version?: string } {
  const field = (name: string) => new RegExp(`<${name}>\\s*([^<]+?)\\s*</${name}>`).exec(xml)?.[1];
  const id = field('id');
  const version = field('version');
  return { ...(id ? { id } : {}), ...(version ? { version } : {}) };
}

function packageProblem(file: string, detail: string): UserError {
  return new UserError('bad-cuda-package', `${file} is not a usable ${NUGET_PACKAGE_ID} package: ${detail}. Download it again from https://www.nuget.org/packages/${NUGET_PACKAGE_ID}.`);
}

/** Reads a .nupkg held in a file: its nuspec version and the two provider libraries, CRC-checked. */
export function readNupkg(file: string): ProviderSource {
  let zip: Buffer;
  try {
    zip = readFileSync(file);
  } catch (err) {
    throw new UserError('bad-cuda-package', `Cannot read ${file}: ${(err as Error).message}. Check the path passed to --from.`);
  }
  let entries;
  try {
    entries = listZipEntries(zip);
  } catch (err) {
    throw packageProblem(file, `not a ZIP archive (${(err as Error).message})`);
  }
  const nuspecEntry = entries.find((e) => !e.name.includes('/') && e.name.endsWith('.nuspec'));
  if (!nuspecEntry) throw packageProblem(file, 'no .nuspec at the top level');
  const read = (e: (typeof entries)[number]) => {
    try {
      return readZipEntry(zip, e);
    } catch (err) {
      throw packageProblem(file, `entry ${e.name} is damaged (${(err as Error).message})`);
    }
  };
  const nuspec = parseNuspec(read(nuspecEntry).toString('utf8'));
  if (nuspec.id && !/^Microsoft\.ML\.OnnxRuntime\.Gpu(\.Linux)?$/i.test(nuspec.id)) {
    throw packageProblem(file, `it is the package "${nuspec.id}", not ${NUGET_PACKAGE_ID}`);
  }
  const files = PROVIDER_FILES.map((name) => {
    const entry = entries.find((e) => e.name === `${NATIVE_DIR}/${name}`);
    if (!entry) throw packageProblem(file, `${NATIVE_DIR}/${name} is missing`);
    return { name, data: read(entry) };
  });
  return {
    description: `NuGet package ${nuspec.id ?? NUGET_PACKAGE_ID} ${nuspec.version ?? '(no version)'} (${file})`,
    ...(nuspec.version ? { version: nuspec.version, versionFrom: nuspecEntry.name } : {}),
    files,
  };
}

/** Finds the folder holding both provider files: `dir`, its runtimes/<rid>/native, or any folder up to 4 levels down. */
function findProviderFolder(dir: string, depth = 0): string | undefined {
  if (PROVIDER_FILES.every((f) => existsSync(join(dir, f)))) return dir;
  if (depth === 0 && existsSync(join(dir, NATIVE_DIR))) return findProviderFolder(join(dir, NATIVE_DIR), 4);
  if (depth >= 4) return undefined;
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => join(dir, d.name));
  } catch {
    return undefined;
  }
  for (const child of children) {
    const hit = findProviderFolder(child, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/** The ONNX Runtime version a folder's libraries belong to: a nuspec in `root`, or Python's onnxruntime/__init__.py. */
function versionOfFolder(root: string, libDir: string): { version: string; from: string } | undefined {
  const nuspec = readdirSync(root).find((n) => n.endsWith('.nuspec'));
  if (nuspec) {
    const v = parseNuspec(readFileSync(join(root, nuspec), 'utf8')).version;
    if (v) return { version: v, from: join(root, nuspec) };
  }
  // Python wheel layout: site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so, __version__ in ../__init__.py.
  for (const init of [join(libDir, '__init__.py'), join(dirname(libDir), '__init__.py')]) {
    if (!existsSync(init)) continue;
    const m = /__version__\s*=\s*["']([^"']+)["']/.exec(readFileSync(init, 'utf8'));
    if (m) return { version: m[1]!, from: init };
  }
  return undefined;
}

/** A folder: an extracted NuGet package, Python onnxruntime-gpu's capi/, or the asus4 npm package. */
export function readProviderFolder(dir: string): ProviderSource {
  const libDir = findProviderFolder(dir);
  if (!libDir) {
    throw new UserError(
      'bad-cuda-package',
      `No folder under ${dir} holds both ${PROVIDER_FILES.join(' and ')}. Pass a ${NUGET_PACKAGE_ID} .nupkg file, its extracted folder, or the folder with the two .so files.`,
    );
  }
  // No metadata (e.g. the asus4 npm package): the provider carries ORT_VERSION as a string; use it if unambiguous.
  const scanned = scanProviderBinary(join(libDir, 'libonnxruntime_providers_cuda.so')).versions;
  const v = versionOfFolder(dir, libDir) ?? (scanned.length === 1 ? { version: scanned[0]!, from: `the version string inside ${join(libDir, 'libonnxruntime_providers_cuda.so')}` } : undefined);
  return {
    description: `folder ${libDir}`,
    ...(v ? { version: v.version, versionFrom: v.from } : {}),
    files: PROVIDER_FILES.map((name) => ({ name, data: { path: join(libDir, name) } })),
  };
}

export function readProviderSource(from: string): ProviderSource {
  if (!existsSync(from)) throw new UserError('bad-cuda-package', `${from} does not exist. Pass the path of a downloaded ${NUGET_PACKAGE_ID} .nupkg or of a folder with the provider libraries.`);
  if (statSync(from).isDirectory()) return readProviderFolder(from);
  if (!/\.(nupkg|zip)$/i.test(basename(from))) {
    throw new UserError('bad-cuda-package', `${from} is neither a .nupkg file nor a folder. Pass the downloaded ${NUGET_PACKAGE_ID}.<version>.nupkg or a folder.`);
  }
  return readNupkg(from);
}
