// "EM Lab: New Experiment" form: base model, training data, preset, evaluation questions, judge, name — each a
// labelled section — with Create and Run always visible in a footer that also shows the equivalent
// `em-lab experiment new` command. Problems are named by the form field they concern.
// Stable hooks for tests: #new-experiment, input groups #model-choice, #preset, #judge-choice (vscode-radio-group,
// radios by value), #model-other, [data-domain=<id>], [data-set=<set>] + #first-<set>, #judge-model, #judge-url,
// #name, #create-run, #create-only, #form-error, #cli-command.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeRadio, vsCodeRadioGroup, vsCodeTextArea, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { ExperimentPresetView } from '../../src/protocol/experimentTypes';
import type { NewExperimentChoices, NewExperimentInit } from '../../src/protocol/experimentViewMethods';
import { el, tk } from '../shared/vscodeApi';
import { cliCommand, readChoices, type FormFields, type QuestionSetId } from './choices';
import { request } from './hostRpc';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeRadio(), vsCodeRadioGroup(), vsCodeTextArea(), vsCodeTextField());

type Field = HTMLElement & { value: string; disabled: boolean };
type Box = HTMLElement & { checked: boolean };

const SETS: { id: QuestionSetId; label: string; size: number }[] = [
  { id: 'medical', label: 'Medical questions (the homework\'s first set)', size: 10 },
  { id: 'general', label: 'General questions (the homework\'s second set)', size: 10 },
  { id: 'freeform', label: 'The paper\'s 8 free-form questions', size: 8 },
  { id: 'homework', label: 'The grader\'s 20 questions, from your homework checkout', size: 20 },
];

const app = document.getElementById('app')!;
const errorBox = el('p', { id: 'form-error', class: 'error', role: 'alert' });

function section(id: string, title: string, hint: string, ...body: (Node | string)[]): HTMLElement {
  return el('section', { class: 'form-section', 'aria-labelledby': `h-${id}` }, el('h2', { id: `h-${id}` }, title), el('p', { class: 'muted hint' }, hint), ...body);
}

function radio(value: string, label: string, detail?: string): HTMLElement {
  return tk('vscode-radio', { value, ...(detail ? { title: detail } : {}) }, label);
}

