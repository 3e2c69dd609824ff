// `npm run test:e2e`: EM Lab inside a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by playwright-core
// and Debian's Chromium, as a user installs it: the linux-x64 VSIX (scripts/package.mjs) installed with
// `code-server --install-extension` into a clean extensions folder. Phase (a) runs the extension-host mocha suite
// (test/extension); phase (b) runs the UI scenarios in test/e2e/scenarios/ and saves screenshots under
// test-results/e2e/. See docs/e2e.md.
//
//   npm run test:e2e                      everything
//   npm run test:e2e -- --only dataset    only UI scenarios whose file or name contains "dataset"
//   npm run test:e2e -- --ui-only | --ext-host-only
//   npm run test:e2e -- --from-source     load EM Lab from the checkout (development mode), no VSIX: quicker
//                                         while iterating on a view; CI always tests the installed VSIX
// Env: EM_LAB_TEST_SUMMARY=<file> writes {"suite":"e2e","passed":N,"failed":N,"pending":N};
//      EM_LAB_E2E_CACHE=<dir> where code-server is installed (default <repo>/.e2e-cache, git-ignored).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureCodeServer, installExtension, missingSystemPackages, startCodeServer } from '../test/e2e/harness/codeServer.mjs';
import { prepareWorkspace } from '../test/e2e/harness/workspace.mjs';
import { launchBrowser, withTimeout } from '../test/e2e/harness/workbench.mjs';
import { runExtensionHostTests, writeTestDriver } from '../test/e2e/harness/extHostPhase.mjs';
import { buildProduction, manifest, packageVsix } from './package.mjs';
import { loadScenarios, runUiScenarios } from '../test/e2e/harness/uiPhase.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
const runExtHost = !argv.includes('--ui-only');
const runUi = !argv.includes('--ext-host-only');
const fromSource = argv.includes('--from-source');
const cacheDir = resolve(process.env.EM_LAB_E2E_CACHE ?? join(root, '.e2e-cache'));
const resultsDir = join(root, 'test-results', 'e2e');
// The whole run, code-server's first install included (itself limited to 10 min), must finish within this, or it
// is failed and torn down: no hangs in CI. A normal run takes 2-4 min, plus 1-4 min for a first install.
const RUN_DEADLINE_MS = 18 * 60_000;

const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const counts = { passed: 0, failed: 0, pending: 0 };
const cleanups = []; // run in reverse order, each with its own timeout
const tempDirs = [];

function writeSummary() {
  const file = process.env.EM_LAB_TEST_SUMMARY;
  if (file) writeFileSync(file, JSON.stringify({ suite: 'e2e', ...counts }) + '\n');
}

async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    await withTimeout(Promise.resolve().then(fn), 15_000, 'cleanup step').catch((e) => log(`cleanup: ${e.message}`));
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

async function fail(message) {
  log(`ERROR: ${message}`);
  counts.failed += 1;
}

