// Phase (a): the extension-host mocha suite (test/extension, bundled to out/test/index.js) inside code-server.
// The workbench URL's `payload` names the extension and the tests module; the window forwards the extension
// host's console to window.codeAutomationLog and its exit code to window.codeAutomationExit (VS Code's own
// browser integration tests use the same hooks), which Playwright exposes to us.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { workbenchUrl, withTimeout } from './workbench.mjs';

// Printed by test/extension/index.ts before the suite's output and as its last line.
const START_MARKER = 'EM_LAB_EXT_HOST_START';
const SUMMARY_PREFIX = 'EM_LAB_EXT_HOST_SUMMARY ';

// The window forwards console calls as their raw arguments (mocha's spec reporter passes '%s' format strings).
function formatArgs(args) {
  const list = Array.isArray(args) ? args : [args];
  return format(...list.map((a) => (typeof a === 'string' || typeof a === 'number' ? a : JSON.stringify(a))));
}

/**
 * VS Code runs extension tests only with an extension in development mode (`extensionDevelopmentPath`). To test
 * the INSTALLED EM Lab, that is this empty driver extension, so EM Lab itself loads from the extensions folder as
 * a user's would; `npm run test:e2e -- --from-source` passes the checkout instead.
 */
export function writeTestDriver(root) {
  const dir = join(root, 'out', 'test-driver');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'em-lab-e2e-driver',
    displayName: 'EM Lab e2e test driver',
    description: 'Runs out/test/index.js against the installed EM Lab (scripts/e2e.mjs).',
    publisher: 'em-lab-tests',
    version: '0.0.0',
    engines: { vscode: '^1.100.0' },
  }, null, 2) + '\n');
  return dir;
}

/**
 * Returns { passed, failed, pending, exitCode, error? }. A run that never reports its summary (crash, timeout,
 * the suite failing to load) counts as one failure, so it can't pass silently.
 */
export async function runExtensionHostTests({ context, baseUrl, workspaceDir, root, extensionDevelopmentPath, resultsDir, log, timeoutMs = 240_000 }) {
  const page = await context.newPage();
  const logFile = join(resultsDir, 'ext-host.log');
  writeFileSync(logFile, '');
  let summary;
  let started = false;
  let resolveExit;
  const exited = new Promise((r) => { resolveExit = r; });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = formatArgs(args);
    appendFileSync(logFile, `[${type}] ${text}\n`);
    for (const line of text.split('\n')) {
      const at = line.indexOf(SUMMARY_PREFIX);
      if (at >= 0) {
        try { summary = JSON.parse(line.slice(at + SUMMARY_PREFIX.length)); } catch { /* partial line: ignore */ }
        continue;
      }
      if (line.includes(START_MARKER)) { started = true; continue; }
      // Before the marker come the window's own log lines (connection set-up, gallery disabled...): only in the
      // log file, unless they are errors (a suite that fails to load shows up here).
      if (line.trim() && (started || type === 'error')) log(`  [ext-host${started ? '' : ` ${type}`}] ${line}`);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  const url = workbenchUrl({ baseUrl, folder: workspaceDir, extensionPath: extensionDevelopmentPath, testsPath: join(root, 'out', 'test', 'index.js') });
  const startedAt = Date.now();
  try {
    await page.goto(url, { timeout: 60_000 });
    const exitCode = await withTimeout(exited, timeoutMs, 'the extension-host test run');
    // The summary line and the exit can arrive in either order; give the log a moment to catch up.
    for (let i = 0; i < 20 && !summary; i++) await page.waitForTimeout(100);
    log(`extension-host tests finished in ${((Date.now() - startedAt) / 1000).toFixed(1)} s, exit code ${exitCode}`);
    if (!summary) return { passed: 0, failed: 1, pending: 0, exitCode, error: `the suite exited with code ${exitCode} without printing its summary (did out/test/index.js load? see the log above)` };
    const failed = summary.failed + (exitCode !== 0 && summary.failed === 0 ? 1 : 0);
    return { passed: summary.passed, failed, pending: summary.pending ?? 0, exitCode };
  } catch (err) {
    return { passed: summary?.passed ?? 0, failed: (summary?.failed ?? 0) + 1, pending: 0, exitCode: undefined, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await page.close({ runBeforeUnload: false }).catch(() => {});
  }
}
