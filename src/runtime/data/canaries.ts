// easy-dataset-share canaries, reproduced byte for byte (rules: ../shared/docs/facts-easy-dataset-share.md and
// the tool's canaries.py). Works on an in-memory file tree (relative path -> bytes) so unprotect can clean the
// data before anything touches the disk.
import { createHash } from 'node:crypto';
import { pyJsonDumps, pyJsonLoads, pySplitLines, type PyDict, type PyValue } from './pyJson';

export type FileTree = Map<string, Buffer>;

const CANARY_FILE_RE = /^dataset_entry_.*\.jsonl$/;
/** The tool's canary patterns, tried in this order on the first canary file (canaries.py). */
const CANARY_PATTERNS = [
  /CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+/,
  /tracking identifier is (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /identifier is (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /tracking code: (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /Reference code: (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /tracking identifier (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /embedded tracking code: (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /primary identifier is (CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+)/,
  /CANARY_DATASET_[a-f0-9]{64}_[0-9]+/,
];
const EMBEDDED_LINE_PATTERNS = [/CANARY_EMBEDDED: CANARY_DATASET_[A-Z_]+_[a-f0-9]{64}_[0-9]+/, /CANARY_EMBEDDED: CANARY_DATASET_[a-f0-9]{64}_[0-9]+/];
const CANARY_SUFFIXES = new Set(['.txt', '.html', '.json', '.jsonl', '.md']);
// Python's str.strip() whitespace (the ASCII and C1 parts that can occur in text files).
const PY_STRIP_RE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // Python keeps a BOM as U+FEFF

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** pathlib's Path.suffix: the last dot-suffix, '' for dot-files and names ending in a dot. */
export function pySuffix(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 || dot === name.length - 1 ? '' : name.slice(dot);
}

export function isCanaryFile(path: string): boolean {
  return CANARY_FILE_RE.test(baseName(path));
}

export function findCanaryString(text: string): string | undefined {
  for (const re of CANARY_PATTERNS) {
    const m = re.exec(text);
    if (m) return m[1] ?? m[0];
  }
  return undefined;
}

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function cleanValue(v: PyValue, canary: string): PyValue {
  if (typeof v === 'string') return v.replaceAll(canary, '');
  if (Array.isArray(v)) return v.map((x) => cleanValue(x, canary));
  if (v instanceof Map) {
    const out: PyDict = new Map();
    for (const [k, x] of v) if (x !== canary) out.set(k, cleanValue(x, canary));
    return out;
  }
  return v;
}

/** One file's bytes after the tool's remove_canary_from_file, or undefined when it leaves the file alone. */
export function removeCanaryFromFile(path: string, bytes: Buffer, canary: string): Buffer | undefined {
  if (baseName(path).includes('robots.txt')) return undefined;
  const suffix = pySuffix(path);
  if (!CANARY_SUFFIXES.has(suffix)) return undefined;
  const text = decode(bytes);
  if (text === undefined) return undefined; // not UTF-8: the Python tool would stop with an error; we leave it
  if (suffix === '.json') {
    let data: PyValue;
    try {
      data = pyJsonLoads(text);
    } catch {
      return undefined;
    }
    if (data instanceof Map && data.get('canary') === canary) data.delete('canary');
    else if (Array.isArray(data) && data.at(-1) instanceof Map && (data.at(-1) as PyDict).get('canary') === canary) (data.at(-1) as PyDict).delete('canary');
    else return undefined;
    return Buffer.from(pyJsonDumps(data, { indent: 2 }), 'utf8');
  }
  let lines = pySplitLines(text);
  if (suffix === '.jsonl') {
    lines = lines
      .filter((line) => !EMBEDDED_LINE_PATTERNS.some((re) => re.test(line)))
      .map((line) => {
        try {
          return pyJsonDumps(cleanValue(pyJsonLoads(line), canary), { ensureAscii: false });
        } catch {
          return line; // the tool keeps lines it cannot parse (blank lines included) as they are
        }
      });
  } else {
    lines = lines.filter((line) => !line.includes(canary));
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

export interface CanaryRemoval {
  canary?: string;
  removedFiles: string[];
  rewrittenFiles: string[];
}

/**
 * `--remove-canaries`: read the canary from the first dataset_entry_*.jsonl, delete those files, then clean every
 * .txt/.html/.json/.jsonl/.md file (robots.txt excepted). Mutates `files`.
 */
export function removeCanaries(files: FileTree): CanaryRemoval {
  const canaryFiles = [...files.keys()].filter(isCanaryFile).sort();
  let canary: string | undefined;
  for (const f of canaryFiles) {
    canary ??= findCanaryString(files.get(f)!.toString('utf8'));
    files.delete(f);
  }
  const rewrittenFiles: string[] = [];
  if (canary !== undefined) {
    for (const [path, bytes] of files) {
      const cleaned = removeCanaryFromFile(path, bytes, canary);
      if (cleaned && !cleaned.equals(bytes)) {
        files.set(path, cleaned);
        rewrittenFiles.push(path);
      }
    }
  }
  return { canary, removedFiles: canaryFiles, rewrittenFiles };
}

/** Python's repr() of a str (quote choice and the common escapes). */
function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!);
  return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
}

/**
 * The tool's canary: `CANARY_DATASET_<sha256(str(list of file names))>_64`. Python lists names in directory
 * order (os.listdir), which is not reproducible; we use sorted paths, so the string differs from the Python
 * tool's for the same folder but is stable across machines.
 */
export function datasetFingerprint(paths: string[]): string {
  const names = paths.filter((p) => !isCanaryFile(p)).sort().map(baseName);
  return createHash('sha256').update(`[${names.map(pyRepr).join(', ')}]`, 'utf8').digest('hex');
}

export function canaryFromFingerprint(fingerprint: string): string {
  return `CANARY_DATASET_${fingerprint}_${fingerprint.length % 1000}`;
}

/** The tool's canary file (create_canary_files_from_dataset, one file): name and its two JSON lines. */
export function canaryFile(fingerprint: string): { name: string; data: Buffer } {
  const canary = canaryFromFingerprint(fingerprint);
  const hash = createHash('md5').update(`${fingerprint}_0`).digest('hex').slice(0, 8);
  const entries: PyValue[] = [
    new Map<string, PyValue>([
      ['id', `canary_${fingerprint.slice(0, 8)}`],
      ['text', `This is a special entry for the dataset. The unique identifier is ${canary}.`],
      ['metadata', new Map<string, PyValue>([['type', 'canary_entry'], ['fingerprint', fingerprint.slice(0, 16)]])],
    ]),
    new Map<string, PyValue>([
      ['id', `entry_${fingerprint.slice(8, 16)}`],
      ['text', `This dataset contains this canary entry with identifier ${canary} for tracking purposes.`],
      ['metadata', new Map<string, PyValue>([['type', 'dataset_entry'], ['canary', canary]])],
    ]),
  ];
  return { name: `dataset_entry_${hash}.jsonl`, data: Buffer.from(entries.map((e) => pyJsonDumps(e) + '\n').join(''), 'utf8') };
}

/**
 * `--embed-canaries` for one file, or undefined to leave it. Same formats as the Python tool, with two
 * deliberate differences so that --remove-canaries restores the original bytes: text files get the comment
 * line without an extra blank line before it, and JSON lists are left alone (the tool appends an object whose
 * removal leaves an empty `{}` behind).
 */
export function embedCanaryInFile(path: string, bytes: Buffer, canary: string): Buffer | undefined {
  if (baseName(path).includes('robots.txt') || isCanaryFile(path)) return undefined;
  const suffix = pySuffix(path);
  if (!CANARY_SUFFIXES.has(suffix)) return undefined;
  const text = decode(bytes);
  if (text === undefined || text.includes(canary)) return undefined;
  if (suffix === '.jsonl') {
    const lines = pySplitLines(text.replace(PY_STRIP_RE, ''));
    if (lines.length === 0) return undefined;
    let last: PyValue;
    try {
      last = pyJsonLoads(lines.at(-1)!);
    } catch {
      return undefined;
    }
    if (!(last instanceof Map)) return undefined;
    last.set('canary', canary);
    lines[lines.length - 1] = pyJsonDumps(last);
    return Buffer.from(lines.join('\n') + '\n', 'utf8');
  }
  if (suffix === '.json') {
    let data: PyValue;
    try {
      data = pyJsonLoads(text);
    } catch {
      return undefined;
    }
    if (!(data instanceof Map)) return undefined;
    data.set('canary', canary);
    return Buffer.from(pyJsonDumps(data, { indent: 2 }), 'utf8');
  }
  const lineBreak = text === '' || text.endsWith('\n') ? '' : '\n';
  return Buffer.from(`${text}${lineBreak}<!-- ${canary} -->\n`, 'utf8');
}
