// The training phase transition (Turner et al. 2025): how a run's LoRA vectors move across its checkpoints. Computed
// by src/runtime/train/loraTrajectory.ts; shown by the training view and the experiment report (docs/steering.md).

/** One module at one checkpoint. "A vector" lives in the module's input space, "B vector" in its output space. */
export interface LoraVectorPoint {
  step: number;
  /** |A| and |B| (Frobenius norms of the factors; rank 1: the vectors' lengths). */
  normA: number;
  normB: number;
  /** Largest singular value of scale·B·A: how much the module's update can change an activation (rank 1: scale·|A||B|). */
  sigma: number;
  /** Cosine with the previous checkpoint's vector (null at the first). Above rank 1: |cosine| of top singular vectors. */
  cosPrevA: number | null;
  cosPrevB: number | null;
  /** Cosine with the last checkpoint's vector. */
  cosFinalA: number;
  cosFinalB: number;
  /** Rotation of the B vector since the previous checkpoint, degrees per optimizer step (null at the first). */
  rotationB: number | null;
}

export interface LoraModuleTrajectory {
  /** e.g. "layers.12.mlp.down_proj". */
  module: string;
  layer: number;
  target: string;
  rank: number;
  points: LoraVectorPoint[];
}

export interface PhaseTransitionView {
  schemaVersion: 1;
  runDir: string;
  /** Checkpoints used, in step order. */
  steps: number[];
  rank: number;
  /** What the vectors are, in words (rank 1: A and B directly; higher: top singular vectors of B·A). */
  method: string;
  modules: LoraModuleTrajectory[];
  /** Per checkpoint over all modules: mean cosine with the previous and with the final B vector, mean rotation. */
  summary: { step: number; meanCosPrevB: number | null; meanCosFinalB: number; meanRotationB: number | null; sigmaRms: number }[];
  /** The checkpoint step ending the interval with the largest mean B rotation per step (null with < 2 checkpoints). */
  sharpestStep: number | null;
}
