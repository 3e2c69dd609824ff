// `npm run package`: one VSIX per platform with @vscode/vsce into vsix/ (git-ignored), then a table of their sizes.
// Each VSIX holds the production bundles (scripts/build.mjs --production: everything bundled but onnxruntime-node),
// the files .vscodeignore lets through, and the onnxruntime-node binaries of its own platform only.
//   npm run package                                 every target in VSIX_TARGETS
//   npm run package -- --target linux-x64           one target (repeat --target for more)
//   npm run package -- --out DIR                    write the VSIXs into DIR instead of vsix/
// Imported by the e2e harness (packageVsix) and the content test (test/unit/vsixContents.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const root = resolve(new URL('..', import.meta.url).pathname);
export const DEFAULT_OUT_DIR = join(root, 'vsix');
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';

/**
 * The platforms VS Code and onnxruntime-node both support, and the binaries each needs from
 * node_modules/onnxruntime-node/bin/napi-v6/<os>/<arch>/. darwin/arm64 ships its library twice under two names;
 * the binding loads @rpath/libonnxruntime.1.dylib, so only that one goes in. On Windows onnxruntime.dll is built
 * with DirectML, which needs DirectML.dll and the DirectX shader compiler beside it.
 */
export const VSIX_TARGETS = [
  { target: 'linux-x64', ort: 'linux/x64', binaries: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  { target: 'linux-arm64', ort: 'linux/arm64', binaries: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  { target: 'win32-x64', ort: 'win32/x64', binaries: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
  { target: 'win32-arm64', ort: 'win32/arm64', binaries: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
  { target: 'darwin-arm64', ort: 'darwin/arm64', binaries: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
  { target: 'darwin-x64', ort: 'darwin/x64', binaries: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
];

export function manifest() {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}

/** vsce's own name for a target's package: em-lab-linux-x64-0.1.0.vsix. */
export function vsixFileName(target, version = manifest().version) {
  return `${manifest().name}-${target}-${version}.vsix`;
}

/** Why a target can't be built from this node_modules (a binary onnxruntime-node does not ship), or undefined. */
export function missingBinaries(t) {
  const missing = t.binaries.filter((b) => !existsSync(join(root, ORT_BIN, t.ort, b)));
  if (missing.length === 0) return undefined;
  const version = JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
  return `onnxruntime-node ${version} ships no ${missing.join(', ')} for ${t.ort} (${ORT_BIN}/${t.ort}/)`;
}

/** The production build (no source maps) that the VSIXs ship. Throws when it fails. */
export function buildProduction() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--production'], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  if (r.status !== 0) throw new Error('node scripts/build.mjs --production failed (see above); fix the build, then rerun npm run package');
}

/**
 * Packages one target (after buildProduction()) and returns { target, file, bytes, ms }. The ignore file is
 * .vscodeignore plus this target's binaries, written beside the VSIX.
 */
export async function packageVsix(targetName, outDir = DEFAULT_OUT_DIR) {
  const t = VSIX_TARGETS.find((x) => x.target === targetName);
  if (!t) throw new Error(`unknown target "${targetName}": use one of ${VSIX_TARGETS.map((x) => x.target).join(', ')}`);
  const missing = missingBinaries(t);
  if (missing) throw new Error(`cannot package ${t.target}: ${missing}`);
  mkdirSync(outDir, { recursive: true });
  const ignoreFile = join(outDir, `.vscodeignore-${t.target}`);
  writeFileSync(ignoreFile, [
    readFileSync(join(root, '.vscodeignore'), 'utf8').trimEnd(),
    `# added by scripts/package.mjs for ${t.target}`,
    ...t.binaries.map((b) => `!${ORT_BIN}/${t.ort}/${b}`),
    '',
  ].join('\n'));
  const file = join(outDir, vsixFileName(t.target));
  const started = Date.now();
  // Imported here, not at the top: `npm run build` and the tests that only read VSIX_TARGETS don't load vsce.
  const { createVSIX } = await import('@vscode/vsce');
  await createVSIX({
    cwd: root,
    packagePath: file,
    target: t.target,
    ignoreFile,
    // There is no public repository to point README links at; they stay relative (the docs are not shipped).
    allowMissingRepository: true,
    rewriteRelativeLinks: false,
  });
  return { target: t.target, file, bytes: statSync(file).size, ms: Date.now() - started };
}

function parseArgs(argv) {
  const targets = [];
  let outDir = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') targets.push(argv[++i]);
    else if (argv[i] === '--out') outDir = resolve(argv[++i]);
    else throw new Error(`unknown argument "${argv[i]}". Usage: npm run package [-- --target linux-x64 ...] [--out DIR]`);
  }
  return { targets: targets.length ? targets : VSIX_TARGETS.map((t) => t.target), outDir };
}

const mb = (bytes) => (bytes / 1e6).toFixed(1);

async function main() {
  const { targets, outDir } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  buildProduction();
  const rows = [];
  for (const target of targets) {
    const t = VSIX_TARGETS.find((x) => x.target === target);
    const skipped = t && missingBinaries(t);
    if (skipped) {
      console.log(`skipping ${target}: ${skipped}`);
      rows.push({ target, note: `not built: ${skipped}` });
      continue;
    }
    const r = await packageVsix(target, outDir);
    rows.push({ ...r, note: '' });
  }
  const width = Math.max(...rows.map((r) => r.target.length), 'target'.length);
  console.log(`\nVSIX packages in ${relative(root, outDir) || '.'}/ (${((Date.now() - started) / 1000).toFixed(0)} s, build included)`);
  console.log(`${'target'.padEnd(width)}  ${'size MB'.padStart(7)}  file`);
  console.log(`${'-'.repeat(width)}  ${'-'.repeat(7)}  ${'-'.repeat(32)}`);
  for (const r of rows) {
    console.log(r.file ? `${r.target.padEnd(width)}  ${mb(r.bytes).padStart(7)}  ${relative(root, r.file)}` : `${r.target.padEnd(width)}  ${'-'.padStart(7)}  ${r.note}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(`npm run package: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
