// The linux-x64 VSIX exactly as `npm run package -- --target linux-x64` builds it: every entry is on the allowlist
// below (written here, apart from .vscodeignore, so a too-wide ignore file fails), what the installed extension
// loads is there, it is at most 60 MB, and the runtime works from an extracted copy away from the checkout (no
// node_modules above it to fall back on): the CLI and the forked runtime process with its worker thread.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RuntimeConnection } from '../../src/host/runtimeConnection';
import { listZipEntries, readZipEntry, type ZipEntry } from '../../src/runtime/data/zipReader';

const root = join(__dirname, '..', '..');
const LIMIT_BYTES = 60e6; // 60 MB, decimal: as the size table prints it

// Everything a linux-x64 VSIX may hold. A new kind of file in the package has to be added here on purpose.
const ALLOWED: RegExp[] = [
  /^extension\.vsixmanifest$/,
  /^\[Content_Types\]\.xml$/,
  /^extension\/package\.json$/,
  /^extension\/readme\.md$/,
  /^extension\/LICENSE\.txt$/,
  /^extension\/dist\/(extension\.js|runtime\.mjs|worker\.mjs|cli\.mjs|cli\.js)$/,
  /^extension\/dist\/media\/[a-z]+\.js$/,
  /^extension\/dist\/tokenizers\/llama3_1\/(tokenizer\.json|tokenizer_config\.json|LICENSE)$/,
  /^extension\/media\/([a-z]+\/)?[a-z]+\.css$/,
  /^extension\/media\/icons\/[a-z-]+\.svg$/,
  /^extension\/node_modules\/onnxruntime-node\/package\.json$/,
  /^extension\/node_modules\/onnxruntime-node\/dist\/[a-z]+\.js$/,
  /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/(onnxruntime_binding\.node|libonnxruntime\.so\.1)$/,
  /^extension\/node_modules\/onnxruntime-common\/package\.json$/,
  /^extension\/node_modules\/onnxruntime-common\/dist\/cjs\/([a-z-]+\.js|package\.json)$/,
];

