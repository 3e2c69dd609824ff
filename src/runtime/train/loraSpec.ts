// The LoRA configuration a run trains, and the parameter list it implies (PEFT key order = graph input order).
import { UserError } from '../errors';
import { optionProblem, trainOption, type TrainOptionKey } from '../../protocol/trainOptions';
import { linearShape, peftKey, type LlamaConfig, type LoraTarget } from '../model/llamaConfig';

export interface LoraSpec {
  rank: number;
  alpha: number;
  dropout: number;
  /** rsLoRA: scale alpha/sqrt(r) instead of alpha/r. */
  useRslora: boolean;
  targets: LoraTarget[];
  /** Layers that get adapters (all when the user gives none). */
  layers: number[];
}

export function loraScale(s: LoraSpec): number {
  return s.useRslora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank;
}

export interface LoraParam {
  key: string;
  shape: [number, number];
  layer: number;
  target: LoraTarget;
  which: 'A' | 'B';
}

/** A [r, in] then B [out, r] for each (layer, target), in a fixed order. */
export function loraParams(cfg: LlamaConfig, s: LoraSpec): LoraParam[] {
  const out: LoraParam[] = [];
  for (const layer of s.layers) {
    for (const target of s.targets) {
      const [o, i] = linearShape(cfg, target);
      out.push({ key: peftKey(layer, target, 'A'), shape: [s.rank, i], layer, target, which: 'A' });
      out.push({ key: peftKey(layer, target, 'B'), shape: [o, s.rank], layer, target, which: 'B' });
    }
  }
  return out;
}

/** Checks a spec against the model; errors name the option to change. */
export function validateLoraSpec(cfg: LlamaConfig, s: LoraSpec): void {
  // the option table's bounds (src/protocol/trainOptions.ts), named as `em-lab train` names them
  const fields: [TrainOptionKey, unknown][] = [['loraRank', s.rank], ['loraAlpha', s.alpha], ['loraDropout', s.dropout], ['targetModules', s.targets]];
  for (const [key, value] of fields) {
    const problem = optionProblem(trainOption(key), value);
    if (problem) throw new UserError('train-config', `--${trainOption(key).flag} ${problem}.`);
  }
  for (const l of s.layers) {
    if (!Number.isInteger(l) || l < 0 || l >= cfg.numLayers) throw new UserError('train-config', `--layers_to_transform: layer ${l} does not exist; this model has layers 0..${cfg.numLayers - 1}.`);
  }
}

/** PEFT's init: A ~ kaiming-uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so the adapter starts as a no-op. */
export function initLoraValues(params: LoraParam[], rand: () => number): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const p of params) {
    const n = p.shape[0] * p.shape[1];
    const data = new Float64Array(n);
    if (p.which === 'A') {
      const bound = 1 / Math.sqrt(p.shape[1]);
      for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * bound;
    }
    out.set(p.key, data);
  }
  return out;
}