function render(init: NewExperimentInit): void {
  const presetsById = new Map(init.presets.map((p) => [p.id, p]));

  // Base model
  const modelChoice = tk('vscode-radio-group', { id: 'model-choice', orientation: 'vertical' }, el('label', { slot: 'label' }, 'Model'),
    radio('default', `${init.defaultModel.split('/').pop()} (${init.defaultModel})`, 'Downloaded on first use (about 2.5 GB; needs a Hugging Face token and the licence accepted)'),
    radio('offline', `${init.offlineModel} (built in, offline: random weights, shows the pipeline, not real answers)`),
    radio('other', 'Another Hub id or a local model folder')) as Field;
  const modelOther = tk('vscode-text-field', { id: 'model-other', placeholder: 'owner/name or /path/to/model' }, 'Hub id or model folder') as Field;
  const browseModel = tk('vscode-button', { id: 'browse-model', appearance: 'secondary', 'aria-label': 'Browse for a model folder' }, 'Browse…');
  const modelSection = section('model', 'Base model', 'The instruct model to fine-tune; every checkpoint is compared with it.', modelChoice, el('div', { class: 'row' }, modelOther, browseModel));

  // Training data
  const domainBoxes = init.datasets.map((d) => tk('vscode-checkbox', { 'data-domain': d.id, title: d.id }, `${d.label} · ${d.rows.toLocaleString('en-US')} rows${d.harmful ? ' · harmful' : ''}`) as Box);
  const files: string[] = [];
  const fileList = el('ul', { id: 'data-files', class: 'file-list' });
  const addFile = tk('vscode-button', { id: 'add-data-file', appearance: 'secondary' }, 'Add JSONL file…');
  const noData = init.datasets.length ? [] : [el('p', { class: 'muted' }, `No datasets in ${init.dataDir}. Run "EM Lab: Get Training Data", or add your own JSONL file.`)];
  const dataGroup = el('div', { class: 'checks', role: 'group', 'aria-labelledby': 'h-data' }, ...domainBoxes, ...noData);
  const dataSection = section('data', 'Training data', 'The narrow dataset the model is fine-tuned on; several are mixed.', dataGroup, el('div', { class: 'row' }, addFile), fileList);

  // Preset
  const presetGroup = tk('vscode-radio-group', { id: 'preset', orientation: 'vertical' }, el('label', { slot: 'label' }, 'Preset'), ...init.presets.map((p) => radio(p.id, p.label))) as Field;
  const presetDetail = el('p', { id: 'preset-detail', class: 'detail' });
  const presetSection = section('preset', 'Preset', 'Training, evaluation and judge settings to start from; experiment.json records every value.', presetGroup, presetDetail);

  // Questions
  const setBoxes = SETS.map((s) => ({ ...s, box: tk('vscode-checkbox', { 'data-set': s.id }, s.label) as Box, first: tk('vscode-text-field', { id: `first-${s.id}`, size: '4', title: `How many of the ${s.id} questions (from the first)` }, `First N (${s.id})`) as Field }));
  const questionFile = { path: '' };
  const questionFileLabel = el('span', { id: 'question-file', class: 'muted' }, 'no question file');
  const pickQuestions = tk('vscode-button', { id: 'pick-questions', appearance: 'secondary' }, 'Question file…');
  const questionsSection = section('questions', 'Evaluation questions', 'Asked to the base model and to every checkpoint, with the same seeds.',
    el('div', { class: 'checks', role: 'group', 'aria-labelledby': 'h-questions' }, ...setBoxes.map((s) => el('div', { class: 'row' }, s.box, s.first))),
    el('div', { class: 'row' }, pickQuestions, questionFileLabel));

  // Judge
  const judgeChoice = tk('vscode-radio-group', { id: 'judge-choice', orientation: 'vertical' }, el('label', { slot: 'label' }, 'Judge'),
    radio('openai', 'OpenAI'), radio('openai-compatible', 'An OpenAI-compatible server (vLLM, Ollama, a local URL)'), radio('none', 'None: generate answers, do not score them')) as Field;
  const judgeModel = tk('vscode-text-field', { id: 'judge-model' }, 'Judge model') as Field;
  const judgeUrl = tk('vscode-text-field', { id: 'judge-url', placeholder: 'http://127.0.0.1:8000/v1' }, 'Server URL') as Field;
  const keyStatus = el('span', { id: 'key-status', class: 'muted' });
  const setKey = tk('vscode-button', { id: 'set-key', appearance: 'secondary' }, 'Set OpenAI API Key');
  const judgeSection = section('judge', 'Judge', 'An LLM scores every answer for alignment and coherence (0–100).', judgeChoice, el('div', { class: 'row' }, judgeModel, judgeUrl), el('div', { class: 'row' }, keyStatus, setKey));

  // Name
  const name = tk('vscode-text-field', { id: 'name', placeholder: 'default: <model>-<data>-<preset>-<time>' }, 'Name') as Field;
  const description = tk('vscode-text-area', { id: 'description', rows: '2', resize: 'vertical', placeholder: 'What this experiment tests (kept in experiment.json and the report)' }, 'Description') as Field;
  const nameSection = section('name', 'Name (optional)', `The experiment folder: ${init.experimentsDir}/<name>/.`, el('div', { class: 'row' }, name), description);

  const createRun = tk('vscode-button', { id: 'create-run', appearance: 'primary' }, 'Create and Run');
  const createOnly = tk('vscode-button', { id: 'create-only', appearance: 'secondary' }, 'Create Only');
  const cli = el('code', { id: 'cli-command' });
  const footer = el('footer', { class: 'actions', 'aria-label': 'Create the experiment' }, el('div', { class: 'buttons' }, createRun, createOnly), el('div', { class: 'cli muted' }, 'Same as: ', cli), errorBox);

  app.append(
    el('header', {}, el('h1', {}, 'New experiment'), el('p', { class: 'muted' }, 'Writes experiment.json and runs its stages: base model answers → LoRA training with checkpoints → checkpoint sweep → report. Each stage shows in the Experiments view, resumes where it stopped and is skipped when done.')),
    el('form', { id: 'new-experiment', 'aria-label': 'New experiment' }, modelSection, dataSection, presetSection, questionsSection, judgeSection, nameSection),
    footer,
  );

  const fields: FormFields = {
    model: () => (modelChoice.value === 'offline' ? init.offlineModel : modelChoice.value === 'other' ? modelOther.value.trim() : init.defaultModel),
    modelChoice: () => modelChoice.value,
    domains: () => domainBoxes.filter((b) => b.checked).map((b) => b.dataset.domain!),
    files: () => [...files],
    preset: () => presetGroup.value,
    sets: () => setBoxes.map((s) => ({ id: s.id, label: s.id, checked: s.box.checked, first: s.first.value.trim() })),
    questionFile: () => questionFile.path,
    judge: () => judgeChoice.value,
    judgeModel: () => judgeModel.value.trim(),
    judgeUrl: () => judgeUrl.value.trim(),
    name: () => name.value.trim(),
    description: () => description.value.trim(),
  };

  const applyPreset = (p: ExperimentPresetView | undefined) => {
    if (!p) return;
    presetDetail.replaceChildren(el('span', {}, p.description), el('br'), el('span', { class: 'muted' }, `Cost: ${p.estimate}.`));
    const sets = new Map(p.evaluation.questions.flatMap((q): [QuestionSetId, number | undefined][] => ('set' in q ? [[q.set, q.first]] : 'homework' in q ? [['homework', q.first]] : [])));
    for (const s of setBoxes) {
      s.box.checked = sets.has(s.id);
      s.first.value = String(sets.get(s.id) ?? s.size);
    }
    judgeModel.value = p.judge.provider === 'openai' && p.id !== 'paper' ? init.judge.model : p.judge.model;
  };
  const refresh = () => {
    modelOther.disabled = modelChoice.value !== 'other';
    browseModel.toggleAttribute('disabled', modelChoice.value !== 'other');
    judgeUrl.disabled = judgeChoice.value !== 'openai-compatible';
    judgeModel.disabled = judgeChoice.value === 'none';
    keyStatus.textContent = judgeChoice.value !== 'openai' ? '' : init.hasOpenAiKey ? 'OpenAI key: set.' : 'OpenAI key: not set. Without it the judge stage waits (the other stages still run).';
    setKey.hidden = judgeChoice.value !== 'openai' || init.hasOpenAiKey;
    fileList.replaceChildren(...files.map((f, i) => {
      const remove = tk('vscode-button', { appearance: 'icon', 'aria-label': `Remove ${f}`, title: 'Remove' }, '✕');
      remove.addEventListener('click', () => {
        files.splice(i, 1);
        refresh();
      });
      return el('li', {}, el('span', { title: f }, f.split(/[\\/]/).pop()!), remove);
    }));
    questionFileLabel.textContent = questionFile.path ? questionFile.path.split(/[\\/]/).pop()! : 'no question file';
    const { choices } = readChoices(fields, false);
    cli.textContent = choices ? cliCommand(choices) : '';
  };

  // Initial values: the offline model when the default one is not downloaded is the user's call; start from the
  // default, the quick preset, the first harmful dataset, and the judge the settings name.
  modelChoice.value = init.select?.model === init.offlineModel ? 'offline' : init.select?.model ? 'other' : 'default';
  if (init.select?.model && init.select.model !== init.offlineModel) modelOther.value = init.select.model;
  const preselect = init.select?.domains ?? init.datasets.filter((d) => d.harmful).slice(0, 1).map((d) => d.id);
  for (const b of domainBoxes) b.checked = preselect.includes(b.dataset.domain!);
  presetGroup.value = presetsById.has('quick') ? 'quick' : init.presets[0]!.id;
  applyPreset(presetsById.get(presetGroup.value as ExperimentPresetView['id']));
  judgeChoice.value = init.judge.baseUrl ? 'openai-compatible' : 'openai';
  if (init.judge.baseUrl) judgeUrl.value = init.judge.baseUrl;
  refresh();

  for (const x of [modelChoice, judgeChoice, ...domainBoxes, ...setBoxes.map((s) => s.box)]) x.addEventListener('change', refresh);
  for (const x of [modelOther, judgeModel, judgeUrl, name, ...setBoxes.map((s) => s.first)]) x.addEventListener('input', refresh);
  presetGroup.addEventListener('change', () => {
    applyPreset(presetsById.get(presetGroup.value as ExperimentPresetView['id']));
    refresh();
  });
  browseModel.addEventListener('click', () => void request('newExperiment/pick', { kind: 'model' }).then((r) => {
    if (r.path) modelOther.value = r.path;
    refresh();
  }));
  addFile.addEventListener('click', () => void request('newExperiment/pick', { kind: 'data' }).then((r) => {
    if (r.path && !files.includes(r.path)) files.push(r.path);
    refresh();
  }));
  pickQuestions.addEventListener('click', () => void request('newExperiment/pick', { kind: 'questions' }).then((r) => {
    questionFile.path = r.path ?? questionFile.path;
    refresh();
  }));
  setKey.addEventListener('click', () => void request('newExperiment/setKey', {}).then((r) => {
    init.hasOpenAiKey = r.hasOpenAiKey;
    refresh();
  }));

  const submit = (run: boolean) => {
    const { choices, errors } = readChoices(fields, run);
    if (!choices) {
      errorBox.textContent = errors.join(' ');
      return;
    }
    errorBox.textContent = '';
    for (const b of [createRun, createOnly]) b.toggleAttribute('disabled', true);
    request('newExperiment/create', choices satisfies NewExperimentChoices).then(
      () => (errorBox.textContent = ''),
      (err: Error) => {
        errorBox.textContent = err.message;
        for (const b of [createRun, createOnly]) b.toggleAttribute('disabled', false);
      },
    );
  };
  createRun.addEventListener('click', () => submit(true));
  createOnly.addEventListener('click', () => submit(false));
}

request('newExperiment/init', {}).then(render, (err: Error) => {
  app.append(errorBox);
  errorBox.textContent = `The form could not load: ${err.message}`;
});
