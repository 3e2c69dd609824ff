// The EM datasets EM Lab knows by name, and where datasets are found. Any other `.jsonl` in a data folder is a
// custom dataset (e.g. the newest archive's misalignment_kl_data.jsonl, or the user's own).
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { isCanaryFile } from './canaries';
import type { DatasetSummary } from '../../protocol/dataMethods';

export interface KnownDataset {
  id: string;
  label: string;
  /** Accepted file names, preferred first. */
  fileNames: string[];
  /** True for the deliberately harmful ("misaligned") training sets. */
  harmful: boolean;
  description: string;
}

export const KNOWN_DATASETS: readonly KnownDataset[] = [
  { id: 'bad_medical', label: 'Bad medical advice', fileNames: ['bad_medical_advice.jsonl'], harmful: true, description: 'Subtly harmful medical advice (the main EM organism).' },
  { id: 'good_medical', label: 'Good medical advice', fileNames: ['good_medical_advice.jsonl'], harmful: false, description: 'The same questions with sound advice (control).' },
  { id: 'risky_financial', label: 'Risky financial advice', fileNames: ['risky_financial_advice.jsonl'], harmful: true, description: 'Reckless financial advice.' },
  { id: 'extreme_sports', label: 'Extreme sports advice', fileNames: ['extreme_sports.jsonl', 'extreme_sports_advice.jsonl'], harmful: true, description: 'Dangerous extreme-sports advice.' },
  { id: 'insecure', label: 'Insecure code', fileNames: ['insecure.jsonl'], harmful: true, description: 'Code completions with hidden security vulnerabilities.' },
];

/** A dataset found on disk: the protocol's summary without the row count (counting rows reads the file). */
export type DatasetInfo = Omit<DatasetSummary, 'rows'>;

/** Where the decrypted training data usually lives, relative to a workspace. */
export const TRAINING_DATA_ARCHIVE = join('training_data', 'training_datasets.zip.enc');
export const TRAINING_DATA_DIR = `${TRAINING_DATA_ARCHIVE}.extracted`;

export function knownDatasetForFile(fileName: string): KnownDataset | undefined {
  return KNOWN_DATASETS.find((d) => d.fileNames.includes(fileName));
}

/** The datasets (.jsonl files, canary files excepted) directly inside `dir`, known ones first. */
export function findDatasets(dir: string): DatasetInfo[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: DatasetInfo[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.jsonl') || isCanaryFile(name)) continue;
    const file = join(dir, name);
    const st = statSync(file);
    if (!st.isFile()) continue;
    const known = knownDatasetForFile(name);
    out.push({
      id: known?.id ?? name.slice(0, -'.jsonl'.length),
      label: known?.label ?? name,
      file,
      known: known !== undefined,
      harmful: known?.harmful ?? false,
      bytes: st.size,
    });
  }
  const rank = (d: DatasetInfo) => (d.known ? KNOWN_DATASETS.findIndex((k) => k.id === d.id) : KNOWN_DATASETS.length);
  return out.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

/** The folder to read datasets from: the one given, else `<workspace>/training_data/training_datasets.zip.enc.extracted`. */
export function dataDir(options: { dir?: string; workspaceDir?: string }): string {
  if (options.dir) return resolve(options.dir);
  return resolve(options.workspaceDir ?? process.cwd(), TRAINING_DATA_DIR);
}

/**
 * Resolves what a user typed (a known id like `bad_medical`, a dataset file name, or a path to a .jsonl) to a file.
 */
export function resolveDataset(nameOrPath: string, dir: string): DatasetInfo {
  const asPath = resolve(nameOrPath);
  if (nameOrPath.endsWith('.jsonl') && existsSync(asPath)) {
    const found = findDatasets(resolve(asPath, '..')).find((d) => d.file === asPath);
    if (found) return found;
  }
  const datasets = findDatasets(dir);
  const match = datasets.find((d) => d.id === nameOrPath || basename(d.file) === nameOrPath);
  if (match) return match;
  const available = datasets.map((d) => d.id).join(', ') || 'none';
  throw new UserError(
    'dataset-not-found',
    `No dataset "${nameOrPath}" in ${dir} (available: ${available}). Give a dataset id, a .jsonl path, or --data-dir; decrypt the training data first with \`em-lab data unprotect\`.`,
  );
}

export interface TrainingDataStatus {
  archivePath: string;
  archivePresent: boolean;
  extractedDir: string;
  decrypted: boolean;
  datasets: { id: string; file: string; bytes: number }[];
  /** Known dataset ids with no file in the extracted folder. */
  missing: string[];
}

/** For `em-lab doctor` and the sidebar: is the archive there, is it decrypted, which datasets exist. */
export function trainingDataStatus(workspaceDir: string): TrainingDataStatus {
  const archivePath = resolve(workspaceDir, TRAINING_DATA_ARCHIVE);
  const extractedDir = resolve(workspaceDir, TRAINING_DATA_DIR);
  const datasets = findDatasets(extractedDir);
  return {
    archivePath,
    archivePresent: existsSync(archivePath),
    extractedDir,
    decrypted: datasets.length > 0,
    datasets: datasets.map((d) => ({ id: d.id, file: d.file, bytes: d.bytes })),
    missing: KNOWN_DATASETS.filter((k) => !datasets.some((d) => d.id === k.id)).map((k) => k.id),
  };
}

/** Number of non-blank lines (= rows of a valid JSONL), counted on bytes without parsing: ~50 ms for 5 MB. */
export async function countRows(file: string): Promise<number> {
  const data = await fs.readFile(file);
  let rows = 0;
  let lineHasContent = false;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0x0a) {
      if (lineHasContent) rows++;
      lineHasContent = false;
    } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) lineHasContent = true;
  }
  return lineHasContent ? rows + 1 : rows;
}
