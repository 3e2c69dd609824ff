// The one set of rules for path-like fields that arrive from places EM Lab does not control: webview messages
// (checked by the host sanitisers), the runtime's request params (checked again by its handlers) and CLI values
// that name something *inside* an EM Lab folder (dataset ids, Hub revisions, mix names). Pure string functions, no
// Node imports, so the host, the runtime and the webviews can all use them. Each returns the problem in words, or
// undefined; callers wrap it in their own error type. docs/secrets.md ("Paths") gives the rules.

const WINDOWS_ABSOLUTE = /^(?:[A-Za-z]:[\\/]|\\\\)/;
const CONTROL = /[\u0000-\u001f]/;

function segments(path: string): string[] {
  return path.split(/[\\/]+/).filter((s) => s !== '');
}

function show(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
}

export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || WINDOWS_ABSOLUTE.test(path);
}

/** A single file or folder name (a dataset id, a run name): no separators, not `.` or `..`, no control characters. */
export function nameProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value === '') return `${field} must be a non-empty name`;
  if (value.length > 200) return `${field} ${show(value)} is longer than 200 characters`;
  if (/[\\/]/.test(value)) return `${field} ${show(value)} must be a plain name, without / or \\`;
  if (value === '.' || value === '..') return `${field} ${show(value)} is not a name`;
  if (CONTROL.test(value)) return `${field} ${show(value)} contains control characters`;
  return undefined;
}

/** An absolute path with no `..` segment (what a file dialog or the host's own folders give). */
export function absolutePathProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value === '') return `${field} must be a non-empty path`;
  if (value.length > 4096) return `${field} is longer than 4096 characters`;
  if (CONTROL.test(value)) return `${field} ${show(value)} contains control characters`;
  if (!isAbsolutePath(value)) return `${field} ${show(value)} must be an absolute path`;
  if (segments(value).includes('..')) return `${field} ${show(value)} must not contain ".." (a path that climbs out of its folder)`;
  return undefined;
}

/**
 * A Hugging Face revision (branch, tag or commit; `refs/pr/1` too): segments of letters, digits, `.`, `_`, `-`,
 * none of them `.` or `..`, so a cache folder named after it stays inside the cache.
 */
export function revisionProblem(value: unknown, field = '--revision'): string | undefined {
  if (typeof value !== 'string' || value === '') return `${field} must be a branch, tag or commit`;
  if (value.length > 200) return `${field} ${show(value)} is longer than 200 characters`;
  const parts = value.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._-]+$/.test(p))) {
    return `${field} ${show(value)} is not a branch, tag or commit name (letters, digits, . _ - and / between parts; no "..")`;
  }
  return undefined;
}

/** Whether absolute `child` is `parent` itself or lies below it (string level: neither may contain `..`). */
export function isInside(child: string, parent: string): boolean {
  const c = segments(child);
  const p = segments(parent);
  if (c.includes('..') || p.includes('..') || c.length < p.length) return false;
  const fold = WINDOWS_ABSOLUTE.test(parent) ? (s: string) => s.toLowerCase() : (s: string) => s;
  return p.every((s, i) => fold(s) === fold(c[i]!));
}

/** `child` must be inside `parent` (both absolute, already resolved). */
export function insideProblem(child: string, parent: string, field: string): string | undefined {
  return isInside(child, parent) ? undefined : `${field} ${show(child)} is outside ${show(parent)}`;
}
