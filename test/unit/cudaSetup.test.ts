import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeZip } from '../../src/runtime/data/zipWriter';
import { setupCuda } from '../../src/runtime/cuda/setupCuda';
import { nupkgUrl } from '../../src/runtime/cuda/nugetDownload';
import { cudaStatus } from '../../src/runtime/cuda/cudaStatus';
import { cudaCommands } from '../../src/runtime/cli/cudaCommands';
import { captureIO } from '../support/captureIO';
import { fakeElf } from '../support/fakeElf';

const NATIVE = 'runtimes/linux-x64/native';
// The provider needs the shared lib ($ORIGIN) and libc (ld.so.cache) only: with the driver check off, "ready".
const CUDA_SO = fakeElf({ needed: ['libonnxruntime_providers_shared.so', 'libc.so.6'], runpath: '$ORIGIN', soname: 'libonnxruntime_providers_cuda.so' });
const SHARED_SO = fakeElf({ needed: ['libc.so.6'], soname: 'libonnxruntime_providers_shared.so' });

function nuspec(version: string, id = 'Microsoft.ML.OnnxRuntime.Gpu.Linux'): Buffer {
  return Buffer.from(`<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://schemas.microsoft.com/packaging/2012/06/nuspec.xsd">\n  <metadata>\n    <id>${id}</id>\n    <version>${version}</version>\n  </metadata>\n</package>\n`);
}

