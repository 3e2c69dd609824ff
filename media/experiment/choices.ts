// The New Experiment form's values -> the request the host sends to experiment/create, with every problem named by
// the form field it concerns; and the equivalent `em-lab experiment new` command line the footer shows. Pure (no
// DOM), so test/unit checks it.
import type { QuestionSourceSpec } from '../../src/protocol/experimentTypes';
import type { NewExperimentChoices } from '../../src/protocol/experimentViewMethods';
import { commandLine } from '../../src/protocol/commandLine';

export interface FormFields {
  model(): string;
  modelChoice(): string;
  domains(): string[];
  files(): string[];
  preset(): string;
  sets(): { id: QuestionSetId; label: string; checked: boolean; first: string }[];
  questionFile(): string;
  judge(): string;
  judgeModel(): string;
  judgeUrl(): string;
  name(): string;
  description(): string;
}

/** A bundled question set, or the grader's questions of the homework checkout the host finds. */
export type QuestionSetId = 'medical' | 'general' | 'freeform' | 'homework';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function readChoices(f: FormFields, run: boolean): { choices?: NewExperimentChoices; errors: string[] } {
  const errors: string[] = [];
  const model = f.model();
  if (!model) errors.push('Base model: type a Hub id (owner/name) or pick a model folder.');
  else if (f.modelChoice() === 'other' && !HUB_ID.test(model) && !model.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(model)) errors.push(`Base model: "${model}" is neither a Hub id (owner/name) nor an absolute folder.`);
  const domains = f.domains();
  const files = f.files();
  if (!domains.length && !files.length) errors.push('Training data: tick a dataset or add a JSONL file.');
  const questions: QuestionSourceSpec[] = [];
  for (const s of f.sets()) {
    if (!s.checked) continue;
    const source: QuestionSourceSpec = s.id === 'homework' ? { homework: '' } : { set: s.id };
    if (s.first === '') questions.push(source);
    else if (!/^[1-9]\d*$/.test(s.first)) errors.push(`Evaluation questions: "First N" of the ${s.label} set must be a whole number of at least 1.`);
    else questions.push({ ...source, first: Number(s.first) });
  }
  if (f.questionFile()) questions.push({ file: f.questionFile() });
  if (!questions.length) errors.push('Evaluation questions: tick a question set or choose a question file.');
  const provider = f.judge();
  if (provider !== 'openai' && provider !== 'openai-compatible' && provider !== 'none') errors.push('Judge: choose OpenAI, a server URL or none.');
  if (provider !== 'none' && !f.judgeModel()) errors.push('Judge model: name the model that scores the answers, e.g. gpt-4o-mini.');
  if (provider === 'openai-compatible' && !/^https?:\/\/\S+$/.test(f.judgeUrl())) errors.push('Server URL: must start with http:// or https://, e.g. http://127.0.0.1:8000/v1.');
  const name = f.name();
  if (name && !NAME.test(name)) errors.push('Name: use letters, digits, ".", "_" and "-" only, starting with a letter or digit.');
  const preset = f.preset();
  if (preset !== 'quick' && preset !== 'homework' && preset !== 'paper') errors.push('Preset: choose one.');
  if (errors.length) return { errors };
  const description = f.description();
  return {
    errors,
    choices: {
      preset: preset as NewExperimentChoices['preset'],
      ...(name ? { name } : {}),
      ...(description ? { description } : {}),
      model,
      domains,
      files,
      questions,
      judge: { provider: provider as NewExperimentChoices['judge']['provider'], model: f.judgeModel() || 'gpt-4o-mini', ...(provider === 'openai-compatible' ? { baseURL: f.judgeUrl() } : {}) },
      run,
    },
  };
}

/** The `em-lab experiment new` flags (src/runtime/experiment/newFlags.ts) that write the same experiment.json. */
export function cliCommand(c: NewExperimentChoices): string {
  const args = ['em-lab', 'experiment', 'new', '--preset', c.preset, '--model', c.model];
  if (c.domains.length) args.push('--domains', c.domains.join(','));
  for (const f of c.files) args.push('--data', f);
  for (const q of c.questions) args.push('--questions', `${'set' in q ? q.set : 'homework' in q ? 'homework' : q.file}${q.first !== undefined ? `:${q.first}` : ''}`);
  args.push('--judge', c.judge.provider === 'openai-compatible' ? c.judge.baseURL! : c.judge.provider);
  if (c.judge.provider !== 'none') args.push('--judge-model', c.judge.model);
  if (c.name) args.push('--name', c.name);
  return commandLine(args);
}
