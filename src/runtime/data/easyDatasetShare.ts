// Native easy-dataset-share: `unprotect` (decrypt + unzip + optional canary removal) and `protect` (the inverse).
// File layout: 16-byte salt, then a Fernet token as url-safe base64 text. Key: PBKDF2-HMAC-SHA256(password,
// salt, 100 000 iterations). The whole archive is held in memory (as the Python tool does): about 3x its size.
// Output is built in a temporary folder beside the target and renamed into place only when complete, so a wrong
// password or a damaged file leaves nothing behind.
import { createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, renameSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { throwIfAborted, UserError } from '../errors';
import { pidAlive, sweepStaleTemps, tempOwner } from '../atomicFiles';
import { userErrorFromOs } from '../osErrors';
import { canaryFile, canaryFromFingerprint, datasetFingerprint, embedCanaryInFile, isCanaryFile, removeCanaries, type FileTree } from './canaries';
import { decodeBase64UrlStrict, deriveFernetKey, fernetDecrypt, fernetEncrypt, SALT_BYTES, type FernetKey } from './fernet';
import { ignoreInGit } from './gitignore';
import { listZipEntries, readZipEntry } from './zipReader';
import { writeZip, type ZipInputEntry } from './zipWriter';

export type ProgressFn = (message: string, fraction?: number) => void;

export interface UnprotectOptions {
  archivePath: string;
  password: string;
  /** Default: `<archive>.extracted` beside the archive. */
  outputDir?: string;
  removeCanaries?: boolean;
  /** Add the output folder to the enclosing repository's .gitignore (default true). */
  gitignore?: boolean;
  /** Replace an existing non-empty output folder (default false: refuse). */
  overwrite?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface ExtractedFile {
  path: string;
  bytes: number;
}

export interface UnprotectResult {
  outputDir: string;
  files: ExtractedFile[];
  canary?: string;
  removedCanaryFiles: string[];
  /** The .gitignore that got a new entry, if any. */
  gitignoreUpdated?: string;
}

export function defaultOutputDir(archivePath: string): string {
  return `${resolve(archivePath)}.extracted`;
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await fs.readdir(path)).length > 0;
  } catch {
    return false;
  }
}

async function assertOutputFree(outputDir: string, overwrite: boolean): Promise<void> {
  if (!existsSync(outputDir)) return;
  const stat = await fs.stat(outputDir);
  if (!stat.isDirectory()) throw new UserError('output-exists', `The output path ${outputDir} exists and is not a folder. Choose another output with -o.`);
  if (!overwrite && (await isNonEmptyDir(outputDir))) {
    throw new UserError('output-exists', `The output folder ${outputDir} already exists and is not empty. Delete it, choose another with -o, or pass --overwrite to replace it.`);
  }
}

/** Decrypt one block with AES-128-CBC, no padding: used only to diagnose a failed signature (see below). */
function decryptBlocks(key: FernetKey, iv: Buffer, blocks: Buffer): Buffer {
  const d = createDecipheriv('aes-128-cbc', key.encryptionKey, iv);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(blocks), d.final()]);
}

/**
 * After a signature failure: does this key decrypt the ciphertext's first block to a ZIP header, or its last
 * blocks to valid padding and a ZIP end record? With a wrong key neither happens (probability ~2^-32); a single
 * damaged byte cannot spoil both. The decrypted bytes are only inspected, never returned or written.
 */
function keyLooksRight(key: FernetKey, token: Buffer): boolean {
  const cipher = token.subarray(25, token.length - 32);
  if (cipher.length < 16) return false;
  const first = decryptBlocks(key, token.subarray(9, 25), cipher.subarray(0, 16));
  if (first[0] === 0x50 && first[1] === 0x4b && (first[2] === 3 || first[2] === 5)) return true;
  if (cipher.length < 48) return false;
  const tail = decryptBlocks(key, cipher.subarray(cipher.length - 48, cipher.length - 32), cipher.subarray(cipher.length - 32));
  const pad = tail[tail.length - 1]!;
  if (pad < 1 || pad > 16 || !tail.subarray(tail.length - pad).every((b) => b === pad)) return false;
  const end = tail.length - pad;
  return end >= 22 && tail.readUInt32LE(end - 22) === 0x06054b50;
}

