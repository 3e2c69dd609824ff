// Shape checks for what webviews send (untrusted): each throws ViewRequestError naming the field, so a broken or
// hostile view gets a clear 'bad-request' answer and nothing runs. No vscode (tested in plain Node).
import { absolutePathProblem } from '../protocol/pathRules';
import { ViewRequestError } from './viewChannel';

/** Characters per string unless a field says otherwise: above any prompt or path, small enough to refuse junk. */
export const MAX_TEXT = 200_000;

export function obj(v: unknown, what = 'params'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ViewRequestError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** For methods that take `Record<string, never>`: any object is accepted and nothing is read from it. */
export function noParams(v: unknown): Record<string, never> {
  obj(v);
  return {};
}

export function str(v: unknown, what: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length > max) throw new ViewRequestError(`${what} must be a string of at most ${max} characters`);
  return v;
}

/** undefined and '' both read as absent. */
export function optStr(v: unknown, what: string, max = MAX_TEXT): string | undefined {
  return v === undefined || v === '' ? undefined : str(v, what, max);
}

export function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new ViewRequestError(`${what} must be true or false`);
  return v;
}

export function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ViewRequestError(`${what} must be a finite number`);
  return v;
}

export function optNum(v: unknown, what: string): number | undefined {
  return v === undefined || v === null ? undefined : num(v, what);
}

export function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ViewRequestError(`${what} must be a whole number in [${min}, ${max}]`);
  return v;
}

export function oneOf<T extends string>(v: unknown, what: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new ViewRequestError(`${what} must be one of ${values.join(', ')}`);
  return v as T;
}

export function strings(v: unknown, what: string, maxItems = 1000): string[] {
  if (!Array.isArray(v) || v.length > maxItems) throw new ViewRequestError(`${what} must be a list of at most ${maxItems} strings`);
  return v.map((x, i) => str(x, `${what}[${i}]`));
}

/** An absolute path with no `..` (the shared rule, src/protocol/pathRules.ts). */
export function absPath(v: unknown, what: string): string {
  const problem = absolutePathProblem(v, what);
  if (problem) throw new ViewRequestError(problem);
  return v as string;
}
