// Validation of what the training webview posts (untrusted input), vscode-free so unit tests run it: known config
// keys with their JSON types, and every path-like field through the shared rules in src/protocol/pathRules.ts
// (the runtime's train handlers check them again).
import { relative, resolve } from 'node:path';
import type { TrainConfigView } from '../../protocol/trainMethods';
import { absolutePathProblem, isAbsolutePath, nameProblem } from '../../protocol/pathRules';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const badRequest = (message: string) => Object.assign(new Error(message), { code: 'bad-request' });

/** Known config keys and their JSON types: anything else from the webview is dropped. */
const CONFIG_TYPES: Record<keyof TrainConfigView, 'string' | 'number' | 'boolean' | 'strings' | 'numbers'> = {
  model: 'string', domains: 'strings', dataFiles: 'strings', dataDir: 'string', numEpochs: 'number', loraRank: 'number', loraAlpha: 'number', loraDropout: 'number',
  useRslora: 'boolean', targetModules: 'strings', layersToTransform: 'numbers', learningRate: 'number', lrScheduler: 'string', warmupSteps: 'number',
  weightDecay: 'number', maxGradNorm: 'number', batchSize: 'number', gradientAccumulationSteps: 'number', maxLength: 'number', sampleSize: 'number',
  trainOn: 'string', seed: 'number', shuffle: 'boolean', evalSplit: 'number', evalSteps: 'number', saveSteps: 'number', firstEpochCheckpoints: 'number',
  initAdapter: 'string', device: 'string', dtype: 'string', maxSteps: 'number', precision: 'string', use4bit: 'boolean',
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
  for (const [k, type] of Object.entries(CONFIG_TYPES)) {
    const v = raw[k];
    if (v === undefined) continue;
    const ok = type === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : type === 'numbers' ? Array.isArray(v) && v.every((x) => typeof x === 'number') : typeof v === type;
    if (!ok) throw badRequest(`config.${k} must be ${type}`);
    out[k] = v;
  }
  const problems = [
    ...((out.domains as string[] | undefined) ?? []).map((d, i) => nameProblem(d, `config.domains[${i}]`)),
    ...((out.dataFiles as string[] | undefined) ?? []).map((f, i) => absolutePathProblem(f, `config.dataFiles[${i}]`)),
    ...(['dataDir', 'initAdapter'] as const).map((k) => (out[k] === undefined ? undefined : absolutePathProblem(out[k], `config.${k}`))),
    modelProblem(out.model),
  ].filter((x): x is string => x !== undefined);
  if (problems.length) throw badRequest(problems.join('; '));
  return out as Partial<TrainConfigView>;
}

/** A run folder the webview names: absolute, no `..`, directly inside the runs folder. */
export function checkRunDirParam(v: unknown, runsDir: string): string {
  const problem = absolutePathProblem(v, 'runDir');
  if (problem) throw badRequest(problem);
  const rel = relative(runsDir, resolve(v as string));
  if (!rel || rel.startsWith('..') || isAbsolutePath(rel) || rel.includes('/') || rel.includes('\\')) throw badRequest(`${String(v)} is not a run under ${runsDir}`);
  return resolve(v as string);
}


