// A pane's steering fields (what steeringControl.ts edits and the pane persists) and what they ask for: the
// SteeringRef a generation sends, in units of |d| at the chosen layer. No DOM: tested in plain Node.
import type { SteeringRef } from '../../src/protocol/chatMethods';
import type { DirectionInfo } from '../../src/protocol/directionMethods';

/** What a pane persists: the file and its layers as last read, the layer, the strength in units of |d|, ablate. */
export interface SteeringFields {
  info?: DirectionInfo;
  layer?: number;
  /** Multiples of |d_layer|. */
  strength: number;
  ablate: boolean;
}

export const NO_STEERING: SteeringFields = { strength: 0, ablate: false };
/** The slider's range, in units of |d| (the paper's steering factors are a few times the mean difference). */
export const STRENGTH_MAX = 8;
export const STRENGTH_STEP = 0.25;

/** The SteeringRef the fields ask for (undefined: the model as it is). alpha = strength · |d_layer|, 4 digits. */
export function steeringRef(f: SteeringFields | undefined): SteeringRef | undefined {
  if (!f?.info || f.layer === undefined) return undefined;
  const d = f.info.layers.find((l) => l.layer === f.layer);
  if (!d) return undefined;
  const ref: SteeringRef = {};
  if (f.strength !== 0) ref.steer = { file: f.info.file, layer: f.layer, alpha: Number((f.strength * d.norm).toPrecision(4)) };
  if (f.ablate) ref.ablate = { file: f.info.file, layer: f.layer };
  return ref.steer || ref.ablate ? ref : undefined;
}

export const strengthText = (s: number) => `${s > 0 ? '+' : s < 0 ? '−' : ''}${Math.abs(s).toFixed(2)} × |d|`;

/** One line for the summary: "off", "+2.00 × |d| at layer 8", "ablate at layer 8". */
export function steeringSummary(f: SteeringFields | undefined): string {
  if (!steeringRef(f)) return f?.info ? 'off' : 'no direction file';
  const parts = [];
  if (f!.strength !== 0) parts.push(strengthText(f!.strength));
  if (f!.ablate) parts.push('ablate');
  return `${parts.join(', ')} at layer ${f!.layer}`;
}

/** The layer to offer first: the one kept from before if the file has it, else the file's middle layer. */
export function pickLayer(info: DirectionInfo, previous?: number): number | undefined {
  if (previous !== undefined && info.layers.some((l) => l.layer === previous)) return previous;
  return info.layers[Math.floor((info.layers.length - 1) / 2)]?.layer;
}
