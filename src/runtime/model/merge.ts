// Merges a LoRA adapter into its base model and writes a standalone HF model folder (safetensors + config +
// tokenizer) with its ONNX export, which Transformers.js (or PEFT-free Python code) loads on its own.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors';
import { convertTensor, type FloatDType } from './hostTensor';
import { llamaTensorShapes, modulePath, peftKey } from './llamaConfig';
import { configJson } from './modelFamilies';
import { TOKENIZER_FILES, openModelFolder } from './modelFolder';
import { mergeLinear, type PeftAdapter } from './peft';
import { safetensorsDType, writeSafetensors } from './safetensors';
import { ensureDecoderExport, type ExportManifest } from './decoderExport';

export interface MergeOptions {
  /**
   * Storage type of the merged weights. Default float32: a LoRA delta is small next to W, and rounding the sum
   * to bfloat16 (8 significant bits) would erase much of it.
   */
  dtype?: FloatDType;
  onProgress?: (message: string, fraction: number) => void;
}

export interface MergeResult {
  dir: string;
  mergedModules: number;
  manifest: ExportManifest;
}

export function mergeAdapterIntoFolder(modelDir: string, adapter: PeftAdapter, outDir: string, options: MergeOptions = {}): MergeResult {
  if (resolve(modelDir) === resolve(outDir)) throw new UserError('merge-output-invalid', `The output folder ${outDir} is the base model folder: choose a new folder with -o.`);
  if (existsSync(join(outDir, 'model.safetensors'))) throw new UserError('merge-output-exists', `${outDir} already holds a model.safetensors: choose a new folder or delete it first.`);
  const folder = openModelFolder(modelDir);
  const dtype = options.dtype ?? 'float32';
  try {
    const cfg = folder.config;
    const shapes = llamaTensorShapes(cfg);
    let merged = 0, done = 0;
    mkdirSync(outDir, { recursive: true });
    const entries = [...shapes].map(([name, shape]) => ({
      name,
      dtype: safetensorsDType(dtype),
      shape,
      data: () => {
        options.onProgress?.(`merging ${name}`, done++ / shapes.size);
        const w = folder.checkpoint.read(name);
        const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.weight$/.exec(name);
        if (m) {
          const layer = Number(m[1]);
          const target = m[2] as Parameters<typeof peftKey>[1];
          const a = adapter.tensors.get(peftKey(layer, target, 'A'));
          const b = adapter.tensors.get(peftKey(layer, target, 'B'));
          if (a && b) {
            merged++;
            return convertTensor({ dtype: 'float32', shape, data: mergeLinear(w, a, b, adapter.scale) }, dtype).data;
          }
        }
        return convertTensor(w, dtype).data;
      },
    }));
    writeSafetensors(join(outDir, 'model.safetensors'), entries, { format: 'pt' });
    for (const key of adapter.tensors.keys()) {
      const m = /layers\.(\d+)\.\w+\.(\w+)\.lora_/.exec(key);
      if (m && !shapes.has(`${modulePath(Number(m[1]), m[2] as Parameters<typeof modulePath>[1])}.weight`)) {
        throw new UserError('adapter-mismatch', `${adapter.dir ?? 'adapter'}: ${key} has no module in the base model.`);
      }
    }
    // a gemma3 (multimodal) base becomes a gemma3_text folder: only the language model's weights are written
    const keep = folder.rawConfig.model_type === 'gemma3' ? {} : folder.rawConfig;
    writeFileSync(join(outDir, 'config.json'), JSON.stringify({ ...keep, ...configJson(cfg), torch_dtype: dtype }, null, 2));
    for (const f of [...TOKENIZER_FILES, 'generation_config.json', 'special_tokens_map.json']) {
      if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(outDir, f));
    }
    writeFileSync(
      join(outDir, 'em-lab-merge.json'),
      JSON.stringify({ schemaVersion: 1, base: resolve(modelDir), adapter: adapter.dir ? resolve(adapter.dir) : null, r: adapter.rank, scale: adapter.scale, mergedModules: merged, dtype }, null, 2),
    );
    folder.checkpoint.close();
    options.onProgress?.('exporting ONNX', 1);
    const { manifest } = ensureDecoderExport(outDir);
    return { dir: outDir, mergedModules: merged, manifest };
  } finally {
    folder.checkpoint.close();
  }
}
