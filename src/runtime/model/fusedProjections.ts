// Fused frozen projections for inference exports: the projections that read the same input — q/k/v (attention
// input) and gate/up (MLP input) — run as ONE matrix product over their weights stacked along the output features,
// then Split. At batch 1 a decode step is a chain of matrix-vector products whose cost is the weight bytes plus a
// fixed per-op cost (a thread-pool dispatch, MatMulNBits' activation quantization); fusing makes 7 products per
// layer 4, with 3x and 2x wider outputs for the threads to share. LoRA stays per module (added to each slice).
// The trainer does not fuse (its graphs are differentiated op by op and take HF-layout weights as inputs).
import type { HostTensor } from './hostTensor';
import { convertTensor } from './hostTensor';
import { linearShape, modulePath, type LlamaConfig, type LoraTarget } from './llamaConfig';
import type { LlamaWeights } from './llamaGraph';

/** Projections computed together, and the name of their stacked weight (vLLM's names). */
export const FUSED_GROUPS: readonly { targets: readonly LoraTarget[]; name: string }[] = [
  { targets: ['q_proj', 'k_proj', 'v_proj'], name: 'self_attn.qkv_proj' },
  { targets: ['gate_proj', 'up_proj'], name: 'mlp.gate_up_proj' },
];

/** `model.layers.{layer}.{group}.weight`: rows = the targets' output features, in the group's order. */
export function fusedWeightName(layer: number, group: (typeof FUSED_GROUPS)[number]): string {
  return `model.layers.${layer}.${group.name}.weight`;
}

/** The group a target belongs to, if any. */
export function fusedGroupOf(target: LoraTarget): (typeof FUSED_GROUPS)[number] | undefined {
  return FUSED_GROUPS.find((g) => g.targets.includes(target));
}

/**
 * `weights` plus the stacked tensors under their fused names ([sum of outs, in], float32), read part by part when
 * asked for (one stacked tensor in memory at a time).
 */
export function withFusedWeights(cfg: LlamaConfig, weights: LlamaWeights): LlamaWeights {
  const parts = new Map<string, { name: string; rows: number; cols: number }[]>();
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const g of FUSED_GROUPS) {
      parts.set(fusedWeightName(l, g), g.targets.map((t) => {
        const [rows, cols] = linearShape(cfg, t);
        return { name: `${modulePath(l, t)}.weight`, rows, cols };
      }));
    }
  }
  return {
    ...weights,
    read(name: string): HostTensor {
      const p = parts.get(name);
      if (!p) return weights.read(name);
      const cols = p[0]!.cols;
      const rows = p.reduce((s, x) => s + x.rows, 0);
      const data = new Float32Array(rows * cols);
      let offset = 0;
      for (const x of p) {
        const t = convertTensor(weights.read(x.name), 'float32');
        if (t.shape[0] !== x.rows || t.shape[1] !== x.cols) throw new Error(`weight ${x.name}: checkpoint has shape [${t.shape}], the config needs [${x.rows},${x.cols}]`);
        data.set(t.data as Float32Array, offset);
        offset += x.rows * x.cols;
      }
      return { dtype: 'float32', shape: [rows, cols], data };
    },
  };
}
