// A pane's steering control in the chat views (docs/steering.md): a direction file, the decoder layer, a strength
// slider in units of that layer's |d| (0 = off; negative steers away) and an "ablate" toggle. It only edits the
// pane's fields; the host reads the file (sandbox/directionInfo) and each generation sends the resulting
// SteeringRef, applied by the runtime per call, so moving the slider never reloads a model. Browser code.
// Stable selectors: #steer-<pane> (details), #steer-<pane>-summary, #steer-<pane>-file, #steer-<pane>-browse,
// #steer-<pane>-layer, #steer-<pane>-strength, #steer-<pane>-strength-value, #steer-<pane>-ablate, .steer-error.
import { el, tk } from '../shared/vscodeApi';
import { NO_STEERING, STRENGTH_MAX, STRENGTH_STEP, steeringRef, steeringSummary, strengthText, type SteeringFields } from './steeringFields';

export interface SteeringHandlers {
  /** The user typed a path (Enter / change): the host reads it. */
  onFile(path: string): void;
  /** The host's file picker. */
  onBrowse(): void;
  /** Layer, strength or ablate changed. */
  onChange(fields: SteeringFields): void;
}

export interface SteeringControl {
  element: HTMLElement;
  render(fields: SteeringFields, error?: string): void;
}

type Field = HTMLElement & { value: string };

export function createSteeringControl(pane: string, paneTitle: string, h: SteeringHandlers): SteeringControl {
  const id = (s: string) => `steer-${pane}${s}`;
  let fields: SteeringFields = { ...NO_STEERING };
  const summary = el('summary', { id: id('-summary'), title: `Add the misalignment direction to ${paneTitle}'s residual stream, or remove it (docs/steering.md)` });
  const file = tk('vscode-text-field', { id: id('-file'), class: 'steer-file', placeholder: '/path/to/direction.safetensors', spellcheck: 'false' }, 'Direction file') as Field;
  const browse = tk('vscode-button', { id: id('-browse'), appearance: 'secondary', title: 'Pick a direction file (em-lab direction compute)', 'aria-label': `Browse for a direction file for ${paneTitle}` }, 'Browse…');
  const layerLabel = el('label', { for: id('-layer'), class: 'steer-label' }, 'Layer');
  const layer = tk('vscode-dropdown', { id: id('-layer'), class: 'steer-layer', 'aria-label': 'Decoder layer to steer after (and whose vector ablation removes)' }) as Field;
  const ablate = tk('vscode-checkbox', { id: id('-ablate'), title: 'Remove the component along d/|d| after the embeddings and after every decoder layer' }, 'Ablate') as HTMLElement & { checked: boolean };
  const strength = el('input', { id: id('-strength'), class: 'steer-strength', type: 'range', min: String(-STRENGTH_MAX), max: String(STRENGTH_MAX), step: String(STRENGTH_STEP), value: '0', 'aria-label': `Steering strength for ${paneTitle}, in units of |d| (0 = off)` });
  const value = el('output', { id: id('-strength-value'), for: id('-strength'), class: 'steer-value' });
  const reset = tk('vscode-button', { id: id('-reset'), appearance: 'secondary', title: 'Strength 0 (no steering)', 'aria-label': 'Set the strength to 0' }, 'Zero');
  const note = el('div', { class: 'steer-note muted' });
  const error = el('div', { class: 'steer-error error', role: 'alert' });
  const element = el(
    'details',
    { id: id(''), class: 'steering' },
    summary,
    el('div', { class: 'steer-row steer-file-row' }, file, browse),
    el('div', { class: 'steer-row' }, layerLabel, layer, ablate),
    el('div', { class: 'steer-row' }, el('label', { for: id('-strength'), class: 'steer-label' }, 'Strength'), strength, value, reset),
    note,
    error,
  );
  const submitFile = () => {
    const path = file.value.trim();
    if (path && path !== fields.info?.file) h.onFile(path);
  };
  file.addEventListener('change', submitFile);
  file.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') submitFile();
  });
  browse.addEventListener('click', () => h.onBrowse());
  layer.addEventListener('change', () => {
    const n = Number(layer.value);
    if (layer.value !== '' && n !== fields.layer) h.onChange({ ...fields, layer: n });
  });
  strength.addEventListener('input', () => {
    value.textContent = strengthText(Number(strength.value));
  });
  // The answer changes on the next send: report on release (change), not on every pixel of a drag.
  strength.addEventListener('change', () => h.onChange({ ...fields, strength: Number(strength.value) }));
  reset.addEventListener('click', () => h.onChange({ ...fields, strength: 0 }));
  ablate.addEventListener('change', () => {
    if (ablate.checked !== fields.ablate) h.onChange({ ...fields, ablate: ablate.checked });
  });

  return {
    element,
    render(f: SteeringFields, message?: string) {
      fields = { ...f };
      const on = !!steeringRef(f);
      summary.textContent = `Steering: ${steeringSummary(f)}`;
      element.classList.toggle('active', on);
      if (!file.matches(':focus-within')) file.value = f.info?.file ?? file.value;
      const layers = f.info?.layers ?? [];
      const wanted = layers.map((l) => l.layer).join(',');
      if (layer.dataset.layers !== wanted) {
        layer.replaceChildren(...layers.map((l) => tk('vscode-option', { value: String(l.layer) }, `${l.layer}`)));
        layer.dataset.layers = wanted;
      }
      // The toolkit dropdown picks up new options on its next render; set the value after it.
      requestAnimationFrame(() => {
        if (f.layer !== undefined && layer.value !== String(f.layer)) layer.value = String(f.layer);
      });
      for (const c of [layer, strength, ablate, reset]) c.toggleAttribute('disabled', !f.info);
      strength.value = String(f.strength);
      value.textContent = strengthText(f.strength);
      ablate.checked = f.ablate;
      const d = layers.find((l) => l.layer === f.layer);
      const m = f.info?.metadata;
      const from = m?.model ? ` Computed on ${m.model}${m.adapter ? ` + ${m.adapter.split(/[\\/]/).slice(-2).join('/')}` : ''}${m.preset ? `, ${m.preset} preset` : ''}.` : '';
      note.textContent = f.info ? `|d| = ${d ? d.norm.toPrecision(3) : '?'} at layer ${f.layer ?? '?'}.${from} Applies from the next answer.` : 'Pick a direction file (em-lab direction compute, docs/steering.md).';
      error.textContent = message ?? '';
    },
  };
}
