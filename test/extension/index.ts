// Extension-host test entry: VS Code (code-server in `npm run test:e2e`, or Electron VS Code in
// `node scripts/test-electron.mjs`) loads the bundle of this file (out/test/index.js) as `extensionTestsPath`
// and awaits run(); a rejection makes the extension host exit with code 1.
// Output goes through console.log, which the extension host forwards to the window (code-server: the harness's
// codeAutomationLog; Electron: the launching terminal). The last line is a machine-readable summary the harness
// counts from; a first line, START_MARKER, tells the harness where the suite's output begins.
// To add a test file: write test/extension/<thing>.test.ts with describe/it, then add one `await import(...)` below.
// The imports are literal so esbuild bundles them, and dynamic so they run after mocha has defined describe/it.
import Mocha from 'mocha';

export const START_MARKER = 'EM_LAB_EXT_HOST_START';
export const SUMMARY_PREFIX = 'EM_LAB_EXT_HOST_SUMMARY ';

export async function run(): Promise<void> {
  // 60 s per test: activation forks nothing heavy, but a busy 2-core machine can stall the extension host.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, 'test/extension', mocha);
  await import('./activation.test');
  await import('./commands.test');
  await import('./sidebar.test');
  await import('./gridTree.test');
  await import('./installed.test');

  console.log(START_MARKER); // the harness echoes what follows; the window's own log lines come before it
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
      console.log(SUMMARY_PREFIX + JSON.stringify({ suite: 'extension-host', passed: stats.passes, failed: stats.failures, pending: stats.pending }));
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
  });
}
