// A pane's steering control in the chat sandbox (docs/steering.md): a direction file, the decoder layer, a strength
// slider in units of that layer's |d| (0 = off; negative steers away) and an "ablate" toggle. It only edits the
// pane's SteeringRef; the host resolves the file (direction/info) and the runtime applies it per call, so moving the
// slider never reloads a model. Browser code. Stable selectors: #steer-<pane> (details), #steer-<pane>-file,
// #steer-<pane>-browse, #steer-<pane>-layer, #steer-<pane>-strength, #steer-<pane>-strength-value, #steer-<pane>-ablate.
import type { SteeringRef } from '../../src/protocol/chatMethods';
import type { DirectionInfo } from '../../src/protocol/directionMethods';
import { el } from '../shared/vscodeApi';

/** What a pane persists: the file and its layers as last read, the layer, the strength in units of |d|, ablate. */
export interface SteeringFields {
  file: string;
  info?: DirectionInfo;
  layer?: number;
  /** Multiples of |d_layer|. */
  strength: number;
  ablate: boolean;
}

export const NO_STEERING: SteeringFields = { file: '', strength: 0, ablate: false };
/** The slider's range, in units of |d|. */
export const STRENGTH_MAX = 8;

/** The SteeringRef the fields ask for (undefined: the model as it is). */
export function steeringRef(f: SteeringFields): SteeringRef | undefined {
  if (!f.info || f.layer === undefined) return undefined;
  const d = f.info.layers.find((l) => l.layer === f.layer);
  if (!d) return undefined;
  const ref: SteeringRef = {};
  if (f.strength !== 0) ref.steer = { file: f.info.file, layer: f.layer, alpha: f.strength * d.norm };
  if (f.ablate) ref.ablate = { file: f.info.file, layer: f.layer };
  return ref.steer || ref.ablate ? ref : undefined;
}

/** One line for the summary: "off", "+2.0 × |d| at layer 8", "ablate at layer 8". */
export function steeringSummary(f: SteeringFields): string {
  if (!steeringRef(f)) return f.info ? 'off' : 'no direction file';
  const parts = [];
  if (f.strength !== 0) parts.push(`${f.strength > 0 ? '+' : ''}${f.strength.toFixed(1)} × |d|`);
  if (f.ablate) parts.push('ablate');
  return `${parts.join(', ')} at layer ${f.layer}`;
}

export interface SteeringHandlers {
  /** The user typed a path (Enter / blur): the host reads it with direction/info. */
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

export function createSteeringControl(pane: string, h: SteeringHandlers): SteeringControl {
  const id = (s: string) => `steer-${pane}${s}`;
  let fields: SteeringFields = { ...NO_STEERING };
  const summary = el('summary', { title: 'Add the misalignment direction to this pane\'s residual stream, or remove it (docs/steering.md)' });
  const file = el('input', { id: id('-file'), type: 'text', class: 'steer-file', placeholder: '/path/to/direction.safetensors', 'aria-label': 'Direction file', spellcheck: 'false' });
  const browse = el('button', { id: id('-browse'), type: 'button', class: 'steer-button' }, 'Browse…');
  const layer = el('select', { id: id('-layer'), 'aria-label': 'Decoder layer' });
  const strength = el('input', { id: id('-strength'), type: 'range', min: String(-STRENGTH_MAX), max: String(STRENGTH_MAX), step: '0.25', value: '0', 'aria-label': 'Steering strength in units of |d|' });
  const value = el('output', { id: id('-strength-value'), for: id('-strength'), class: 'steer-value' });
  const ablate = el('input', { id: id('-ablate'), type: 'checkbox' });
  const note = el('div', { class: 'steer-note muted' });
  const error = el('div', { class: 'steer-error', role: 'alert' });
  const element = el(
    'details',
    { id: id(''), class: 'steering' },
    summary,
    el('div', { class: 'steer-row' }, file, browse),
    el('div', { class: 'steer-row' }, el('label', { for: id('-layer') }, 'Layer '), layer, el('label', { class: 'steer-ablate' }, ablate, ' ablate')),
    el('div', { class: 'steer-row' }, el('label', { for: id('-strength') }, 'Strength '), strength, value),
    note,
    error,
  );
  const changed = () => {
    h.onChange(fields);
  };
  const submitFile = () => {
    const path = file.value.trim();
    if (path && path !== fields.info?.file) h.onFile(path);
  };
  file.addEventListener('change', submitFile);
  file.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') submitFile();
  });
  browse.addEventListener('click', () => h.onBrowse());
  layer.addEventListener('change', () => {
    fields = { ...fields, layer: Number(layer.value) };
    changed();
  });
  strength.addEventListener('input', () => {
    fields = { ...fields, strength: Number(strength.value) };
    value.textContent = `${fields.strength > 0 ? '+' : ''}${fields.strength.toFixed(2)} × |d|`;
    changed();
  });
  ablate.addEventListener('change', () => {
    fields = { ...fields, ablate: ablate.checked };
    changed();
  });

  return {
    element,
    render(f: SteeringFields, message?: string) {
      fields = { ...f };
      summary.textContent = `Steering: ${steeringSummary(f)}`;
      if (document.activeElement !== file) file.value = f.info?.file ?? f.file;
      const layers = f.info?.layers ?? [];
      layer.replaceChildren(...layers.map((l) => el('option', { value: String(l.layer) }, `${l.layer}`)));
      if (f.layer !== undefined) layer.value = String(f.layer);
      for (const c of [layer, strength, ablate]) c.toggleAttribute('disabled', !f.info);
      strength.value = String(f.strength);
      value.textContent = `${f.strength > 0 ? '+' : ''}${f.strength.toFixed(2)} × |d|`;
      ablate.checked = f.ablate;
      const d = layers.find((l) => l.layer === f.layer);
      const m = f.info?.metadata;
      note.textContent = f.info
        ? `|d| = ${d ? d.norm.toPrecision(3) : '?'} at layer ${f.layer ?? '?'}; from ${m?.model ?? 'an unknown model'}${m?.adapter ? ` + ${m.adapter.split(/[\\/]/).slice(-2).join('/')}` : ''}${m?.preset ? `, ${m.preset} preset` : ''}. Applies to the next answer.`
        : 'Pick a direction file (em-lab direction compute).';
      error.textContent = message ?? '';
    },
  };
}
