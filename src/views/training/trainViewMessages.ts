// Validation of what the training webview posts (untrusted input), vscode-free so unit tests run it: the options'
// kinds and bounds from the option table (src/protocol/trainOptions.ts), the run's fields by JSON type, and every
// path-like field through the shared rules in src/protocol/pathRules.ts (the runtime's train handlers check again).
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { TrainConfigView } from '../../protocol/trainMethods';
import { messageForForm, TRAIN_OPTION_TABLE, trainOptionProblems, type TrainOptionKey } from '../../protocol/trainOptions';
import { ViewRequestError } from '../../host/viewChannel';
import { absolutePathProblem, isAbsolutePath, nameProblem } from '../../protocol/pathRules';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const badRequest = (message: string) => new ViewRequestError(message);

/** The config keys that are not options (the run's model and data), with their JSON types. */
const RUN_FIELD_TYPES: Record<Exclude<keyof TrainConfigView, TrainOptionKey>, 'string' | 'strings'> = {
  model: 'string', domains: 'strings', dataFiles: 'strings', dataDir: 'string', initAdapter: 'string',
};

/** tiny-llama, an absolute folder, or a Hub id (owner/name, no `..`). */
function modelProblem(model: unknown): string | undefined {
  if (typeof model !== 'string' || model === 'tiny-llama') return undefined;
  if (isAbsolutePath(model)) return absolutePathProblem(model, 'config.model');
  return /^[\w-][\w.-]*\/[\w.-]+$/.test(model) && !model.split('/').includes('..') ? undefined : `config.model ${JSON.stringify(model)} must be tiny-llama, an absolute folder or a Hub id (owner/name)`;
}

export function sanitizeConfig(raw: unknown): Partial<TrainConfigView> {
  if (!isObject(raw)) throw badRequest('config must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, type] of Object.entries(RUN_FIELD_TYPES)) {
    const v = raw[k];
    if (v === undefined) continue;
    if (!(type === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === type)) throw badRequest(`config.${k} must be ${type}`);
    out[k] = v;
  }
  // The options: their kinds and bounds from the option table, problems named by the form field they come from.
  const optionValues = Object.fromEntries(TRAIN_OPTION_TABLE.filter((o) => raw[o.key] !== undefined).map((o) => [o.key, raw[o.key]]));
  const optionProblems = trainOptionProblems(optionValues, 'form');
  if (optionProblems.length) throw badRequest(optionProblems.join(' '));
  Object.assign(out, optionValues);
  const problems = [
    ...((out.domains as string[] | undefined) ?? []).map((d, i) => nameProblem(d, `config.domains[${i}]`)),
    ...((out.dataFiles as string[] | undefined) ?? []).map((f, i) => absolutePathProblem(f, `config.dataFiles[${i}]`)),
    ...(['dataDir', 'initAdapter'] as const).map((k) => (out[k] === undefined ? undefined : absolutePathProblem(out[k], `config.${k}`))),
    modelProblem(out.model),
  ].filter((x): x is string => x !== undefined);
  if (problems.length) throw badRequest(problems.join('; '));
  return out as Partial<TrainConfigView>;
}

/**
 * A run folder the webview names: absolute, no `..`, inside the runs folder: directly (a run of its own), or deeper
 * when it holds a run.json (an experiment's train/ folder).
 */
export function checkRunDirParam(v: unknown, runsDir: string): string {
  const problem = absolutePathProblem(v, 'runDir');
  if (problem) throw badRequest(problem);
  const rel = relative(runsDir, resolve(v as string));
  const nested = rel.includes('/') || rel.includes('\\');
  if (!rel || rel.startsWith('..') || isAbsolutePath(rel) || (nested && !existsSync(join(resolve(v as string), 'run.json')))) throw badRequest(`${String(v)} is not a run under ${runsDir}`);
  return resolve(v as string);
}



/**
 * The runtime's checks (combinations of options: fp16 on a CPU, 4-bit with float64) name the CLI flags; the training
 * view shows the error beside its form, so it names the form's fields instead. The error's code is kept.
 */
export async function inFormWords<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    throw Object.assign(new Error(messageForForm(err.message)), { code: (err as Error & { code?: unknown }).code });
  }
}