/** Decrypts an archive's bytes into the ZIP it holds, with distinct errors for a wrong password and a damaged file. */
export async function decryptArchiveBytes(file: Buffer, password: string, where: string, onProgress: ProgressFn = () => {}): Promise<Buffer> {
  if (file.length < SALT_BYTES + 8) {
    throw new UserError('corrupt-archive', `${where} is only ${file.length} bytes: too short to be an easy-dataset-share archive (16-byte salt + Fernet token). It is truncated; download it again.`);
  }
  const salt = file.subarray(0, SALT_BYTES);
  let token: Buffer;
  try {
    token = decodeBase64UrlStrict(file.subarray(SALT_BYTES).toString('latin1'), 'encrypted token');
  } catch (err) {
    throw err instanceof UserError ? new UserError(err.code, `${where}: ${err.message}`) : err;
  }
  onProgress('Deriving the key (PBKDF2, 100 000 iterations)', 0.05);
  const key = await deriveFernetKey(password, salt);
  onProgress('Checking the signature and decrypting', 0.1);
  try {
    return fernetDecrypt(key, token);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    if (err.code !== 'wrong-password') throw new UserError(err.code, `${where}: ${err.message}`);
    if (keyLooksRight(key, token)) {
      throw new UserError('corrupt-archive', `${where}: the password is right, but the archive's signature does not match its contents: the file was truncated or altered after it was made. Download it again.`);
    }
    throw new UserError('wrong-password', `Wrong password for ${where}: the archive's signature check (HMAC) failed. Check the password (-p or EM_LAB_DATASET_PASSWORD; the public EM datasets use "model-organisms-em-datasets"). If you are sure it is right, the file's first bytes are damaged: download it again.`);
  }
}

