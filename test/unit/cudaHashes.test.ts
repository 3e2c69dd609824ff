import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupCuda } from '../../src/runtime/cuda/setupCuda';
import { KNOWN_PROVIDER_SHA256, type ProviderHashes } from '../../src/runtime/cuda/providerHashes';
import { writeZip } from '../../src/runtime/data/zipWriter';
import { fakeElf } from '../support/fakeElf';

const NATIVE = 'runtimes/linux-x64/native';
const CUDA_SO = fakeElf({ needed: ['libonnxruntime_providers_shared.so', 'libc.so.6'], runpath: '$ORIGIN', soname: 'libonnxruntime_providers_cuda.so' });
const SHARED_SO = fakeElf({ needed: ['libc.so.6'], soname: 'libonnxruntime_providers_shared.so' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function nupkg(cuda = CUDA_SO): Buffer {
  return writeZip([
    { name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec', data: Buffer.from('<package><metadata><id>Microsoft.ML.OnnxRuntime.Gpu.Linux</id><version>1.30.0</version></metadata></package>') },
    { name: `${NATIVE}/libonnxruntime_providers_shared.so`, data: SHARED_SO },
    { name: `${NATIVE}/libonnxruntime_providers_cuda.so`, data: cuda },
  ]);
}

describe('CUDA provider libraries are checked against pinned sha256 values', () => {
  let dir: string;
  let target: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-cudahash-'));
    target = join(dir, 'bin');
    mkdirSync(target);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setup = (pkg: Buffer, known: Record<string, ProviderHashes>) => {
    writeFileSync(join(dir, 'p.nupkg'), pkg);
    return setupCuda({ from: join(dir, 'p.nupkg'), targetDir: target, expectedVersion: '1.30.0', dependencies: { checkDriver: false, skipLdd: true }, knownHashes: known });
  };
  const pinned = { '1.30.0': { 'libonnxruntime_providers_shared.so': sha(SHARED_SO), 'libonnxruntime_providers_cuda.so': sha(CUDA_SO) } };

  it('installs libraries whose sha256 match the pinned values, and says so', async () => {
    const r = await setup(nupkg(), pinned);
    assert.equal(r.verification?.pinned, true);
    assert.equal(r.install?.installed.length, 2);
  });

  it('refuses a library that differs by one byte, naming both hashes, and installs nothing', async () => {
    const tampered = Buffer.from(CUDA_SO);
    tampered[tampered.length - 1] ^= 1;
    await assert.rejects(setup(nupkg(tampered), pinned), (e: Error & { code?: string }) => e.code === 'cuda-hash-mismatch' && e.message.includes(sha(tampered)) && e.message.includes(sha(CUDA_SO)) && /nothing was installed/.test(e.message));
    assert.deepEqual(readdirSync(target), []);
  });

  it('a version without pinned values installs and reports the hashes to compare (the shipped table has none yet)', async () => {
    assert.equal(KNOWN_PROVIDER_SHA256['1.30.0'], undefined, 'pinned 1.30.0 values: update this test and docs/cuda.md');
    const r = await setup(nupkg(), {});
    assert.equal(r.verification?.pinned, false);
    assert.deepEqual(r.verification?.sha256, { 'libonnxruntime_providers_shared.so': sha(SHARED_SO), 'libonnxruntime_providers_cuda.so': sha(CUDA_SO) });
  });
});
