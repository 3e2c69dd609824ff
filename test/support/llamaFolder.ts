// Writes a random-weight Llama model folder in HF layout (tests only).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { llamaTensorShapes, toHfConfigJson, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { writeSafetensors } from '../../src/runtime/model/safetensors';

export function writeTestModelFolder(dir: string, cfg: LlamaConfig, w: Map<string, Float64Array>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfigJson(cfg)));
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
  const shapes = llamaTensorShapes(cfg);
  writeSafetensors(join(dir, 'model.safetensors'), [...shapes].map(([name, shape]) => ({ name, dtype: 'F32' as const, shape, data: Float32Array.from(w.get(name)!) })));
}
