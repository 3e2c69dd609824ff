// Writes small Qwen2 and Gemma 3 model folders as the Hub ships them (tests only): config.json, generation_config,
// each family's tokenizer files, and bf16 safetensors split into shards with model.safetensors.index.json. The Gemma
// folder can take the multimodal gemma3 layout (text_config, language_model.* tensors, a vision tensor to ignore).
// As a script it writes a tiny Qwen2.5-shaped model and a rank-1 down_proj adapter for the e2e chat scenario:
//   node --import tsx test/support/familyFolders.ts <modelDir> <adapterDir>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertTensor } from '../../src/runtime/model/hostTensor';
import { linearShape, llamaTensorShapes, peftKey, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { parseModelConfig } from '../../src/runtime/model/modelFamilies';
import { writePeftAdapter } from '../../src/runtime/model/peft';
import { writeSafetensors } from '../../src/runtime/model/safetensors';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { gemma3TokenizerFiles, qwen2TokenizerFiles, type TokenizerFiles } from './familyTokenizers';
import { randomWeights, tinyGemma3Json, tinyQwen2Json } from './llamaFixtures';

export type TestFamily = 'qwen2' | 'gemma3_text' | 'gemma3';

export interface FamilyFolder {
  dir: string;
  cfg: LlamaConfig;
  /** The weights as stored (rounded to bf16), float64, text-model names: what a reference must use. */
  weights: Map<string, Float64Array>;
  tokenizer: TokenizerFiles;
}

/** Writes the folder; `over` changes config.json fields (for gemma3: text_config's). */
export function writeFamilyFolder(dir: string, family: TestFamily, options: { over?: Record<string, unknown>; seed?: number; shards?: number } = {}): FamilyFolder {
  const tokenizer = family === 'qwen2' ? qwen2TokenizerFiles() : gemma3TokenizerFiles();
  const vocab = Math.ceil(tokenizer.size / 16) * 16; // real vocab sizes are padded beyond the tokenizer too
  const text = family === 'qwen2'
    ? tinyQwen2Json({ vocab_size: vocab, eos_token_id: tokenizer.eosTokenIds[0], max_position_embeddings: 512, ...options.over })
    : tinyGemma3Json({ vocab_size: vocab, eos_token_id: tokenizer.eosTokenIds[0], bos_token_id: 2, pad_token_id: 0, max_position_embeddings: 512, ...options.over });
  const config = family === 'gemma3' ? { architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: text, vision_config: { model_type: 'siglip_vision_model' }, torch_dtype: 'bfloat16' } : { ...text, torch_dtype: 'bfloat16' };
  const cfg = parseModelConfig(config);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: tokenizer.eosTokenIds, ...(tokenizer.bosTokenId !== undefined ? { bos_token_id: tokenizer.bosTokenId } : {}) }, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer['tokenizer.json']));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizer['tokenizer_config.json'], null, 2));
  const raw = randomWeights(cfg, options.seed ?? 1);
  if (cfg.normPlusOne) for (const [name, t] of raw) if (name.endsWith('norm.weight')) raw.set(name, t.map((v) => v - 1)); // Gemma stores w for (1 + w)
  const shapes = llamaTensorShapes(cfg);
  const weights = new Map<string, Float64Array>();
  const entries = [...shapes].map(([name, shape]) => {
    const bf16 = convertTensor({ dtype: 'float64', shape, data: raw.get(name)! }, 'bfloat16');
    weights.set(name, convertTensor(bf16, 'float64').data as Float64Array);
    const stored = family === 'gemma3' ? `language_model.${name}` : name;
    return { name: stored, dtype: 'BF16' as const, shape, data: bf16.data };
  });
  if (family === 'gemma3') entries.push({ name: 'vision_tower.vision_model.embeddings.patch_embedding.weight', dtype: 'BF16', shape: [4, 3], data: new Uint16Array(12) });
  const shards = options.shards ?? 2;
  const per = Math.ceil(entries.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = entries.slice(s * per, (s + 1) * per);
    writeSafetensors(join(dir, file), part, { format: 'pt' });
    for (const e of part) weightMap[e.name] = file;
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2));
  return { dir, cfg, weights, tokenizer };
}

/**
 * A random rank-1 adapter on one layer's down_proj, as the paper's single-adapter organisms are published:
 * r 1, alpha 256, target_modules ["down_proj"], layers_to_transform [layer], base_model_name_or_path.
 */
export function writeRank1Adapter(dir: string, cfg: LlamaConfig, layer: number, base: string, seed = 3): void {
  const [out, inDim] = linearShape(cfg, 'down_proj');
  writePeftAdapter(dir, { r: 1, loraAlpha: 256, targets: ['down_proj'], layers: [layer], baseModelNameOrPath: base }, new Map([
    [peftKey(layer, 'down_proj', 'A'), { dtype: 'float32' as const, shape: [1, inDim], data: fillUniform(new Float32Array(inDim), seedFrom('A', seed), 0.2) as Float32Array }],
    [peftKey(layer, 'down_proj', 'B'), { dtype: 'float32' as const, shape: [out, 1], data: fillUniform(new Float32Array(out), seedFrom('B', seed), 0.2) as Float32Array }],
  ]));
}

if (process.argv[1] && /familyFolders\.ts$/.test(process.argv[1])) {
  const [modelDir, adapterDir] = process.argv.slice(2);
  if (!modelDir || !adapterDir) {
    process.stderr.write('usage: node --import tsx test/support/familyFolders.ts <modelDir> <adapterDir>\n');
    process.exit(2);
  }
  const { cfg } = writeFamilyFolder(modelDir, 'qwen2', { over: { hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 } });
  writeRank1Adapter(adapterDir, cfg, 1, modelDir);
  process.stdout.write(`wrote a tiny Qwen2.5-shaped model to ${modelDir} and a rank-1 down_proj adapter (layer 1) to ${adapterDir}\n`);
}
