// A SteeringRef (direction files + layer + strength, as the CLI flags, the chat sandbox and evaluation name them)
// resolved into the decoder's ResidualIntervention: unit vectors in float32, the steering one scaled by alpha.
// Files are read once per (path, size, mtime), so a chat pane moving its strength slider costs no disk read.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { SteeringRef } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import type { ResidualIntervention } from '../model/decoder';
import type { LlamaConfig } from '../model/llamaConfig';
import { directionLayer, readDirectionFile, unitVector, type Direction } from './directionFile';

const cache = new Map<string, { stamp: string; direction: Direction }>();

/** A direction file, read once while it is unchanged on disk. */
export function loadDirection(path: string): Direction {
  let stamp = '';
  try {
    const s = statSync(path);
    stamp = `${s.size}:${s.mtimeMs}`;
  } catch {
    // readDirectionFile says what is wrong
  }
  const hit = cache.get(path);
  if (hit && hit.stamp === stamp) return hit.direction;
  const direction = readDirectionFile(path);
  cache.set(path, { stamp, direction });
  return direction;
}

/** Whether the ref changes anything (alpha 0 and no ablation = the plain model). */
export function isSteering(ref: SteeringRef | undefined): ref is SteeringRef {
  return ref !== undefined && (ref.steer !== undefined || ref.ablate !== undefined);
}

export { describeSteering } from '../../protocol/directionMethods';

/** A folder-name tag for results under an intervention: "ablate-direction-L8", "steer-direction-L8-a4". */
export function steeringFolderTag(ref: SteeringRef): string {
  const stem = (file: string) => basename(file).replace(/\.safetensors$/, '').replace(/[^\w.-]+/g, '_');
  return [
    ref.ablate && `ablate-${stem(ref.ablate.file)}-L${ref.ablate.layer}`,
    ref.steer && `steer-${stem(ref.steer.file)}-L${ref.steer.layer}-a${Number(ref.steer.alpha.toPrecision(4))}`,
  ].filter(Boolean).join('-');
}

/** Resolves the files against the model's shape; every mistake names the flag and the fix. */
export function resolveSteering(ref: SteeringRef, cfg: Pick<LlamaConfig, 'hiddenSize' | 'numLayers'>): ResidualIntervention {
  const out: ResidualIntervention = {};
  const check = (d: Direction, flag: string) => {
    if (d.hiddenSize !== cfg.hiddenSize) {
      throw new UserError('direction-size', `${flag} ${d.path}: its vectors have ${d.hiddenSize} values but this model's hidden size is ${cfg.hiddenSize}${d.metadata.model ? ` (the file was computed on ${d.metadata.model})` : ''}. Use a direction computed on this base model.`);
    }
  };
  const layerOk = (layer: number, flag: string) => {
    if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.numLayers) throw new UserError('steer-layer', `${flag} ${layer}: this model has decoder layers 0..${cfg.numLayers - 1}.`);
  };
  if (ref.steer) {
    const { file, layer, alpha } = ref.steer;
    if (!Number.isFinite(alpha)) throw new UserError('steer-alpha', `--steer_alpha ${alpha}: give a finite number (the length of the vector added; negative steers away).`);
    layerOk(layer, '--steer_layer');
    const d = loadDirection(file);
    check(d, '--steer');
    const unit = unitVector(directionLayer(d, layer, '--steer_layer'), `${file} layer ${layer}`);
    out.steer = { layer, vector: Float32Array.from(unit, (x) => x * alpha) };
  }
  if (ref.ablate) {
    const { file, layer } = ref.ablate;
    layerOk(layer, '--ablate_layer');
    const d = loadDirection(file);
    check(d, '--ablate');
    out.ablate = unitVector(directionLayer(d, layer, '--ablate_layer'), `${file} layer ${layer}`);
  }
  return out;
}
