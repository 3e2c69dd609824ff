// A model folder in Hugging Face layout: config.json, model.safetensors or sharded model-*.safetensors with
// model.safetensors.index.json, tokenizer.json, tokenizer_config.json, optional generation_config.json.
// Opening one validates everything that can be checked without reading the weights (headers, shapes vs config).
import { existsSync, readFileSync } from 'node:fs';
import { readJsonFile } from '../jsonFile';
import { join } from 'node:path';
import { UserError } from '../errors';
import type { HostTensor } from './hostTensor';
import { llamaTensorShapes, type LlamaConfig } from './llamaConfig';
import { parseModelConfig } from './modelFamilies';
import { SafetensorsFile, type TensorInfo } from './safetensors';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Tensors of a checkpoint, single-file or sharded, read lazily one at a time. */
export class Checkpoint {
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly where = new Map<string, string>();

  private constructor(readonly dir: string) {}

  static open(dir: string): Checkpoint {
    const c = new Checkpoint(dir);
    const index = join(dir, 'model.safetensors.index.json');
    const single = join(dir, 'model.safetensors');
    if (existsSync(index)) {
      let map: Record<string, unknown>;
      try {
        map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, unknown> }).weight_map;
        if (!map || typeof map !== 'object') throw new Error('no "weight_map" object');
      } catch (err) {
        throw new UserError('safetensors-index-invalid', `${index}: ${(err as Error).message}. Re-download the model's index file.`);
      }
      for (const [name, file] of Object.entries(map)) {
        if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
          throw new UserError('safetensors-index-invalid', `${index}: weight_map["${name}"] must be a file name in the folder, got ${JSON.stringify(file)}.`);
        }
        c.where.set(name, file);
      }
      for (const file of new Set(c.where.values())) {
        if (!existsSync(join(dir, file))) throw new UserError('safetensors-missing', `${join(dir, file)} is listed in model.safetensors.index.json but missing. Download the remaining shards.`);
        c.files.set(file, SafetensorsFile.open(join(dir, file)));
      }
      for (const [name, file] of c.where) c.files.get(file)!.info(name); // every listed tensor exists in its shard
    } else if (existsSync(single)) {
      const f = SafetensorsFile.open(single);
      c.files.set('model.safetensors', f);
      for (const name of f.names()) c.where.set(name, 'model.safetensors');
    } else {
      throw new UserError('model-weights-missing', `${dir}: no model.safetensors or model.safetensors.index.json. Point EM Lab at a Hugging Face model folder with safetensors weights.`);
    }
    return c;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.stored(name) !== undefined;
  }

  /**
   * The name a tensor has in this checkpoint. Callers use text-model names (model.layers.0...); a Gemma 3
   * multimodal checkpoint stores its language model as language_model.model.* (older transformers) or
   * model.language_model.* (newer), and its lm_head (when untied) as language_model.lm_head.*.
   */
  private stored(name: string): string | undefined {
    for (const n of [name, `language_model.${name}`, name.replace(/^model\./, 'model.language_model.')]) if (this.where.has(n)) return n;
    return undefined;
  }

  private file(name: string): { file: SafetensorsFile; stored: string } {
    const stored = this.stored(name);
    if (!stored) throw new UserError('safetensors-tensor-missing', `${this.dir}: the checkpoint has no tensor "${name}". It does not match its config.json.`);
    return { file: this.files.get(this.where.get(stored)!)!, stored };
  }

  info(name: string): TensorInfo {
    const f = this.file(name);
    return f.file.info(f.stored);
  }

  read(name: string): HostTensor {
    const f = this.file(name);
    return f.file.read(f.stored);
  }

  close(): void {
    for (const f of this.files.values()) f.close();
  }
}

export interface GenerationConfig {
  eosTokenIds: number[];
  bosTokenId?: number;
  raw: Record<string, unknown>;
}

export interface ModelFolder {
  dir: string;
  config: LlamaConfig;
  rawConfig: Record<string, unknown>;
  checkpoint: Checkpoint;
  generationConfig?: GenerationConfig;
}

function readJson(path: string, code: string, what: string): Record<string, unknown> {
  return readJsonFile(path, code, what);
}

/** Checks that tokenizer.json and tokenizer_config.json are present (Transformers.js fails late and obscurely without them). */
export function checkTokenizerFiles(dir: string): void {
  const missing = TOKENIZER_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new UserError('model-tokenizer-missing', `${dir}: missing ${missing.join(' and ')}. Copy the tokenizer files from the model's Hugging Face repo into this folder (em-lab model pull downloads them).`);
  }
}

/** Opens a model folder: config (validated), weights (headers and shapes checked against the config), tokenizer presence. */
export function openModelFolder(dir: string, options: { requireTokenizer?: boolean } = {}): ModelFolder {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new UserError('model-config-missing', `${dir}: no config.json. Point EM Lab at a Hugging Face model folder (config.json, *.safetensors, tokenizer files).`);
  const rawConfig = readJson(configPath, 'model-config-invalid', 'Re-download config.json.');
  const config = parseModelConfig(rawConfig, configPath);
  if (options.requireTokenizer !== false) checkTokenizerFiles(dir);
  const checkpoint = Checkpoint.open(dir);
  try {
    for (const [name, shape] of llamaTensorShapes(config)) {
      const info = checkpoint.info(name);
      if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
        throw new UserError('safetensors-dtype-unsupported', `${dir}: tensor "${name}" is ${info.dtype}; model weights must be F32, F16 or BF16.`);
      }
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new UserError('safetensors-shape-mismatch', `${dir}: tensor "${name}" has shape [${info.shape}] but config.json implies [${shape}]. The weights and config.json come from different models.`);
      }
    }
  } catch (err) {
    checkpoint.close();
    throw err;
  }
  let generationConfig: GenerationConfig | undefined;
  const genPath = join(dir, 'generation_config.json');
  if (existsSync(genPath)) {
    const raw = readJson(genPath, 'model-config-invalid', 'Fix or delete generation_config.json.');
    const eos = raw.eos_token_id;
    generationConfig = {
      eosTokenIds: Array.isArray(eos) ? eos.filter((e): e is number => typeof e === 'number') : typeof eos === 'number' ? [eos] : config.eosTokenIds,
      ...(typeof raw.bos_token_id === 'number' ? { bosTokenId: raw.bos_token_id } : {}),
      raw,
    };
  }
  return { dir, config, rawConfig, checkpoint, ...(generationConfig ? { generationConfig } : {}) };
}