function fakeNupkg(version: string, options: { cuda?: Buffer; omitCuda?: boolean } = {}): Buffer {
  return writeZip([
    { name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec', data: nuspec(version) },
    { name: `${NATIVE}/libonnxruntime_providers_shared.so`, data: SHARED_SO },
    ...(options.omitCuda ? [] : [{ name: `${NATIVE}/libonnxruntime_providers_cuda.so`, data: options.cuda ?? CUDA_SO }]),
    { name: `${NATIVE}/libonnxruntime.so`, data: Buffer.from('core library, not installed') },
  ]);
}

const NO_DRIVER = { checkDriver: false, skipLdd: true } as const;
/** The target folder's files, without the scan cache setup writes beside the provider. */
const listing = (dir: string) => readdirSync(dir).filter((n) => n !== '.em-lab-provider-facts.json').sort();

describe('em-lab setup cuda (fake packages, temp binary dir)', () => {
  let dir: string;
  let target: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-cuda-'));
    target = join(dir, 'bin');
    mkdirSync(target);
    writeFileSync(join(target, 'libonnxruntime.so.1'), 'the binding stays untouched');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const setup = (from: string, extra: Partial<Parameters<typeof setupCuda>[0]> = {}) =>
    setupCuda({ from, targetDir: target, expectedVersion: '1.30.0', dependencies: NO_DRIVER, ...extra });

  it('installs both provider libraries from a .nupkg, byte for byte, and reports ready', async () => {
    const pkg = join(dir, 'microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg');
    writeFileSync(pkg, fakeNupkg('1.30.0'));
    const result = await setup(pkg);
    assert.deepEqual(readFileSync(join(target, 'libonnxruntime_providers_cuda.so')), CUDA_SO);
    assert.deepEqual(readFileSync(join(target, 'libonnxruntime_providers_shared.so')), SHARED_SO);
    assert.deepEqual(listing(target), ['libonnxruntime.so.1', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']);
    assert.equal(result.source?.version, '1.30.0');
    assert.equal(result.ready, true, JSON.stringify(result.dependencies.missing));
    assert.deepEqual(result.install?.replaced, []);
    // cudaStatus sees the files and the dependencies (then stops at "no GPU device" on this machine).
    const status = await cudaStatus({ targetDir: target, dependencies: NO_DRIVER });
    if (!existsSync('/dev/nvidiactl')) assert.match(status.reason ?? '', /No NVIDIA GPU is visible/);
  });

  it('refuses a version mismatch and changes nothing', async () => {
    const pkg = join(dir, 'old.nupkg');
    writeFileSync(pkg, fakeNupkg('1.29.0'));
    await assert.rejects(setup(pkg), (e: Error & { code?: string }) => e.code === 'cuda-version-mismatch' && /1\.29\.0.*onnxruntime-node is 1\.30\.0.*Nothing was changed/.test(e.message));
    assert.deepEqual(listing(target), ['libonnxruntime.so.1']);
    // ...unless told to skip the check
    const forced = await setup(pkg, { skipVersionCheck: true });
    assert.equal(forced.install?.installed.length, 2);
  });

  it('copies nothing from a damaged package (CRC error in the second library)', async () => {
    const marker = Buffer.from('UNIQUE-CUDA-PAYLOAD-0123456789');
    const zip = fakeNupkg('1.30.0', { cuda: Buffer.concat([CUDA_SO, marker]) });
    zip[zip.indexOf(marker) + 3] ^= 0xff; // stored entry: flip a byte of the data
    const pkg = join(dir, 'bad.nupkg');
    writeFileSync(pkg, zip);
    await assert.rejects(setup(pkg), (e: Error & { code?: string }) => e.code === 'bad-cuda-package' && /CRC-32/.test(e.message));
    assert.deepEqual(listing(target), ['libonnxruntime.so.1']);
    writeFileSync(pkg, fakeNupkg('1.30.0', { omitCuda: true }));
    await assert.rejects(setup(pkg), /runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so is missing/);
  });

  it('rolls back when moving the second file into place fails: old files restored, no temporaries left', async () => {
    writeFileSync(join(target, 'libonnxruntime_providers_shared.so'), 'previous shared');
    const pkg = join(dir, 'p.nupkg');
    writeFileSync(pkg, fakeNupkg('1.30.0'));
    const hooks = {
      beforeCommit: (name: string) => {
        if (name === 'libonnxruntime_providers_cuda.so') throw new Error('simulated disk failure');
      },
    };
    await assert.rejects(setup(pkg, { hooks }), (e: Error & { code?: string }) => e.code === 'cuda-install-failed' && /restored/.test(e.message));
    assert.deepEqual(listing(target), ['libonnxruntime.so.1', 'libonnxruntime_providers_shared.so']);
    assert.equal(readFileSync(join(target, 'libonnxruntime_providers_shared.so'), 'utf8'), 'previous shared');
    // and a later install replaces it, reporting the replacement
    const ok = await setup(pkg);
    assert.deepEqual(ok.install?.replaced, ['libonnxruntime_providers_shared.so']);
  });

  it('takes a Python onnxruntime-gpu layout (capi/ + __version__) and refuses a folder of unknown version', async () => {
    const capi = join(dir, 'site-packages', 'onnxruntime', 'capi');
    mkdirSync(capi, { recursive: true });
    writeFileSync(join(capi, 'libonnxruntime_providers_cuda.so'), CUDA_SO);
    writeFileSync(join(capi, 'libonnxruntime_providers_shared.so'), SHARED_SO);
    writeFileSync(join(dir, 'site-packages', 'onnxruntime', '__init__.py'), '__version__ = "1.30.0"\n');
    const result = await setup(join(dir, 'site-packages', 'onnxruntime'));
    assert.equal(result.source?.version, '1.30.0');
    assert.match(result.source?.versionFrom ?? '', /__init__\.py$/);
    rmSync(join(dir, 'site-packages', 'onnxruntime', '__init__.py'));
    await assert.rejects(setup(capi), (e: Error & { code?: string }) => e.code === 'cuda-version-unknown' && /--skip-version-check/.test(e.message));
  });

  it('reads the version from the library itself when a folder has no metadata, and checks cuDNN it dlopens', async () => {
    const folder = join(dir, 'Plugins', 'Linux', 'x64'); // the asus4 npm package layout
    mkdirSync(folder, { recursive: true });
    const withStrings = (elf: Buffer, version: string) => Buffer.concat([elf, Buffer.from(`\0${version}\0libcudnn.so\0`)]);
    writeFileSync(join(folder, 'libonnxruntime_providers_cuda.so'), withStrings(CUDA_SO, '1.29.0'));
    writeFileSync(join(folder, 'libonnxruntime_providers_shared.so'), SHARED_SO);
    await assert.rejects(setup(dir), (e: Error & { code?: string }) => e.code === 'cuda-version-mismatch' && /1\.29\.0 \(from the version string inside/.test(e.message));
    writeFileSync(join(folder, 'libonnxruntime_providers_cuda.so'), withStrings(CUDA_SO, '1.30.0'));
    const loader = { ldLibraryPath: [], cache: new Map([['libc.so.6', ['/lib/x86_64-linux-gnu/libc.so.6']]]), defaultDirs: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'] };
    const result = await setup(dir, { dependencies: { ...NO_DRIVER, loader } });
    assert.equal(result.source?.version, '1.30.0');
    assert.deepEqual(result.dependencies.missing.map((m) => [m.soname, m.loadedAtRunTime]), [['libcudnn.so.9', true]]);
    assert.equal(result.ready, false);
  });

  it('says NuGet is unreachable (closed local port) and how to pass a downloaded file', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(
      setupCuda({ targetDir: target, expectedVersion: '1.30.0', nugetBase: `http://127.0.0.1:${port}`, cacheDir: join(dir, 'cache'), dependencies: NO_DRIVER }),
      (e: Error & { code?: string }) =>
        e.code === 'nuget-unreachable' &&
        e.message.includes('connection was refused') &&
        e.message.includes(nupkgUrl('1.30.0')) &&
        e.message.includes('em-lab setup cuda --from /path/to/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg'),
    );
    assert.deepEqual(listing(target), ['libonnxruntime.so.1']);
  });

  it('downloads from a NuGet-like server (flat-container path), caches the file, and says 404 clearly', async () => {
    const body = fakeNupkg('1.30.0');
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/microsoft.ml.onnxruntime.gpu.linux/1.30.0/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg') {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const cacheDir = join(dir, 'cache');
      const result = await setupCuda({ targetDir: target, expectedVersion: '1.30.0', nugetBase: base, cacheDir, dependencies: NO_DRIVER });
      assert.equal(result.ready, true);
      assert.ok(existsSync(join(cacheDir, 'microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg')));
      await setupCuda({ targetDir: target, expectedVersion: '1.30.0', nugetBase: base, cacheDir, dependencies: NO_DRIVER });
      assert.equal(seen.length, 1, 'second setup reuses the cached download');
      await assert.rejects(
        setupCuda({ targetDir: target, expectedVersion: '9.9.9', nugetBase: base, cacheDir, dependencies: NO_DRIVER }),
        (e: Error & { code?: string }) => e.code === 'cuda-package-not-found' && /9\.9\.9/.test(e.message),
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('CLI: `setup cuda --check-only --target-dir` exits 3 and lists the missing libraries', async () => {
    writeFileSync(join(target, 'libonnxruntime_providers_shared.so'), SHARED_SO);
    writeFileSync(join(target, 'libonnxruntime_providers_cuda.so'), fakeElf({ needed: ['libonnxruntime_providers_shared.so', 'libcudnn.so.9', 'libcublasLt.so.12'], runpath: '$ORIGIN' }));
    const command = cudaCommands.find((c) => c.path.join(' ') === 'setup cuda')!;
    const io = captureIO({ env: { LD_LIBRARY_PATH: '' } });
    const code = await command.run({ options: { 'check-only': true, 'target-dir': target }, positionals: [] }, io);
    assert.equal(code, 3);
    const text = io.stdout.join('\n');
    assert.match(text, /libcudnn\.so\.9 {2}\(needed by libonnxruntime_providers_cuda\.so\)/);
    assert.match(text, /libcublasLt\.so\.12/);
    assert.match(text, /libcuda\.so\.1/); // the driver is checked too
    assert.match(text, /CUDA is not ready yet/);
  });
});
