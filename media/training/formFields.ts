// The training form's fields, without a DOM: the base model, then every option of the option table that names a
// form section (src/protocol/trainOptions.ts: label, help, kind, allowed values and bounds all come from there). The
// section titles and hints are the form's own words. form.ts renders these; test/unit/trainOptions.test.ts reads
// them, so a bound or label changed in the table is seen changing the form.
import type { TrainConfigView } from '../../src/protocol/trainMethods';
import { parseOptionText, TRAIN_OPTION_TABLE, type TrainOption } from '../../src/protocol/trainOptions';

export type SectionId = 'model' | NonNullable<TrainOption['section']>;

export interface FormSection {
  id: SectionId;
  title: string;
  hint: string;
}

/** In page order (the data section is placed after the model by form.ts). */
export const FORM_SECTIONS: readonly FormSection[] = [
  { id: 'model', title: 'Model', hint: 'The base model LoRA adapters are trained on.' },
  { id: 'lora', title: 'LoRA', hint: 'Which weights get low-rank adapters, and how large.' },
  { id: 'optimiser', title: 'Optimisation', hint: 'AdamW with warm-up, then the schedule.' },
  { id: 'examples', title: 'Examples and evaluation', hint: 'How examples are cut, which tokens carry the loss, what is held out, when to checkpoint.' },
  { id: 'hardware', title: 'Hardware', hint: 'Where it runs and how the frozen weights are stored.' },
];

export interface FormField {
  key: keyof TrainConfigView;
  label: string;
  help: string;
  /** The control: a text field, a dropdown of `choices`, or a checkbox. */
  control: 'text' | 'dropdown' | 'checkbox';
  choices?: readonly string[];
  /** The table's option (absent for the model). */
  option?: TrainOption;
}

const MODEL_FIELD: FormField = { key: 'model', label: 'Base model', help: 'tiny-llama (built in), a Hugging Face model folder, or a downloaded Hub id', control: 'text' };

function optionField(o: TrainOption): FormField {
  const control = o.kind === 'bool' ? 'checkbox' : o.kind === 'enum' ? 'dropdown' : 'text';
  return { key: o.key, label: o.label, help: o.help, control, ...(o.kind === 'enum' ? { choices: o.values! } : {}), option: o };
}

/** The fields of one section, read from the option table when asked. */
export function sectionFields(id: SectionId): FormField[] {
  return id === 'model' ? [MODEL_FIELD] : TRAIN_OPTION_TABLE.filter((o) => o.section === id).map(optionField);
}

export function formFields(): FormField[] {
  return FORM_SECTIONS.flatMap((s) => sectionFields(s.id));
}

/** A value as its control shows it (lists comma-separated). */
export function fieldText(f: FormField, value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (value === undefined) return f.key === 'model' ? 'tiny-llama' : '';
  return String(value);
}

/**
 * The form's values read by each field's kind and checked against the table's bounds: the values, and the problems,
 * each naming the field as the form labels it ("Learning rate: must be a number in (0, 1), got 0.").
 */
export function readFields(read: (f: FormField) => string | boolean): { values: Partial<TrainConfigView>; errors: string[] } {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const f of formFields()) {
    const raw = read(f);
    if (f.control === 'checkbox') {
      values[f.key] = raw === true;
      continue;
    }
    const text = String(raw).trim();
    if (!f.option) {
      if (text === '') errors.push(`${f.label}: required.`);
      values[f.key] = text;
      continue;
    }
    const r = parseOptionText(f.option, text);
    if (r.problem !== undefined) errors.push(`${f.label}: ${r.problem}.`);
    else values[f.key] = r.value;
  }
  return { values: values as Partial<TrainConfigView>, errors };
}
