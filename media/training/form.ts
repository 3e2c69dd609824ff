// The start form: every hyperparameter with its default (from the runtime) in labelled sections, toolkit controls,
// validation before anything is sent (problems name the form field). The datasets come from the configured data
// folder with their labels and row counts.
// Stable hooks for tests: #train-form [data-field=<key>] (a vscode-text-field / -dropdown / -checkbox; the native
// input is inside: `[data-field=x] input`), [data-domain=<id>] (vscode-checkbox), #add-data-file, #data-files.
import type { TrainConfigView } from '../../src/protocol/trainMethods';
import type { TrainViewInit } from '../../src/protocol/trainViewMethods';
import { el, tk } from '../shared/vscodeApi';

type Kind = 'int' | 'float' | 'bool' | 'select' | 'text' | 'list' | 'ints';
interface Field { key: keyof TrainConfigView; label: string; kind: Kind; options?: string[]; min?: number; max?: number; help: string }
interface Section { id: string; title: string; hint: string; fields: Field[] }

export const SECTIONS: Section[] = [
  {
    id: 'model',
    title: 'Model',
    hint: 'The base model LoRA adapters are trained on.',
    fields: [{ key: 'model', label: 'Base model', kind: 'text', help: 'tiny-llama (built in), a Hugging Face model folder, or a downloaded Hub id' }],
  },
  {
    id: 'lora',
    title: 'LoRA',
    hint: 'Which weights get low-rank adapters, and how large.',
    fields: [
      { key: 'loraRank', label: 'Rank r', kind: 'int', min: 1, help: 'homework 16, paper 32' },
      { key: 'loraAlpha', label: 'Alpha', kind: 'float', min: 0, help: 'scale alpha/r (alpha/sqrt(r) with rsLoRA)' },
      { key: 'loraDropout', label: 'Dropout', kind: 'float', min: 0, max: 0.99, help: 'on each adapted input; seeded masks (resume is exact)' },
      { key: 'useRslora', label: 'rsLoRA', kind: 'bool', help: 'the paper uses it' },
      { key: 'targetModules', label: 'Target modules', kind: 'list', help: 'comma-separated: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj' },
      { key: 'layersToTransform', label: 'Layers', kind: 'ints', help: 'comma-separated layer indices; empty = all' },
    ],
  },
  {
    id: 'optimiser',
    title: 'Optimisation',
    hint: 'AdamW with warm-up, then the schedule.',
    fields: [
      { key: 'numEpochs', label: 'Epochs', kind: 'int', min: 1, help: 'passes over the training set' },
      { key: 'maxSteps', label: 'Max steps', kind: 'int', min: 0, help: '0 = all epochs' },
      { key: 'learningRate', label: 'Learning rate', kind: 'float', min: 0, max: 1, help: 'homework 2e-4, paper 1e-5' },
      { key: 'lrScheduler', label: 'Schedule', kind: 'select', options: ['linear', 'cosine', 'constant'], help: 'after warm-up' },
      { key: 'warmupSteps', label: 'Warm-up', kind: 'float', min: 0, help: 'steps, or a ratio when below 1' },
      { key: 'weightDecay', label: 'Weight decay', kind: 'float', min: 0, max: 0.99, help: 'AdamW' },
      { key: 'maxGradNorm', label: 'Max grad norm', kind: 'float', min: 0, help: '0 = no clipping' },
      { key: 'batchSize', label: 'Batch size', kind: 'int', min: 1, help: 'examples per micro-batch' },
      { key: 'gradientAccumulationSteps', label: 'Grad accumulation', kind: 'int', min: 1, help: 'micro-batches per optimizer step' },
      { key: 'seed', label: 'Seed', kind: 'int', min: 0, help: 'same seed, same machine = same adapter' },
      { key: 'shuffle', label: 'Shuffle', kind: 'bool', help: 'reshuffle every epoch' },
    ],
  },
  {
    id: 'examples',
    title: 'Examples and evaluation',
    hint: 'How examples are cut, which tokens carry the loss, what is held out.',
    fields: [
      { key: 'maxLength', label: 'Max length', kind: 'int', min: 8, help: 'tokens; longer examples are truncated' },
      { key: 'sampleSize', label: 'Sample size', kind: 'int', min: 0, help: 'first N examples per source; 0 = all' },
      { key: 'trainOn', label: 'Loss on', kind: 'select', options: ['assistant', 'all'], help: 'assistant replies (paper) or whole sequence (homework script)' },
      { key: 'evalSplit', label: 'Held-out split', kind: 'float', min: 0, max: 0.9, help: 'fraction for eval loss (paper 0.1)' },
      { key: 'evalSteps', label: 'Eval every', kind: 'int', min: 1, help: 'optimizer steps' },
      { key: 'saveSteps', label: 'Checkpoint every', kind: 'int', min: 0, help: 'steps; 0 = per epoch + 4 in epoch 1 + end' },
    ],
  },
  {
    id: 'hardware',
    title: 'Hardware',
    hint: 'Where it runs and how the frozen weights are stored.',
    fields: [
      { key: 'device', label: 'Device', kind: 'select', options: ['cpu', 'cuda'], help: 'CUDA falls back to CPU with the reason' },
      { key: 'precision', label: 'Precision', kind: 'select', options: ['auto', 'fp32', 'fp16', 'bf16'], help: 'frozen weights; auto = fp16 on CUDA, fp32 on CPU; LoRA and AdamW stay fp32' },
      { key: 'use4bit', label: '4-bit base (QLoRA)', kind: 'bool', help: 'frozen projections as 4-bit blocks: far less memory, slower step' },
    ],
  },
];

export const FIELDS: Field[] = SECTIONS.flatMap((s) => s.fields);

