// Direction files (docs/steering.md) as the views see them: what a file holds, so a steering control can offer its
// layers and scale its strength slider in units of |d|; and how a steering setting is named in labels (the runtime's
// answers and the chat view's own label for a stopped answer say it the same way).
import type { SteeringRef } from './chatMethods';
import type { InterventionResultView } from './experimentTypes';

const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

export interface DirectionInfo {
  /** Absolute path. */
  file: string;
  hiddenSize: number;
  /** Decoder layers the file has a vector for, ascending, with each vector's length |d_L|. */
  layers: { layer: number; norm: number }[];
  /** The file's metadata (model, adapter, preset, counts, ...). */
  metadata: Record<string, string>;
}

export interface DirectionMethods {
  /** Reads a direction file; refuses one that is not (naming the problem). */
  'direction/info': [{ file: string }, DirectionInfo];
}

/** One run of the experiment's interventions stage in words, for the report (exports and view): "steer +8 the direction at layer 8". */
export function describeIntervention(x: Pick<InterventionResultView, 'kind' | 'alpha' | 'random' | 'layer'>): string {
  const steer = `steer ${x.alpha !== undefined ? `${x.alpha >= 0 ? '+' : ''}${Number(x.alpha.toPrecision(4))}` : ''}`;
  return `${x.kind === 'ablate' ? 'ablate' : steer} ${x.random ? 'a random vector' : 'the direction'} at layer ${x.layer}`;
}

/** The ref in words, for labels and generator ids: "steer +8 × dir.safetensors@L8; ablate dir.safetensors@L8". */
export function describeSteering(ref: SteeringRef): string {
  const parts: string[] = [];
  if (ref.steer) parts.push(`steer ${ref.steer.alpha >= 0 ? '+' : ''}${ref.steer.alpha} × ${fileName(ref.steer.file)}@L${ref.steer.layer}`);
  if (ref.ablate) parts.push(`ablate ${fileName(ref.ablate.file)}@L${ref.ablate.layer}`);
  return parts.join('; ');
}
