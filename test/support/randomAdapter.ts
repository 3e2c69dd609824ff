// A random PEFT LoRA adapter for tiny-llama (rank 4 on q, v and down of every layer), written with the project's
// own PEFT writer. Big enough to change greedy text. Used by the generation tests and, as a script, by the chat
// sandbox e2e scenario:  node --import tsx test/support/randomAdapter.ts <dir>
import { linearShape, peftKey } from '../../src/runtime/model/llamaConfig';
import type { HostTensor } from '../../src/runtime/model/hostTensor';
import { writePeftAdapter } from '../../src/runtime/model/peft';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';

export function writeRandomAdapter(dir: string, seed = 0): void {
  const cfg = TINY_LLAMA_CONFIG;
  const targets = ['q_proj', 'v_proj', 'down_proj'] as const;
  const tensors = new Map<string, HostTensor>();
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const t of targets) {
      const [out, inDim] = linearShape(cfg, t);
      tensors.set(peftKey(layer, t, 'A'), { dtype: 'float32', shape: [4, inDim], data: fillUniform(new Float32Array(4 * inDim), seedFrom(`A${layer}${t}`, seed), 0.5) as Float32Array });
      tensors.set(peftKey(layer, t, 'B'), { dtype: 'float32', shape: [out, 4], data: fillUniform(new Float32Array(out * 4), seedFrom(`B${layer}${t}`, seed), 0.5) as Float32Array });
    }
  }
  writePeftAdapter(dir, { r: 4, loraAlpha: 8, targets, baseModelNameOrPath: 'tiny-llama' }, tensors);
}

if (process.argv[1] && /randomAdapter\.ts$/.test(process.argv[1])) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx test/support/randomAdapter.ts <dir>\n');
    process.exit(2);
  }
  writeRandomAdapter(dir);
  process.stdout.write(`wrote a random tiny-llama adapter to ${dir}\n`);
}