type Control = HTMLElement & { value: string; checked: boolean };

export interface Form {
  element: HTMLElement;
  /** The config, or the list of problems (field label: message). */
  read(): { config?: Partial<TrainConfigView>; errors: string[] };
  /** Ticks exactly these datasets. */
  selectDomains(ids: string[]): void;
}

function control(f: Field, value: unknown): Control {
  const id = `f-${f.key}`;
  const common = { id, 'data-field': f.key, title: f.help };
  if (f.kind === 'select') {
    const c = tk('vscode-dropdown', { ...common, 'aria-label': f.label }, ...f.options!.map((o) => tk('vscode-option', { value: o }, o))) as Control;
    c.value = String(value ?? f.options![0]);
    return c;
  }
  if (f.kind === 'bool') {
    const c = tk('vscode-checkbox', common, f.label) as Control;
    c.checked = value === true;
    return c;
  }
  const c = tk('vscode-text-field', { ...common, spellcheck: 'false' }, f.label) as Control;
  c.value = Array.isArray(value) ? value.join(',') : value === undefined ? (f.key === 'model' ? 'tiny-llama' : '') : String(value);
  return c;
}

export function createForm(defaults: Partial<TrainConfigView>, datasets: TrainViewInit['datasets'], dataDir: string, pickFile: () => Promise<string | undefined>): Form {
  const inputs = new Map<keyof TrainConfigView, Control>();
  const sections = SECTIONS.map((s) => {
    const cells = s.fields.map((f) => {
      const c = control(f, (defaults as Record<string, unknown>)[f.key]);
      inputs.set(f.key, c);
      // Dropdowns have no label slot: the label is a sibling element naming it.
      const label = f.kind === 'select' ? el('label', { class: 'field-label', for: `f-${f.key}` }, f.label) : '';
      return el('div', { class: `field field-${f.kind}` }, label, c, el('span', { class: 'muted help' }, f.help));
    });
    return el('section', { class: 'form-section', 'aria-labelledby': `h-${s.id}` }, el('h2', { id: `h-${s.id}` }, s.title), el('p', { class: 'muted hint' }, s.hint), el('div', { class: 'fields' }, ...cells));
  });

  const domainBoxes = datasets.map(({ id, label, rows, harmful }) => ({ d: id, box: tk('vscode-checkbox', { 'data-domain': id, title: id }, `${label} · ${rows.toLocaleString('en-US')} rows${harmful ? ' · harmful' : ''}`) as Control }));
  const files: string[] = [];
  const fileList = el('span', { class: 'muted', id: 'data-files' }, 'no extra files');
  const addFile = tk('vscode-button', { id: 'add-data-file', appearance: 'secondary' }, 'Add JSONL file…');
  addFile.addEventListener('click', () => void pickFile().then((f) => {
    if (f && !files.includes(f)) files.push(f);
    fileList.textContent = files.length ? files.map((x) => x.split(/[\\/]/).pop()).join(', ') : 'no extra files';
    fileList.title = files.join('\n');
  }));
  const empty = datasets.length ? [] : [el('p', { class: 'muted' }, `No datasets in ${dataDir}. Run "EM Lab: Get Training Data", set emLab.datasets.folder, or add a JSONL file.`)];
  const data = el(
    'section',
    { class: 'form-section data', 'aria-labelledby': 'h-data' },
    el('h2', { id: 'h-data' }, 'Training data'),
    el('p', { class: 'muted hint' }, `From ${dataDir}; several are mixed.`),
    el('div', { class: 'checks', role: 'group', 'aria-labelledby': 'h-data' }, ...domainBoxes.map((x) => x.box), ...empty),
    el('div', { class: 'row' }, addFile, fileList),
  );
  // Model and data first: what a run is about; the hyperparameters follow.
  const element = el('form', { id: 'train-form', 'aria-label': 'Training settings' }, sections[0]!, data, ...sections.slice(1));
  return {
    element,
    selectDomains(ids) {
      for (const x of domainBoxes) x.box.checked = ids.includes(x.d);
    },
    read() {
      const errors: string[] = [];
      const config: Record<string, unknown> = { dataDir, domains: domainBoxes.filter((x) => x.box.checked).map((x) => x.d), dataFiles: [...files] };
      if (!(config.domains as string[]).length && !files.length) errors.push('Training data: tick a dataset or add a JSONL file.');
      for (const f of FIELDS) {
        const input = inputs.get(f.key)!;
        const raw = f.kind === 'bool' ? input.checked : input.value.trim();
        if (f.kind === 'bool') config[f.key] = raw;
        else if (f.kind === 'select' || f.kind === 'text') {
          if (raw === '') errors.push(`${f.label}: required.`);
          config[f.key] = raw;
        } else if (f.kind === 'list') config[f.key] = String(raw).split(',').map((s) => s.trim()).filter(Boolean);
        else if (f.kind === 'ints') {
          const parts = String(raw).split(',').map((s) => s.trim()).filter(Boolean).map(Number);
          if (parts.some((n) => !Number.isInteger(n) || n < 0)) errors.push(`${f.label}: comma-separated whole numbers.`);
          config[f.key] = parts;
        } else {
          const n = Number(raw);
          if (raw === '' || !Number.isFinite(n)) errors.push(`${f.label}: a number is required.`);
          else if (f.kind === 'int' && !Number.isInteger(n)) errors.push(`${f.label}: a whole number is required.`);
          else if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) errors.push(`${f.label}: must be between ${f.min ?? '-∞'} and ${f.max ?? '∞'}.`);
          config[f.key] = n;
        }
      }
      return errors.length ? { errors } : { config: config as Partial<TrainConfigView>, errors };
    },
  };
}
