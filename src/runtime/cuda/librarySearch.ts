// Resolves sonames the way glibc's loader does (ld.so(8)): DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH,
// DT_RUNPATH, /etc/ld.so.cache (read through `ldconfig -p`), then the default directories. Then walks the
// dependency closure of a library and lists exactly which sonames cannot be found, and by whom they are needed.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ELF_MACHINE, readElfDynamic } from './elfDynamic';

export interface LoaderEnvironment {
  /** LD_LIBRARY_PATH entries, in order. */
  ldLibraryPath: string[];
  /** soname -> paths from /etc/ld.so.cache, for this process's architecture. */
  cache: Map<string, string[]>;
  /** Directories the loader tries last (trusted dirs). */
  defaultDirs: string[];
}

export interface ResolvedLibrary {
  soname: string;
  path: string;
  /** Which rule found it: 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'ld.so.cache' | 'default dir'. */
  via: string;
}

export interface MissingLibrary {
  soname: string;
  /** Library file names that need it (direct parents in the closure). */
  neededBy: string[];
}

export interface DependencyReport {
  resolved: ResolvedLibrary[];
  missing: MissingLibrary[];
  /** Set when the library is built for another CPU architecture (then it cannot load at all). */
  wrongArchitecture?: string;
}

const CACHE_ARCH_FLAG: Record<string, RegExp> = { x64: /x86-64/, arm64: /AArch64/i };

export const DEFAULT_LIBRARY_DIRS =
  process.arch === 'arm64'
    ? ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib']
    : ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/**
 * Parses `ldconfig -p` output: lines like `\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9`.
 * Keeps only entries for `arch` (32-bit entries of a multilib system have no "x86-64" flag).
 */
export function parseLdconfigCache(text: string, arch: string = process.arch): Map<string, string[]> {
  const want = CACHE_ARCH_FLAG[arch];
  const cache = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+)\s+\(([^)]*)\)(?:\s+OS ABI:[^=]*)?\s+=>\s+(\S.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, soname, flags, path] = m as unknown as [string, string, string, string];
    if (want && !want.test(flags)) continue;
    const list = cache.get(soname) ?? [];
    list.push(path);
    cache.set(soname, list);
  }
  return cache;
}

/** Runs `ldconfig -p` (it reads /etc/ld.so.cache; no root needed). Empty when ldconfig is unavailable. */
export function readLdconfigCache(): Map<string, string[]> {
  for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    if (bin.startsWith('/') && !existsSync(bin)) continue;
    try {
      return parseLdconfigCache(execFileSync(bin, ['-p'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }));
    } catch {
      // try the next location
    }
  }
  return new Map();
}

export function loaderEnvironment(env: NodeJS.ProcessEnv = process.env): LoaderEnvironment {
  return {
    ldLibraryPath: (env.LD_LIBRARY_PATH ?? '').split(/[:;]/).filter(Boolean),
    cache: readLdconfigCache(),
    defaultDirs: DEFAULT_LIBRARY_DIRS,
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function expandOrigin(dir: string, origin: string): string {
  return dir.replace(/\$\{ORIGIN\}|\$ORIGIN/g, origin);
}

/** Finds `soname` for a library whose own RPATH/RUNPATH are given (with $ORIGIN = the library's folder). */
export function resolveSoname(
  soname: string,
  requester: { origin: string; runpath: string[]; rpath: string[] },
  loader: LoaderEnvironment,
): ResolvedLibrary | undefined {
  if (soname.includes('/')) return isFile(soname) ? { soname, path: soname, via: 'path' } : undefined;
  const tries: [string, string[]][] = [
    ['rpath', requester.runpath.length ? [] : requester.rpath.map((d) => expandOrigin(d, requester.origin))],
    ['LD_LIBRARY_PATH', loader.ldLibraryPath],
    ['runpath', requester.runpath.map((d) => expandOrigin(d, requester.origin))],
  ];
  for (const [via, dirs] of tries) {
    for (const dir of dirs) {
      const candidate = join(dir, soname);
      if (isFile(candidate)) return { soname, path: candidate, via };
    }
  }
  const cached = loader.cache.get(soname)?.find(isFile);
  if (cached) return { soname, path: cached, via: 'ld.so.cache' };
  for (const dir of loader.defaultDirs) {
    const candidate = join(dir, soname);
    if (isFile(candidate)) return { soname, path: candidate, via: 'default dir' };
  }
  return undefined;
}

/**
 * Walks the DT_NEEDED closure of `libraryPath` (breadth first, each library parsed once) and reports what resolves
 * and what does not. `extraSonames` are checked as if `libraryPath` needed them (e.g. libcuda.so.1, which the CUDA
 * runtime dlopens instead of linking). Sonames the loader has never seen are listed once, with every requester.
 */
export function dependencyReport(libraryPath: string, loader: LoaderEnvironment, extraSonames: string[] = []): DependencyReport {
  const resolved = new Map<string, ResolvedLibrary>();
  const missing = new Map<string, Set<string>>();
  const parsed = new Set<string>();
  let wrongArchitecture: string | undefined;
  const queue: { path: string; extra: string[] }[] = [{ path: libraryPath, extra: extraSonames }];
  while (queue.length) {
    const { path, extra } = queue.shift()!;
    if (parsed.has(path)) continue;
    parsed.add(path);
    let info;
    try {
      info = readElfDynamic(path);
    } catch {
      continue; // a linker script or foreign file in a system dir: the loader would skip it too
    }
    if (path === libraryPath && info.machine !== (process.arch === 'arm64' ? ELF_MACHINE.aarch64 : ELF_MACHINE.x86_64)) {
      // Every dependency might resolve, yet the library itself cannot load on this CPU.
      wrongArchitecture = `${libraryPath} is built for ELF machine ${info.machine}, not for this ${process.arch} machine; use the linux-${process.arch} package.`;
      break;
    }
    const requester = { origin: dirname(path), runpath: info.runpath, rpath: info.rpath };
    const name = path.split('/').pop()!;
    for (const soname of [...info.needed, ...extra]) {
      if (resolved.has(soname)) continue;
      const hit = resolveSoname(soname, requester, loader);
      if (hit) {
        resolved.set(soname, hit);
        missing.delete(soname);
        queue.push({ path: hit.path, extra: [] });
      } else {
        const by = missing.get(soname) ?? new Set<string>();
        by.add(name);
        missing.set(soname, by);
      }
    }
  }
  return {
    resolved: [...resolved.values()],
    missing: [...missing.entries()].map(([soname, by]) => ({ soname, neededBy: [...by] })),
    ...(wrongArchitecture ? { wrongArchitecture } : {}),
  };
}

/** `ldd FILE` as a cross-check (the sonames it prints as "not found"); undefined when ldd is unavailable. */
export function lddNotFound(libraryPath: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  try {
    const out = execFileSync('ldd', [libraryPath], { encoding: 'utf8', timeout: 20_000, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return parseLddNotFound(out);
  } catch (err) {
    const out = (err as { stdout?: unknown }).stdout;
    return typeof out === 'string' && out.includes('=>') ? parseLddNotFound(out) : undefined;
  }
}

export function parseLddNotFound(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}
