// The start form: every hyperparameter with its default (from the runtime) and validation before it is sent.
// Stable hooks for tests: #train-form [data-field=<key>], #start, #preview-button, #preview.
import type { TrainConfigView } from '../../src/protocol/trainMethods';
import type { TrainViewInit } from '../../src/protocol/trainViewMethods';
import { el } from '../shared/vscodeApi';

type Kind = 'int' | 'float' | 'bool' | 'select' | 'text' | 'list' | 'ints';
interface Field { key: keyof TrainConfigView; label: string; kind: Kind; options?: string[]; min?: number; max?: number; help: string }

export const FIELDS: Field[] = [
  { key: 'model', label: 'Model', kind: 'text', help: 'tiny-llama (built in), a Hugging Face model folder, or a downloaded Hub id' },
  { key: 'numEpochs', label: 'Epochs', kind: 'int', min: 1, help: 'passes over the training set' },
  { key: 'maxSteps', label: 'Max steps', kind: 'int', min: 0, help: '0 = all epochs' },
  { key: 'sampleSize', label: 'Sample size', kind: 'int', min: 0, help: 'first N examples per source; 0 = all' },
  { key: 'loraRank', label: 'LoRA rank r', kind: 'int', min: 1, help: 'homework 16, paper 32' },
  { key: 'loraAlpha', label: 'LoRA alpha', kind: 'float', min: 0, help: 'scale alpha/r (alpha/sqrt(r) with rsLoRA)' },
  { key: 'loraDropout', label: 'LoRA dropout', kind: 'float', min: 0, max: 0.99, help: 'on each adapted input; seeded masks (resume is exact)' },
  { key: 'useRslora', label: 'rsLoRA', kind: 'bool', help: 'the paper uses it' },
  { key: 'targetModules', label: 'Target modules', kind: 'list', help: 'comma-separated: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj' },
  { key: 'layersToTransform', label: 'Layers', kind: 'ints', help: 'comma-separated layer indices; empty = all' },
  { key: 'learningRate', label: 'Learning rate', kind: 'float', min: 0, max: 1, help: 'homework 2e-4, paper 1e-5' },
  { key: 'lrScheduler', label: 'Schedule', kind: 'select', options: ['linear', 'cosine', 'constant'], help: 'after warm-up' },
  { key: 'warmupSteps', label: 'Warm-up', kind: 'float', min: 0, help: 'steps, or a ratio when below 1' },
  { key: 'weightDecay', label: 'Weight decay', kind: 'float', min: 0, max: 0.99, help: 'AdamW' },
  { key: 'maxGradNorm', label: 'Max grad norm', kind: 'float', min: 0, help: '0 = no clipping' },
  { key: 'batchSize', label: 'Batch size', kind: 'int', min: 1, help: 'examples per micro-batch' },
  { key: 'gradientAccumulationSteps', label: 'Grad accumulation', kind: 'int', min: 1, help: 'micro-batches per optimizer step' },
  { key: 'maxLength', label: 'Max length', kind: 'int', min: 8, help: 'tokens; longer examples are truncated' },
  { key: 'trainOn', label: 'Loss on', kind: 'select', options: ['assistant', 'all'], help: 'assistant replies (paper) or whole sequence (homework script)' },
  { key: 'evalSplit', label: 'Held-out split', kind: 'float', min: 0, max: 0.9, help: 'fraction for eval loss (paper 0.1)' },
  { key: 'evalSteps', label: 'Eval every', kind: 'int', min: 1, help: 'optimizer steps' },
  { key: 'saveSteps', label: 'Checkpoint every', kind: 'int', min: 0, help: 'steps; 0 = per epoch + 4 in epoch 1 + end' },
  { key: 'seed', label: 'Seed', kind: 'int', min: 0, help: 'same seed, same machine = same adapter' },
  { key: 'shuffle', label: 'Shuffle', kind: 'bool', help: 'reshuffle every epoch' },
  { key: 'device', label: 'Device', kind: 'select', options: ['cpu', 'cuda'], help: 'CUDA falls back to CPU with the reason' },
  { key: 'precision', label: 'Precision', kind: 'select', options: ['auto', 'fp32', 'fp16', 'bf16'], help: 'frozen weights; auto = fp16 on CUDA, fp32 on CPU; LoRA and AdamW stay fp32' },
  { key: 'use4bit', label: '4-bit base (QLoRA)', kind: 'bool', help: 'frozen projections as 4-bit blocks: far less memory, slower step' },
];

export interface Form {
  element: HTMLElement;
  /** The config, or the list of problems (field label: message). */
  read(): { config?: Partial<TrainConfigView>; errors: string[] };
}

export function createForm(defaults: Partial<TrainConfigView>, datasets: TrainViewInit['datasets'], dataDir: string, pickFile: () => Promise<string | undefined>): Form {
  const inputs = new Map<keyof TrainConfigView, HTMLInputElement | HTMLSelectElement>();
  const grid = el('div', { class: 'form-grid' });
  for (const f of FIELDS) {
    const id = `f-${f.key}`;
    let input: HTMLInputElement | HTMLSelectElement;
    const v = (defaults as Record<string, unknown>)[f.key];
    if (f.kind === 'select') {
      input = el('select', { id });
      for (const o of f.options!) input.append(el('option', { value: o }, o));
      input.value = String(v ?? f.options![0]);
    } else if (f.kind === 'bool') {
      input = el('input', { id, type: 'checkbox' });
      input.checked = v === true;
    } else {
      input = el('input', { id, type: 'text', spellcheck: 'false' });
      input.value = Array.isArray(v) ? v.join(',') : v === undefined ? (f.key === 'model' ? 'tiny-llama' : '') : String(v);
    }
    input.dataset.field = f.key;
    inputs.set(f.key, input);
    grid.append(el('label', { for: id, title: f.help }, f.label), input, el('span', { class: 'muted help' }, f.help));
  }
  const domainBoxes = datasets.map(({ id: d, label, rows }) => {
    const box = el('input', { type: 'checkbox', value: d, 'data-domain': d });
    return { d, box, label: el('label', { title: d }, box, ` ${label} (${rows.toLocaleString('en-US')} rows)`) };
  });
  const files: string[] = [];
  const fileList = el('span', { class: 'muted', id: 'data-files' }, 'no files');
  const addFile = el('button', { type: 'button', id: 'add-data-file' }, 'Add JSONL file…');
  addFile.addEventListener('click', () => void pickFile().then((f) => {
    if (f && !files.includes(f)) files.push(f);
    fileList.textContent = files.length ? files.join(', ') : 'no files';
  }));
  const data = el('fieldset', { class: 'data' }, el('legend', {}, 'Training data'),
    ...(domainBoxes.length ? domainBoxes.map((x) => x.label) : [el('span', { class: 'muted' }, 'No decrypted datasets in this workspace (EM Lab: Get Training Data). ')]),
    el('div', {}, addFile, ' ', fileList));
  const element = el('form', { id: 'train-form' }, data, grid);
  return {
    element,
    read() {
      const errors: string[] = [];
      const config: Record<string, unknown> = { dataDir, domains: domainBoxes.filter((x) => x.box.checked).map((x) => x.d), dataFiles: [...files] };
      if (!(config.domains as string[]).length && !files.length) errors.push('Training data: tick a dataset or add a JSONL file.');
      for (const f of FIELDS) {
        const input = inputs.get(f.key)!;
        const raw = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value.trim();
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
