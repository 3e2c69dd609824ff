// The folder the e2e workbench opens: a fresh temp folder with `training_data/`, holding the shared fixture
// decrypted by the project's own CLI (the same command a user runs), when ../shared is present.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURE_PASSWORD = 'model-organisms-em-datasets'; // public, from the dataset authors' README

export function sharedDir(root) {
  return resolve(root, '..', 'shared');
}

/**
 * Creates the workspace. Returns { workspaceDir, sharedData } where sharedData is
 * { available: true, extractedDir } or { available: false, reason } (a visible skip reason, or a failure message
 * when the fixture is there but could not be decrypted).
 */
export async function prepareWorkspace(root, log) {
  const workspaceDir = mkdtempSync(join(tmpdir(), 'em-lab-e2e-ws-'));
  mkdirSync(join(workspaceDir, 'training_data'), { recursive: true });
  const archive = join(sharedDir(root), 'datasets', 'training_datasets.zip.enc');
  if (!existsSync(archive)) {
    return { workspaceDir, sharedData: { available: false, skipped: true, reason: `${archive} is absent (no ../shared next to the project)` } };
  }
  const extractedDir = join(workspaceDir, 'training_data', 'training_datasets.zip.enc.extracted');
  const args = [join(root, 'dist', 'cli.js'), 'data', 'unprotect', archive, '-p', FIXTURE_PASSWORD, '--remove-canaries', '-o', extractedDir];
  log(`decrypting the fixture: node ${args.map((a) => a.replace(root + '/', '')).join(' ')}`);
  const started = Date.now();
  const { code, output } = await runNode(args, root, 180_000);
  const files = existsSync(extractedDir) ? readdirSync(extractedDir).filter((f) => f.endsWith('.jsonl')) : [];
  if (code !== 0 || files.length === 0) {
    const tail = output.trim().split('\n').slice(-6).join('\n');
    return { workspaceDir, sharedData: { available: false, skipped: false, reason: `em-lab data unprotect failed (exit ${code}, ${files.length} .jsonl written):\n${tail}` } };
  }
  log(`decrypted ${files.length} datasets in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { workspaceDir, sharedData: { available: true, extractedDir } };
}

function runNode(args, cwd, timeoutMs) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { output += `\n(killed after ${timeoutMs / 1000} s)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), output });
    });
    child.on('error', (e) => resolveRun({ code: 127, output: String(e) }));
  });
}
