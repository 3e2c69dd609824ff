// Places the provider libraries beside onnxruntime-node's binary all-or-nothing: every file is first written to a
// temporary name in the target folder (same filesystem, so the final rename is atomic), then renamed into place;
// if any step fails, the files already renamed are put back as they were and the temporaries removed. A running
// process that already mapped an old library keeps its copy (rename replaces the directory entry, not the inode).
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import type { ProviderFile } from './providerPackage';

export interface InstallResult {
  targetDir: string;
  installed: string[];
  /** Files that existed before and were replaced. */
  replaced: string[];
}

function flush(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface InstallHooks {
  /** Called before each file is renamed into place (tests inject failures here). */
  beforeCommit?(name: string): void;
}

export function installProviderFiles(files: ProviderFile[], targetDir: string, hooks: InstallHooks = {}): InstallResult {
  if (!existsSync(targetDir)) {
    throw new UserError('cuda-install-failed', `The onnxruntime-node binary folder ${targetDir} does not exist. Reinstall dependencies with \`npm ci\`, then run \`em-lab setup cuda\` again.`);
  }
  const tag = `${process.pid}-${Date.now()}`;
  const staged: { tmp: string; final: string; backup: string; name: string }[] = [];
  const committed: typeof staged = [];
  const cleanup = () => {
    for (const s of staged) rmSync(s.tmp, { force: true });
  };
  try {
    for (const f of files) {
      const s = { name: f.name, tmp: join(targetDir, `.${f.name}.${tag}.tmp`), final: join(targetDir, f.name), backup: join(targetDir, `.${f.name}.${tag}.old`) };
      staged.push(s);
      if (Buffer.isBuffer(f.data)) writeFileSync(s.tmp, f.data, { mode: 0o755 });
      else copyFileSync(f.data.path, s.tmp);
      flush(s.tmp);
    }
  } catch (err) {
    cleanup();
    throw new UserError('cuda-install-failed', `Could not write the CUDA provider libraries into ${targetDir}: ${(err as Error).message}. Nothing was changed. Check free disk space and write permission on that folder.`);
  }
  const replaced: string[] = [];
  try {
    for (const s of staged) {
      hooks.beforeCommit?.(s.name);
      const had = existsSync(s.final);
      if (had) renameSync(s.final, s.backup);
      committed.push(s);
      if (had) replaced.push(s.name);
      renameSync(s.tmp, s.final);
    }
  } catch (err) {
    // Roll back in reverse: put each original back (or remove the new file where there was none).
    for (const s of committed.reverse()) {
      try {
        if (existsSync(s.backup)) {
          rmSync(s.final, { force: true });
          renameSync(s.backup, s.final);
        } else if (!existsSync(s.tmp)) {
          rmSync(s.final, { force: true });
        }
      } catch {
        // best effort; the message below names the folder to inspect
      }
    }
    cleanup();
    throw new UserError('cuda-install-failed', `Could not move the CUDA provider libraries into place in ${targetDir}: ${(err as Error).message}. The folder was restored to its previous state.`);
  }
  for (const s of staged) rmSync(s.backup, { force: true });
  return { targetDir, installed: files.map((f) => f.name), replaced };
}
