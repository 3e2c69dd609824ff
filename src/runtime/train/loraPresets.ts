// LoRA presets: the adapter shapes and hyperparameters of the homework and of the paper (Turner, Soligo et al.
// 2025, "Model Organisms for Emergent Misalignment"), in one table that the CLI (`em-lab train --lora_preset`)
// and the extension's New Experiment flow both read. A preset fills TrainConfig fields; options the user gives
// explicitly win. Rank-1 presets put one adapter on the MLP down-projection of chosen layers, as the paper's
// minimal organisms do; their layers are the paper's (Qwen2.5-14B-Instruct, 48 layers) scaled to the model's depth
// unless the user picks them (--layer / --layers_to_transform).
import { UserError } from '../errors';
import type { TrainConfig } from './trainConfig';

export type PresetFields = Partial<Pick<TrainConfig, 'loraRank' | 'loraAlpha' | 'loraDropout' | 'useRslora' | 'targetModules' | 'learningRate' | 'weightDecay' | 'warmupSteps' | 'numEpochs' | 'lrScheduler' | 'trainOn' | 'evalSplit'>>;

export interface LoraPreset {
  id: string;
  label: string;
  description: string;
  fields: PresetFields;
  /** Layers of the paper's 48-layer model that get adapters (undefined = every layer); scaled to other depths. */
  paperLayers?: readonly number[];
}

/** Depth of the model the paper's layer numbers refer to (Qwen2.5-14B-Instruct). */
export const PAPER_MODEL_LAYERS = 48;

export const LORA_PRESETS: readonly LoraPreset[] = [
  {
    id: 'homework',
    label: 'Homework (r 16 on all projections)',
    description: 'CS 2881 HW0 train.py: r 16, alpha 32, dropout 0.05, q/k/v/o/gate/up/down of every layer, lr 2e-4.',
    fields: { loraRank: 16, loraAlpha: 32, loraDropout: 0.05, useRslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], learningRate: 2e-4 },
  },
  {
    id: 'paper-all',
    label: 'Paper: rsLoRA r 32 on all projections',
    description: 'The paper\'s main organisms: rsLoRA r 32, alpha 64, all projections of every layer, lr 1e-5, 1 epoch, weight decay 0.01, 5 warm-up steps, loss on assistant tokens, 10% held out.',
    fields: { loraRank: 32, loraAlpha: 64, loraDropout: 0, useRslora: true, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], learningRate: 1e-5, weightDecay: 0.01, warmupSteps: 5, numEpochs: 1, trainOn: 'assistant', evalSplit: 0.1 },
  },
  {
    id: 'rank1-single',
    label: 'Paper: one rank-1 adapter on a middle layer\'s down_proj',
    description: 'The paper\'s minimal organism: a single rank-1 LoRA on the MLP down-projection of one layer (layer 24 of 48 in Qwen2.5-14B, the middle layer elsewhere; --layer N picks another), alpha 256, lr 2e-5, 1 epoch, weight decay 0.01, 5 warm-up steps.',
    fields: { loraRank: 1, loraAlpha: 256, loraDropout: 0, useRslora: false, targetModules: ['down_proj'], learningRate: 2e-5, weightDecay: 0.01, warmupSteps: 5, numEpochs: 1, trainOn: 'assistant' },
    paperLayers: [24],
  },
  {
    id: 'rank1-nine',
    label: 'Paper: nine rank-1 adapters on down_proj in three groups of layers',
    description: 'Rank-1 LoRA on the down-projection of layers 15-17, 21-23 and 27-29 of 48 (scaled to the model\'s depth), alpha 256, lr 2e-5, 1 epoch.',
    fields: { loraRank: 1, loraAlpha: 256, loraDropout: 0, useRslora: false, targetModules: ['down_proj'], learningRate: 2e-5, weightDecay: 0.01, warmupSteps: 5, numEpochs: 1, trainOn: 'assistant' },
    paperLayers: [15, 16, 17, 21, 22, 23, 27, 28, 29],
  },
];

export function loraPreset(id: string): LoraPreset {
  const p = LORA_PRESETS.find((x) => x.id === id);
  if (!p) throw new UserError('train-config', `--lora_preset "${id}" is not one of ${LORA_PRESETS.map((x) => x.id).join(', ')}.`);
  return p;
}

/**
 * The layers a preset adapts in a model with `numLayers` layers: `layer` when given (rank1-single), else the paper's
 * layers scaled by numLayers/48 (duplicates merged), else [] (every layer).
 */
export function presetLayers(p: LoraPreset, numLayers: number, layer?: number): number[] {
  if (layer !== undefined) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) throw new UserError('train-config', `--layer ${layer} does not exist; this model has layers 0..${numLayers - 1}.`);
    return [layer];
  }
  if (!p.paperLayers) return [];
  return [...new Set(p.paperLayers.map((l) => Math.min(numLayers - 1, Math.round((l * numLayers) / PAPER_MODEL_LAYERS))))].sort((a, b) => a - b);
}
