// Random tiny Llama configurations and weights for numerics tests.
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import type { LlamaWeights } from '../../src/runtime/model/llamaGraph';
import { fillUniform, seedFrom } from '../../src/runtime/random';

export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    vocabSize: 97,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 64,
    eosTokenIds: [1],
    ...over,
  };
}

/** Random float64 weights (norm weights near 1, others small uniform), deterministic per seed. */
export function randomWeights(c: LlamaConfig, seed: number): Map<string, Float64Array> {
  const w = new Map<string, Float64Array>();
  for (const [name, shape] of llamaTensorShapes(c)) {
    const n = shape.reduce((p, d) => p * d, 1);
    const t = fillUniform(new Float64Array(n), seedFrom(name, seed), name.endsWith('norm.weight') ? 0.2 : 0.5 / Math.sqrt(shape[shape.length - 1]!)) as Float64Array;
    if (name.endsWith('norm.weight')) for (let i = 0; i < n; i++) t[i] += 1;
    if (name === 'model.embed_tokens.weight') for (let i = 0; i < n; i++) t[i] *= 4;
    w.set(name, t);
  }
  return w;
}

export function weightSource(w: Map<string, Float64Array>, shapes: Map<string, number[]>): LlamaWeights {
  return {
    read(name: string): HostTensor {
      const data = w.get(name);
      if (!data) throw new Error(`no weight ${name}`);
      return { dtype: 'float64', shape: shapes.get(name)!, data };
    },
  };
}
