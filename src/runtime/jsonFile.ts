// Reading a JSON file a user (or a crash) may have damaged: "missing", "not valid JSON" and "not an object" are
// three different messages, each naming the file, so a torn run.json is never reported as a missing one.
import { readFileSync } from 'node:fs';
import { UserError } from './errors';
import { userErrorFromOs } from './osErrors';

/** Reads a JSON object; `code` is the error code for invalid content, `fix` the sentence that says what to do. */
export function readJsonFile(path: string, code: string, fix: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('file-not-found', `${path} does not exist. ${fix}`);
    throw userErrorFromOs(err, path) ?? err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UserError(code, `${path} is not valid JSON (${(err as Error).message}${text.trim() === '' ? '; the file is empty' : ''}). ${fix}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(code, `${path}: expected a JSON object, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}. ${fix}`);
  }
  return value as Record<string, unknown>;
}