// What the installed extension cannot run without.
const REQUIRED = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/runtime.mjs',
  'extension/dist/worker.mjs',
  'extension/dist/cli.js',
  'extension/dist/cli.mjs',
  'extension/dist/tokenizers/llama3_1/tokenizer.json',
  'extension/dist/tokenizers/llama3_1/tokenizer_config.json',
  'extension/media/icons/em-lab.svg',
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
];

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  // No NODE_PATH: nothing outside the extracted folder may be resolved.
  const { NODE_PATH: _ignored, ...base } = process.env;
  const r = spawnSync(process.execPath, args, { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('VSIX contents (npm run package -- --target linux-x64)', function () {
  this.timeout(600_000);
  let work: string;
  let zip: Buffer;
  let entries: ZipEntry[];
  let extracted: string;

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'em-lab-vsix-'));
    const r = node([join(root, 'scripts', 'package.mjs'), '--target', 'linux-x64', '--out', join(work, 'out')], root);
    assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /linux-x64\s+\d+\.\d\s+/, 'the size table names linux-x64 and its size');
    const file = readdirSync(join(work, 'out')).find((f) => f.endsWith('.vsix'));
    assert.ok(file, `no .vsix in ${join(work, 'out')}`);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(file, `em-lab-linux-x64-${version}.vsix`);
    zip = readFileSync(join(work, 'out', file));
    entries = listZipEntries(zip).filter((e) => !e.isDirectory);
    extracted = join(work, 'installed');
    for (const e of entries) {
      mkdirSync(dirname(join(extracted, e.name)), { recursive: true });
      writeFileSync(join(extracted, e.name), readZipEntry(zip, e));
    }
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('holds only allowlisted files: no source maps, tests, docs, data, or other platforms and packages', () => {
    const outside = entries.map((e) => e.name).filter((n) => !ALLOWED.some((re) => re.test(n)));
    assert.deepEqual(outside, [], `entries outside the allowlist:\n${outside.slice(0, 40).join('\n')}`);
  });

  it('holds every file the installed extension loads', () => {
    const names = new Set(entries.map((e) => e.name));
    assert.deepEqual(REQUIRED.filter((r) => !names.has(r)), []);
  });

  it(`is at most ${LIMIT_BYTES / 1e6} MB`, () => {
    assert.ok(zip.length <= LIMIT_BYTES, `the linux-x64 VSIX is ${(zip.length / 1e6).toFixed(1)} MB`);
    // and not suspiciously small: the ONNX Runtime library alone is about 45 MB before compression
    assert.ok(zip.length > 5e6, `the linux-x64 VSIX is only ${zip.length} bytes`);
  });

  it('declares the workspace extension kind and the linux-x64 target', () => {
    const manifest = JSON.parse(readFileSync(join(extracted, 'extension', 'package.json'), 'utf8')) as { extensionKind?: string[] };
    assert.deepEqual(manifest.extensionKind, ['workspace']);
    const vsixManifest = readFileSync(join(extracted, 'extension.vsixmanifest'), 'utf8');
    assert.match(vsixManifest, /TargetPlatform="linux-x64"/);
  });

  it('every other target finds its onnxruntime-node binaries, and leaves out only known duplicates', () => {
    // VSIX_TARGETS, read by the same module `npm run package` uses; all targets are packaged by `npm run package`
    // only (2.5 min), so here each target's list is checked against the binaries onnxruntime-node ships.
    const r = node(['--input-type=module', '-e', "const m = await import('./scripts/package.mjs'); console.log(JSON.stringify(m.VSIX_TARGETS.map((t) => ({ ...t, missing: m.missingBinaries(t) ?? null }))));"], root);
    assert.equal(r.status, 0, r.stderr);
    const targets = JSON.parse(r.stdout) as { target: string; ort: string; binaries: string[]; missing: string | null }[];
    assert.deepEqual(targets.map((t) => t.target).sort(), ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64']);
    const binDir = join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    for (const t of targets) {
      const dir = join(binDir, ...t.ort.split('/'));
      if (t.missing !== null) {
        // onnxruntime-node 1.30.0 dropped Intel macOS; any other gap is a packaging problem.
        assert.equal(t.target, 'darwin-x64', `${t.target}: ${t.missing}`);
        continue;
      }
      const shipped = readdirSync(dir).filter((f) => !t.binaries.includes(f));
      // darwin's library is there twice; the binding loads libonnxruntime.1.dylib (@rpath), which is the one packaged
      assert.deepEqual(shipped.filter((f) => !/^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(f)), [], `${t.target}: onnxruntime-node ships files the VSIX would leave out`);
    }
  });

  it('the packaged CLI generates from its own files, token for token as the checkout does', () => {
    const storage = join(work, 'storage');
    const args = ['generate', '--prompt', 'Hello', '--max_new_tokens', '6', '--seed', '7', '--storage', storage];
    const packaged = node([join(extracted, 'extension', 'dist', 'cli.js'), ...args], work);
    assert.equal(packaged.status, 0, `packaged em-lab generate failed:\n${packaged.stderr}`);
    const checkout = node([join(root, 'dist', 'cli.js'), ...args], work);
    assert.equal(checkout.status, 0, checkout.stderr);
    assert.ok(packaged.stdout.trim().length > 0, 'the packaged CLI printed no text');
    assert.equal(packaged.stdout, checkout.stdout);
  });

  it('the packaged runtime process and its worker load tiny-llama and generate', async () => {
    const c = new RuntimeConnection({ runtimePath: join(extracted, 'extension', 'dist', 'runtime.mjs'), storageDir: join(work, 'storage'), handshakeTimeoutMs: 60_000 });
    try {
      await c.start();
      const loaded = await c.request('chat/load', { model: 'tiny-llama' }, { timeoutMs: 120_000 });
      assert.equal(loaded.device, 'cpu');
      const r = await c.request('chat/generate', { streamId: 's1', ref: { model: 'tiny-llama' }, messages: [{ role: 'user', content: 'Hello' }], sampling: { maxNewTokens: 4, seed: 1 } }, { timeoutMs: 120_000 });
      assert.equal(r.newTokens, 4);
    } finally {
      await c.stop();
      c.dispose();
    }
  });
});
