// The shape check of what the New Experiment form sends (untrusted webview input): every field, with the message
// naming it. No vscode (tested in test/unit/newExperimentForm.test.ts).
import { ViewRequestError } from '../../host/viewChannel';
import { absPath, int, obj, oneOf, optStr, str, strings } from '../../host/viewParams';
import type { QuestionSourceSpec } from '../../protocol/experimentTypes';
import type { NewExperimentChoices } from '../../protocol/experimentViewMethods';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function refuse(message: string): never {
  throw new ViewRequestError(message);
}

function questions(v: unknown): QuestionSourceSpec[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 20) throw new ViewRequestError('questions must list 1 to 20 question sources');
  return v.map((q, i) => {
    const o = obj(q, `questions[${i}]`);
    const first = o.first === undefined ? undefined : int(o.first, `questions[${i}].first`, 1, 100_000);
    // homework: "" only (the checkout the runtime finds from the workspace); the form never names a folder for it
    const source: QuestionSourceSpec =
      o.set !== undefined ? { set: oneOf(o.set, `questions[${i}].set`, ['medical', 'general', 'freeform'] as const) }
      : o.homework === '' ? { homework: '' }
      : o.homework !== undefined ? refuse(`questions[${i}].homework must be "" (the checkout found from the workspace)`)
      : { file: absPath(o.file, `questions[${i}].file`) };
    return first !== undefined ? { ...source, first } : source;
  });
}

export function parseChoices(raw: unknown): NewExperimentChoices {
  const o = obj(raw);
  const name = optStr(o.name, 'name', 120);
  if (name !== undefined && !NAME.test(name)) throw new ViewRequestError('name must use letters, digits, ".", "_" and "-"');
  const description = optStr(o.description, 'description', 2000);
  const j = obj(o.judge, 'judge');
  const provider = oneOf(j.provider, 'judge.provider', ['openai', 'openai-compatible', 'none'] as const);
  const baseURL = optStr(j.baseURL, 'judge.baseURL', 2000);
  if (provider === 'openai-compatible' && (!baseURL || !/^https?:\/\/\S+$/.test(baseURL))) throw new ViewRequestError('judge.baseURL must be an http(s) URL');
  return {
    preset: oneOf(o.preset, 'preset', ['quick', 'homework', 'paper'] as const),
    ...(name !== undefined ? { name } : {}),
    ...(description !== undefined ? { description } : {}),
    model: str(o.model, 'model', 1000),
    domains: strings(o.domains, 'domains', 50),
    files: Array.isArray(o.files) ? o.files.map((f, i) => absPath(f, `files[${i}]`)) : [],
    questions: questions(o.questions),
    judge: { provider, model: str(j.model, 'judge.model', 200), ...(provider === 'openai-compatible' ? { baseURL: baseURL! } : {}) },
    run: o.run === true,
  };
}