/** `.<name>.<kind>-<pid>-<hex>`: a temporary sibling of `target` that sweepStaleTemps can attribute to its writer. */
function siblingTemp(target: string, kind: 'partial' | 'old'): string {
  return join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * What a killed unprotect/protect left beside `target`: partial outputs are removed; a moved-aside previous output
 * (`.old-`) is put back when the new one never replaced it, else removed.
 */
export function sweepBeside(target: string): string[] {
  const prefix = `.${basename(target)}.`;
  const restore = (name: string) => {
    if (!name.startsWith(`${prefix}old-`) || existsSync(target)) return false;
    const pid = tempOwner(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) return false;
    renameSync(join(dirname(target), name), target);
    return true;
  };
  return sweepStaleTemps(dirname(target), (name) => !name.startsWith(prefix) || restore(name));
}

/** Writes `files` into a fresh temporary folder beside `target`, then renames it into place. */
async function writeTreeAtomically(target: string, files: FileTree, directories: Set<string>, overwrite: boolean, onProgress: ProgressFn, signal?: AbortSignal): Promise<void> {
  const parent = dirname(target);
  const createdParent = await fs.mkdir(parent, { recursive: true });
  sweepBeside(target);
  const temp = siblingTemp(target, 'partial');
  let old: string | undefined;
  try {
    await fs.mkdir(temp);
    for (const dir of directories) await fs.mkdir(join(temp, dir), { recursive: true });
    let done = 0;
    for (const [rel, data] of files) {
      throwIfAborted(signal);
      const dest = resolve(temp, rel);
      if (!dest.startsWith(temp + sep)) throw new UserError('unsafe-archive-path', `Refusing to write "${rel}" outside the output folder.`);
      await fs.mkdir(dirname(dest), { recursive: true });
      await fs.writeFile(dest, data);
      onProgress(`Writing ${rel}`, 0.9 + (0.1 * ++done) / files.size);
    }
    await assertOutputFree(target, overwrite);
    if (existsSync(target)) {
      old = siblingTemp(target, 'old');
      await fs.rename(target, old);
    }
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    if (old) await fs.rename(old, target).catch(() => undefined);
    if (createdParent) await fs.rm(createdParent, { recursive: true, force: true });
    throw userErrorFromOs(err, target, { nameWhere: true }) ?? err;
  }
  if (old) await fs.rm(old, { recursive: true, force: true });
}

export async function unprotectArchive(o: UnprotectOptions): Promise<UnprotectResult> {
  const onProgress = o.onProgress ?? (() => {});
  const archivePath = resolve(o.archivePath);
  const outputDir = resolve(o.outputDir ?? defaultOutputDir(archivePath));
  if (!existsSync(archivePath)) {
    throw new UserError('archive-not-found', `No archive at ${archivePath}. Check the path, or run "EM Lab: Get Training Data" / see training_data/README.md for where to get training_datasets.zip.enc.`);
  }
  if ((await fs.stat(archivePath)).isDirectory()) throw new UserError('archive-not-found', `${archivePath} is a folder, not an archive. Give the .zip.enc file (e.g. training_data/training_datasets.zip.enc).`);
  await assertOutputFree(outputDir, o.overwrite ?? false);
  onProgress(`Reading ${basename(archivePath)}`, 0);
  const zip = await decryptArchiveBytes(await fs.readFile(archivePath), o.password, archivePath, onProgress);
  throwIfAborted(o.signal);
  const entries = listZipEntries(zip);
  const files: FileTree = new Map();
  const directories = new Set<string>();
  const total = entries.reduce((n, e) => n + e.uncompressedSize, 0) || 1;
  let done = 0;
  for (const entry of entries) {
    throwIfAborted(o.signal);
    if (entry.isDirectory) {
      if (entry.name) directories.add(entry.name);
      continue;
    }
    files.set(entry.name, readZipEntry(zip, entry));
    done += entry.uncompressedSize;
    onProgress(`Extracting ${entry.name}`, 0.2 + (0.6 * done) / total);
  }
  if (files.size === 0) throw new UserError('empty-archive', `${archivePath} decrypts to an archive with no files. It is not a dataset archive; check that you have the right file.`);
  let removal: ReturnType<typeof removeCanaries> | undefined;
  if (o.removeCanaries) {
    onProgress('Removing canaries', 0.85);
    removal = removeCanaries(files);
  }
  await writeTreeAtomically(outputDir, files, directories, o.overwrite ?? false, onProgress, o.signal);
  const gitignoreUpdated = o.gitignore === false ? undefined : ignoreInGit(outputDir);
  onProgress('Done', 1);
  return {
    outputDir,
    files: [...files].map(([path, data]) => ({ path, bytes: data.length })).sort((a, b) => a.path.localeCompare(b.path)),
    canary: removal?.canary,
    removedCanaryFiles: removal?.removedFiles ?? [],
    gitignoreUpdated,
  };
}

export interface ProtectOptions {
  folder: string;
  password: string;
  /** Default: `<folder>.zip.enc` beside the folder. */
  outputFile?: string;
  /** Also put the canary inside the .jsonl/.json/.txt/.md/.html files (the canary file is always added). */
  embedCanaries?: boolean;
  overwrite?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface ProtectResult {
  outputFile: string;
  canary: string;
  entries: number;
  bytes: number;
}

async function readTree(root: string, skip: string): Promise<{ files: FileTree; emptyDirs: string[] }> {
  const files: FileTree = new Map();
  const emptyDirs: string[] = [];
  const walk = async (dir: string, rel: string) => {
    const items = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    if (items.length === 0 && rel) emptyDirs.push(rel);
    for (const item of items) {
      const abs = join(dir, item.name);
      const r = rel ? `${rel}/${item.name}` : item.name;
      if (abs === skip) continue;
      if (item.isDirectory()) await walk(abs, r);
      else if (item.isFile()) files.set(r, await fs.readFile(abs));
    }
  };
  await walk(root, '');
  return { files, emptyDirs };
}

export async function protectFolder(o: ProtectOptions): Promise<ProtectResult> {
  const onProgress = o.onProgress ?? (() => {});
  const folder = resolve(o.folder);
  const outputFile = resolve(o.outputFile ?? `${folder}.zip.enc`);
  if (!existsSync(folder) || !(await fs.stat(folder)).isDirectory()) throw new UserError('folder-not-found', `No folder at ${folder}. Give the folder holding your dataset files.`);
  if (existsSync(outputFile) && !o.overwrite) throw new UserError('output-exists', `${outputFile} already exists. Delete it, choose another with -o, or pass --overwrite.`);
  onProgress(`Reading ${folder}`, 0);
  const { files, emptyDirs } = await readTree(folder, outputFile);
  if (files.size === 0) throw new UserError('empty-folder', `${folder} holds no files to protect.`);
  const fingerprint = datasetFingerprint([...files.keys()]);
  const canary = canaryFromFingerprint(fingerprint);
  if (![...files.keys()].some(isCanaryFile)) {
    const cf = canaryFile(fingerprint);
    files.set(cf.name, cf.data);
  }
  if (o.embedCanaries) {
    for (const [path, data] of files) {
      const embedded = embedCanaryInFile(path, data, canary);
      if (embedded) files.set(path, embedded);
    }
  }
  throwIfAborted(o.signal);
  const mtime = new Date();
  const entries: ZipInputEntry[] = [...[...files].map(([name, data]) => ({ name, data, mtime })), ...emptyDirs.map((d) => ({ name: `${d}/`, data: Buffer.alloc(0), mtime }))];
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  onProgress('Zipping', 0.3);
  const zip = writeZip(entries);
  onProgress('Deriving the key (PBKDF2, 100 000 iterations)', 0.4);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveFernetKey(o.password, salt);
  onProgress('Encrypting', 0.6);
  const tokenText = fernetEncrypt(key, zip).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'); // url-safe, '=' padding kept (as Python)
  const out = Buffer.concat([salt, Buffer.from(tokenText, 'latin1')]);
  await fs.mkdir(dirname(outputFile), { recursive: true });
  sweepBeside(outputFile);
  const temp = siblingTemp(outputFile, 'partial');
  try {
    await fs.writeFile(temp, out);
    await fs.rename(temp, outputFile);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw userErrorFromOs(err, outputFile, { nameWhere: true }) ?? err;
  }
  onProgress('Done', 1);
  return { outputFile, canary, entries: entries.length, bytes: out.length };
}
