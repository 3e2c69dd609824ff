// Builds every bundle with esbuild:
//   dist/extension.js        extension host (CommonJS: VS Code 1.100 loads extensions with require)
//   dist/runtime.mjs         (src/runtime/main.ts) the background runtime process (forked by the host, IPC channel)
//   dist/worker.mjs          the compute worker thread inside the runtime
//   dist/cli.mjs + dist/cli.js  the `em-lab` CLI (cli.js is a tiny CommonJS shim so `bin` works without "type": "module")
//   dist/media/<view>.js     one browser bundle per webview (media/<view>/main.ts)
//   out/test/index.js        the extension-host mocha suite (run inside a real VS Code by the e2e harness)
// Runtime bundles keep node_modules external: onnxruntime-node is a native addon and Transformers.js
// loads it with createRequire, so they must resolve from node_modules at run time.
import { build } from 'esbuild';
import { existsSync, readdirSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: 'linked', logLevel: 'warning', absWorkingDir: root };

// src/runtime/main.ts is the runtime process (dist/runtime.mjs); worker.ts its compute thread; cli.ts the CLI.
const runtimeSources = { runtime: 'main', worker: 'worker', cli: 'cli' };
const runtimeEntries = Object.keys(runtimeSources).filter((n) => existsSync(join(root, `src/runtime/${runtimeSources[n]}.ts`)));
const webviews = existsSync(join(root, 'media'))
  ? readdirSync(join(root, 'media'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, 'media', d.name, 'main.ts')))
      .map((d) => d.name)
  : [];

const jobs = [];
if (existsSync(join(root, 'src/extension.ts'))) {
  jobs.push(build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] }));
}
for (const name of runtimeEntries) {
  jobs.push(build({ ...common, entryPoints: [`src/runtime/${runtimeSources[name]}.ts`], outfile: `dist/${name}.mjs`, platform: 'node', format: 'esm', target: 'node20', packages: 'external' }));
}
for (const name of webviews) {
  jobs.push(build({ ...common, entryPoints: [`media/${name}/main.ts`], outfile: `dist/media/${name}.js`, platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'text' } }));
}
if (existsSync(join(root, 'test/extension/index.ts'))) {
  jobs.push(build({ ...common, entryPoints: ['test/extension/index.ts'], outfile: 'out/test/index.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'] }));
}
await Promise.all(jobs);
if (runtimeEntries.includes('cli')) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  const shim = join(root, 'dist/cli.js');
  writeFileSync(shim, "#!/usr/bin/env node\n// CommonJS shim: the CLI itself is an ES module.\nimport('./cli.mjs').then((m) => m.main(process.argv.slice(2))).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 1; });\n");
  chmodSync(shim, 0o755);
}
if (!watch) console.log(`built: ${[existsSync(join(root, 'src/extension.ts')) ? 'extension' : null, ...runtimeEntries, ...webviews.map((w) => `media/${w}`)].filter(Boolean).join(', ')}`);
