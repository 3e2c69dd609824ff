// EM Lab as a user has it: installed from the VSIX (the e2e harness sets EM_LAB_E2E_INSTALLED_DIR to the folder
// `code-server --install-extension` unpacked it into). The extension, the runtime process it forks and the
// onnxruntime-node library the runtime's worker loads must all come from that folder, never from a checkout.
// Without the variable (`--from-source`, `npm run test:electron`) these tests are skipped, visibly.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import * as vscode from 'vscode';
import { emLabExtension } from './extensionUnderTest';

const installedDir = process.env.EM_LAB_E2E_INSTALLED_DIR;

/** Processes whose command line contains `needle` (Linux /proc; empty elsewhere). */
function processesWith(needle: string): { pid: number; cmdline: string }[] {
  if (!existsSync('/proc')) return [];
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) out.push({ pid: Number(name), cmdline });
    } catch { /* exited meanwhile */ }
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('EM Lab as installed from the VSIX', function () {
  this.timeout(180_000);
  before(function () {
    if (!installedDir) {
      console.log('  SKIP: EM_LAB_E2E_INSTALLED_DIR is not set (the extension runs from the source folder here)');
      this.skip();
    }
  });

  it('is loaded from the extensions folder, as unpacked from the VSIX (no sources, this platform\'s ONNX Runtime)', () => {
    const ext = emLabExtension();
    assert.equal(ext.extensionPath, installedDir);
    assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
    assert.ok(!existsSync(join(ext.extensionPath, 'src')), 'the installed copy has a src/ folder');
    assert.ok(existsSync(join(ext.extensionPath, 'dist', 'runtime.mjs')));
    const ortBin = join(ext.extensionPath, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    assert.deepEqual(readdirSync(ortBin), [process.platform]);
    assert.deepEqual(readdirSync(join(ortBin, process.platform)), [process.arch]);
  });

  it('forks the runtime from its own dist/runtime.mjs, whose worker loads onnxruntime-node from its own node_modules', async function () {
    if (process.platform !== 'linux') this.skip(); // reads /proc
    const ext = emLabExtension();
    await ext.activate();
    await vscode.commands.executeCommand('emLab.startRuntime');
    const runtimeScript = join(ext.extensionPath, 'dist', 'runtime.mjs');
    const runtime = await waitFor('the runtime process', () => processesWith(runtimeScript)[0]);
    // "EM Lab: Check Environment" runs the doctor in the runtime's worker thread; its ONNX Runtime check loads the
    // native library, which then shows in the process's memory map with the path it was loaded from.
    await vscode.commands.executeCommand('emLab.checkEnvironment');
    const library = join(ext.extensionPath, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1');
    const mapped = await waitFor('onnxruntime-node in the runtime', () => {
      const maps = readFileSync(`/proc/${runtime.pid}/maps`, 'utf8');
      return maps.includes('libonnxruntime.so') ? maps : undefined;
    });
    const paths = [...new Set(mapped.split('\n').filter((l) => l.includes('libonnxruntime.so')).map((l) => l.slice(l.indexOf(sep))))];
    assert.deepEqual(paths, [library]);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('emLab.stopRuntime');
  });
});
