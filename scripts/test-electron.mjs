// The extension-host mocha suite (test/extension, the same bundle `npm run test:e2e` runs in code-server) in
// desktop VS Code via @vscode/test-electron, for machines that can reach Microsoft's download servers
// (a laptop, hosted CI). It downloads VS Code 1.100.3 into .vscode-test/ on first use; on a machine without
// internet it fails with ENOTFOUND update.code.visualstudio.com: use `npm run test:e2e` there instead.
//   node scripts/test-electron.mjs            (on a headless Linux box: xvfb-run -a node scripts/test-electron.mjs)
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const workspace = mkdtempSync(join(tmpdir(), 'em-lab-electron-ws-'));
mkdirSync(join(workspace, 'training_data'), { recursive: true });
try {
  await runTests({
    version: '1.100.3', // the VS Code inside code-server 4.100.3, and the newest our engines.vscode allows
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out', 'test', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--skip-welcome', '--skip-release-notes', '--disable-workspace-trust'],
  });
} catch (err) {
  console.error(`extension-host tests failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
