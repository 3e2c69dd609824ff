// Keeps decrypted data out of git: after extraction, the enclosing repository's .gitignore gets an entry for the
// output folder (as easy-dataset-share does), unless a pattern there already covers it.
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** The git work tree containing `path` (a folder with `.git`, directory or file), or undefined. */
export function findGitRoot(path: string): string | undefined {
  let dir = path;
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function coveredBy(lines: string[], relPath: string): boolean {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  return lines.some((raw) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return false;
    const pattern = line.replace(/^\//, '').replace(/\/$/, '');
    if (pattern === relPath || pattern === name) return true;
    // Simple globs such as `*.extracted` (what this project's .gitignore uses).
    if (!pattern.includes('/') && pattern.includes('*')) {
      const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
      return re.test(name);
    }
    return false;
  });
}

/**
 * Appends `/<folder>/` to the enclosing repository's .gitignore when needed. Returns the .gitignore path when it
 * was changed, undefined when there is no repository or the folder is already ignored.
 */
export function ignoreInGit(folder: string): string | undefined {
  const root = findGitRoot(dirname(folder));
  if (!root) return undefined;
  const relPath = relative(root, folder).split(sep).join('/');
  if (relPath === '' || relPath.startsWith('..')) return undefined;
  const file = join(root, '.gitignore');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (coveredBy(existing.split(/\r?\n/), relPath)) return undefined;
  const lead = existing === '' || existing.endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${lead}# decrypted dataset (added by EM Lab)\n/${relPath}/\n`);
  return file;
}
