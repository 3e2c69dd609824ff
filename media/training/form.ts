// The start form: the base model, the training data, and every option of the option table in labelled sections
// (formFields.ts: labels, help, kinds and bounds come from src/protocol/trainOptions.ts), toolkit controls,
// validation before anything is sent (problems name the form field). Defaults come from the runtime. The datasets
// come from the configured data folder with their labels and row counts.
// Stable hooks for tests: #train-form [data-field=<key>] (a vscode-text-field / -dropdown / -checkbox; the native
// input is inside: `[data-field=x] input`), [data-domain=<id>] (vscode-checkbox), #add-data-file, #data-files.
import type { TrainConfigView } from '../../src/protocol/trainMethods';
import type { TrainViewInit } from '../../src/protocol/trainViewMethods';
import { el, tk } from '../shared/vscodeApi';
import { fieldText, FORM_SECTIONS, readFields, sectionFields, type FormField } from './formFields';

type Control = HTMLElement & { value: string; checked: boolean };

export interface Form {
  element: HTMLElement;
  /** The config, or the list of problems (field label: message). */
  read(): { config?: Partial<TrainConfigView>; errors: string[] };
  /** Ticks exactly these datasets. */
  selectDomains(ids: string[]): void;
}

function control(f: FormField, value: unknown): Control {
  const id = `f-${f.key}`;
  const common = { id, 'data-field': f.key, title: f.help };
  if (f.control === 'dropdown') {
    const c = tk('vscode-dropdown', { ...common, 'aria-label': f.label }, ...f.choices!.map((o) => tk('vscode-option', { value: o }, o))) as Control;
    c.value = String(value ?? f.choices![0]);
    return c;
  }
  if (f.control === 'checkbox') {
    const c = tk('vscode-checkbox', common, f.label) as Control;
    c.checked = value === true;
    return c;
  }
  const c = tk('vscode-text-field', { ...common, spellcheck: 'false' }, f.label) as Control;
  c.value = fieldText(f, value);
  return c;
}

export function createForm(defaults: Partial<TrainConfigView>, datasets: TrainViewInit['datasets'], dataDir: string, pickFile: () => Promise<string | undefined>): Form {
  const inputs = new Map<keyof TrainConfigView, Control>();
  const sections = FORM_SECTIONS.map((s) => {
    const cells = sectionFields(s.id).map((f) => {
      const c = control(f, (defaults as Record<string, unknown>)[f.key]);
      inputs.set(f.key, c);
      // Dropdowns have no label slot: the label is a sibling element naming it.
      const label = f.control === 'dropdown' ? el('label', { class: 'field-label', for: `f-${f.key}` }, f.label) : '';
      return el('div', { class: `field field-${f.control}` }, label, c, el('span', { class: 'muted help', title: f.help }, f.help));
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
      const fields = readFields((f) => (f.control === 'checkbox' ? inputs.get(f.key)!.checked : inputs.get(f.key)!.value));
      errors.push(...fields.errors);
      Object.assign(config, fields.values);
      return errors.length ? { errors } : { config: config as Partial<TrainConfigView>, errors };
    },
  };
}