async function main() {
  const missing = missingSystemPackages();
  if (missing.length) {
    return fail(`missing Debian packages: ${missing.join(', ')}. Install them with:\n  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n` +
      '(.ci/run does this; never `npx playwright install`, which downloads a browser.)');
  }
  mkdirSync(resultsDir, { recursive: true });
  for (const f of readdirSync(resultsDir)) if (f.endsWith('.png') || f.endsWith('.log') || f.endsWith('.vsix')) rmSync(join(resultsDir, f));
  let vsix;
  if (fromSource) {
    log('building (node scripts/build.mjs); --from-source: EM Lab loads from the checkout, no VSIX');
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit', timeout: 180_000 });
    if (build.status !== 0) return fail('the build failed (see above); fix it, then rerun npm run test:e2e');
  } else {
    log('building (node scripts/build.mjs --production) and packaging the linux-x64 VSIX (scripts/package.mjs)');
    const started = Date.now();
    try {
      buildProduction();
      vsix = await packageVsix('linux-x64', join(resultsDir, 'vsix'));
    } catch (err) {
      return fail(`packaging failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`packaged ${vsix.file.replace(root + '/', '')} (${(vsix.bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s, build included`);
  }

  const bin = await ensureCodeServer(cacheDir, log);

  const { workspaceDir, sharedData } = await prepareWorkspace(root, log);
  tempDirs.push(workspaceDir);
  if (!sharedData.available) log(`${sharedData.skipped ? 'NOTE' : 'ERROR'}: ${sharedData.reason}${sharedData.skipped ? ' -- scenarios that need the fixture are skipped' : ''}`);

  const stateDir = join(workspaceDir, '..', `${workspaceDir.split('/').pop()}-code-server`);
  tempDirs.push(stateDir);
  mkdirSync(stateDir, { recursive: true });
  const { publisher, name } = manifest();
  const installedExtensionDir = vsix ? await installExtension({ bin, stateDir, vsix: vsix.file, extensionId: `${publisher}.${name}`, log }) : undefined;
  // The extension host inherits these: EM Lab's storage (models, caches) in this run's temp folder instead of
  // ~/.em-lab, and where the installed copy is, which test/extension/installed.test.ts checks against.
  const env = { EM_LAB_STORAGE: join(stateDir, 'em-lab-storage'), ...(installedExtensionDir ? { EM_LAB_E2E_INSTALLED_DIR: installedExtensionDir } : {}) };
  const server = await startCodeServer({ bin, stateDir, env, logFile: join(resultsDir, 'code-server.log'), log, onSpawn: (stop) => cleanups.push(stop) });
  const { context, profile } = await launchBrowser();
  tempDirs.push(profile);
  cleanups.push(() => context.close());

  if (runExtHost) {
    log('phase (a): extension-host mocha suite (test/extension) via the payload mechanism');
    const extensionDevelopmentPath = installedExtensionDir ? writeTestDriver(root) : root;
    const r = await runExtensionHostTests({ context, baseUrl: server.url, workspaceDir, root, extensionDevelopmentPath, resultsDir, log });
    if (r.error) log(`ERROR: ${r.error}`);
    log(`phase (a): ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} pending` : ''}`);
    counts.passed += r.passed;
    counts.failed += r.failed;
    counts.pending += r.pending;
  }
  if (runUi) {
    const scenarios = await loadScenarios(root, only);
    log(`phase (b): ${scenarios.length} UI scenario(s): ${scenarios.map((s) => s.file).join(', ')}`);
    const results = await runUiScenarios({ context, baseUrl: server.url, workspaceDir, userSettingsFile: join(stateDir, 'user-data', 'User', 'settings.json'), root, extensionDevelopmentPath: installedExtensionDir ? undefined : root, installedExtensionDir, scenarios, sharedData, resultsDir, log });
    for (const r of results) {
      if (r.status === 'passed') counts.passed += 1;
      else if (r.status === 'failed') counts.failed += 1;
      else counts.pending += 1;
    }
    log(`phase (b): ${results.filter((r) => r.status === 'passed').length} passed, ${results.filter((r) => r.status === 'failed').length} failed, ` +
      `${results.filter((r) => r.status === 'skipped').length} skipped; screenshots in ${resultsDir.replace(root + '/', '')}/`);
    for (const r of results) for (const s of r.screenshots) log(`  screenshot: ${s.replace(root + '/', '')}`);
  }
}

let finished = false;
async function finish(code) {
  if (finished) return;
  finished = true;
  await cleanup();
  writeSummary();
  log(`e2e: ${counts.passed} passed, ${counts.failed} failed${counts.pending ? `, ${counts.pending} skipped` : ''}`);
  process.exit(code ?? (counts.failed > 0 ? 1 : 0));
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { log(`${signal}: stopping code-server and the browser`); counts.failed += 1; finish(130); });
}

const watchdog = setTimeout(() => {
  log(`ERROR: the e2e run passed its ${RUN_DEADLINE_MS / 60_000} minute limit; stopping everything`);
  counts.failed += 1;
  finish(1);
}, RUN_DEADLINE_MS);
watchdog.unref();

main().then(
  () => finish(),
  async (err) => {
    await fail(err instanceof Error ? err.stack ?? err.message : String(err));
    await finish();
  },
);
