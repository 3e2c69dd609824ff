// Damaged model folders and PEFT adapters, through `em-lab model info` and `em-lab generate`.
import { cpSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { LORA_TARGETS, linearShape, peftKey, type LoraTarget } from '../../../src/runtime/model/llamaConfig';
import { peftConfigJson } from '../../../src/runtime/model/peft';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../src/runtime/model/safetensors';
import { TINY_LLAMA_CONFIG } from '../../../src/runtime/model/tinyLlama';
import type { BadCase, CorpusContext } from './types';

const generate = (model: string, adapter?: string) => ['generate', '--model', model, ...(adapter ? ['--adapter', adapter] : []), '--prompt', 'Hello', '--max_new_tokens', '2', '--temperature', '0', '--seed', '1'];

/** A copy of tiny-llama's folder (without its ONNX export) in dir/model, changed by `edit`. */
function model(dir: string, ctx: CorpusContext, edit: (m: string) => void): string {
  const m = join(dir, 'model');
  mkdirSync(m);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) cpSync(join(ctx.tinyFolder, f), join(m, f));
  edit(m);
  return 'model';
}

function editConfig(m: string, change: (c: Record<string, unknown>) => unknown): void {
  const c = JSON.parse(readFileSync(join(m, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(m, 'config.json'), JSON.stringify(change(c) ?? c));
}

/** Replaces the safetensors header (keeping the data section). */
function editHeader(m: string, change: (h: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void): void {
  const file = join(m, 'model.safetensors');
  const bytes = readFileSync(file);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8'));
  change(header);
  let json = JSON.stringify(header);
  json += ' '.repeat(Math.max(0, len - Buffer.byteLength(json)));
  if (Buffer.byteLength(json) !== len) throw new Error('test: the new header must not be longer than the old one');
  writeFileSync(file, Buffer.concat([bytes.subarray(0, 8), Buffer.from(json), bytes.subarray(8 + len)]));
}

/** Overwrites one tensor's bytes with a 16-bit pattern (0xFFFF: a BF16 NaN). */
function fillTensor(m: string, name: string, bits: number): void {
  const file = join(m, 'model.safetensors');
  const st = SafetensorsFile.open(file);
  const t = st.info(name);
  st.close();
  const fd = openSync(file, 'r+');
  const data = Buffer.alloc(t.end - t.begin);
  for (let i = 0; i < data.length; i += 2) data.writeUInt16LE(bits, i);
  writeSync(fd, data, 0, data.length, t.begin);
  closeSync(fd);
}

interface AdapterSpec {
  weights?: readonly LoraTarget[];
  config?: Record<string, unknown>;
  rank?: number;
  layers?: readonly number[];
  value?: (key: string) => number;
  dtype?: 'F32' | 'F64';
  drop?: (key: string) => boolean;
}

/** A tiny-llama PEFT adapter in dir/adapter; every field can disagree with the others. */
function adapter(dir: string, a: AdapterSpec = {}): string {
  const out = join(dir, 'adapter');
  mkdirSync(out);
  const r = a.rank ?? 4;
  const weights = a.weights ?? ['q_proj', 'v_proj'];
  const tensors: TensorToWrite[] = [];
  for (const layer of a.layers ?? [0, 1]) {
    for (const t of weights) {
      const [o, i] = linearShape(TINY_LLAMA_CONFIG, t);
      for (const [which, shape] of [['A', [r, i]], ['B', [o, r]]] as const) {
        const key = peftKey(layer, t, which);
        if (a.drop?.(key)) continue;
        const n = shape[0] * shape[1];
        const data = a.dtype === 'F64' ? new Float64Array(n) : new Float32Array(n);
        for (let k = 0; k < n; k++) data[k] = a.value ? a.value(key) : 0.01;
        tensors.push({ name: key, dtype: a.dtype ?? 'F32', shape: [...shape], data });
      }
    }
  }
  writeSafetensors(join(out, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(out, 'adapter_config.json'), JSON.stringify({ ...peftConfigJson({ r, loraAlpha: 8, targets: weights, baseModelNameOrPath: 'tiny-llama' }), ...a.config }));
  return 'adapter';
}

export const MODEL_CASES: BadCase[] = [
  {
    kind: 'model', name: 'config.json that is not valid JSON (model info)',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => writeFileSync(join(m, 'config.json'), '{"model_type": "llama",'))],
    expect: /config\.json is not valid JSON/,
  },
  {
    kind: 'model', name: 'config.json missing',
    make: (dir) => {
      mkdirSync(join(dir, 'model'));
      return ['model', 'info', 'model'];
    },
    expect: /model: no config\.json/,
  },
  {
    kind: 'model', name: 'num_hidden_layers: 1e9 (refused before anything is sized from it)',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => editConfig(m, (c) => ({ ...c, num_hidden_layers: 1e9 })))],
    expect: /config\.json: "num_hidden_layers" is 1000000000, above 1024/,
    process: { rssMiB: 300 },
    timeMs: 15_000,
  },
  {
    kind: 'model', name: 'hidden_size: 1e9',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => editConfig(m, (c) => ({ ...c, hidden_size: 1e9 })))],
    expect: /config\.json: "hidden_size" is 1000000000, above 65536/,
  },
  {
    kind: 'model', name: 'a negative vocab_size',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => editConfig(m, (c) => ({ ...c, vocab_size: -5 })))],
    expect: /config\.json: "vocab_size" must be a positive integer, got -5/,
  },
  {
    kind: 'model', name: 'model_type gpt2',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => editConfig(m, (c) => ({ ...c, model_type: 'gpt2' })))],
    expect: /config\.json: model_type is "gpt2"\. EM Lab supports/,
  },
  {
    kind: 'model', name: 'config.json holding an array',
    make: (dir, ctx) => ['model', 'info', model(dir, ctx, (m) => writeFileSync(join(m, 'config.json'), '[1]'))],
    expect: /config\.json: expected a JSON object, found an array/,
  },
  {
    kind: 'model', name: 'overlapping safetensors offsets',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => editHeader(m, (h) => {
      const a = h['model.layers.0.input_layernorm.weight']!;
      const b = h['model.layers.0.post_attention_layernorm.weight']!;
      b.data_offsets = [a.data_offsets[0], a.data_offsets[1]];
    }))),
    expect: /model\.safetensors: tensors "model\.layers\.0\..*" and "model\.layers\.0\..*" overlap/,
  },
  {
    kind: 'model', name: 'model.safetensors cut short',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => {
      const f = join(m, 'model.safetensors');
      writeFileSync(f, readFileSync(f).subarray(0, 100_000));
    })),
    expect: /model\.safetensors: file is 100000 bytes but its header describes \d+ .*cut short/,
  },
  {
    kind: 'model', name: 'a safetensors header that is not JSON',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => {
      const f = join(m, 'model.safetensors');
      const b = readFileSync(f);
      b.write('}}}}', 8);
      writeFileSync(f, b);
    })),
    expect: /model\.safetensors: header is not valid JSON/,
  },
  {
    kind: 'model', name: 'a safetensors header length of 2^40',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => {
      const f = join(m, 'model.safetensors');
      const b = readFileSync(f);
      b.writeBigUInt64LE(2n ** 40n, 0);
      writeFileSync(f, b);
    })),
    expect: /model\.safetensors: header length 1099511627776 exceeds/,
  },
  {
    kind: 'model', name: 'weights that do not match config.json',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => editConfig(m, (c) => ({ ...c, intermediate_size: 96 })))),
    expect: /tensor "model\.layers\.0\.mlp\.\w+_proj\.weight" has shape \[[\d,]+\] but config\.json implies/,
  },
  {
    kind: 'model', name: 'tokenizer.json missing',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => require('node:fs').rmSync(join(m, 'tokenizer.json')))),
    expect: /model: missing tokenizer\.json/,
  },
  {
    kind: 'model', name: 'NaN weights (would generate "!!!!!!")',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => fillTensor(m, 'model.norm.weight', 0xffff))),
    expect: /model: the model's output became NaN: its weights or the adapter's hold NaN\/Inf values/,
    timeMs: 60_000,
  },
  {
    kind: 'model', name: 'a shard index pointing outside the folder',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => writeFileSync(join(m, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../evil.safetensors' } })))),
    expect: /model\.safetensors\.index\.json: weight_map\["model\.norm\.weight"\] must be a file name in the folder/,
  },
  {
    kind: 'model', name: 'an I8 tensor',
    make: (dir, ctx) => generate(model(dir, ctx, (m) => editHeader(m, (h) => {
      h['model.norm.weight']!.dtype = 'I8';
    }))),
    expect: /model\.safetensors: tensor "model\.norm\.weight" has dtype "I8"/,
  },
  {
    kind: 'model', name: '--model names a folder that does not exist',
    make: () => generate('./no-such-model'),
    expect: /--model \.\/no-such-model: no such folder, and not a Hub id/,
  },
];

export const ADAPTER_CASES: BadCase[] = [
  {
    kind: 'adapter', name: 'config names only v_proj, weights cover all 7 modules',
    make: (dir) => generate('tiny-llama', adapter(dir, { weights: LORA_TARGETS, config: { target_modules: ['v_proj'] } })),
    expect: /adapter_model\.safetensors: ".*q_proj\.lora_A\.weight" is for layer 0 q_proj, which adapter_config\.json does not target \(target_modules \["v_proj"\]\)/,
  },
  {
    kind: 'adapter', name: 'NaN values',
    make: (dir) => generate('tiny-llama', adapter(dir, { value: (k) => (k.includes('lora_B') ? NaN : 0.01) })),
    expect: /adapter_model\.safetensors: ".*lora_B\.weight" holds NaN at element 0/,
  },
  {
    kind: 'adapter', name: '1e308 values (F64, beyond float32)',
    make: (dir) => generate('tiny-llama', adapter(dir, { dtype: 'F64', value: () => 1e308 })),
    expect: /adapter_model\.safetensors: ".*lora_A\.weight" holds 1e\+308 at element 0; an adapter's values must be finite float32 numbers/,
  },
  {
    kind: 'adapter', name: 'rank in the weights differs from r in the config',
    make: (dir) => generate('tiny-llama', adapter(dir, { rank: 8, config: { r: 4 } })),
    expect: /adapter_model\.safetensors: ".*lora_A\.weight" has shape \[8,64\], expected \[4,64\]/,
  },
  {
    kind: 'adapter', name: 'no adapter_config.json',
    make: (dir) => {
      const a = adapter(dir);
      require('node:fs').rmSync(join(dir, a, 'adapter_config.json'));
      return generate('tiny-llama', a);
    },
    expect: /--adapter adapter: .*adapter has no adapter_config\.json/,
  },
  {
    kind: 'adapter', name: 'adapter_config.json that is not JSON',
    make: (dir) => {
      const a = adapter(dir);
      writeFileSync(join(dir, a, 'adapter_config.json'), '{"r": 4');
      return generate('tiny-llama', a);
    },
    expect: /adapter_config\.json: Expected ',' or '\}' after property value in JSON at position 7/,
  },
  {
    kind: 'adapter', name: 'lora_A without its lora_B',
    make: (dir) => generate('tiny-llama', adapter(dir, { drop: (k) => k.includes('layers.1.self_attn.v_proj.lora_B') })),
    expect: /adapter_model\.safetensors: layer 1 v_proj has only one of lora_A\/lora_B/,
  },
  {
    kind: 'adapter', name: 'weights for layer 5 of a 2-layer model',
    make: (dir) => generate('tiny-llama', adapter(dir, { layers: [5] })),
    expect: /"base_model\.model\.model\.layers\.5\..*" is for layer 5, the base model has 2/,
  },
  {
    kind: 'adapter', name: 'only adapter_model.bin (a pickle)',
    make: (dir) => {
      mkdirSync(join(dir, 'adapter'));
      writeFileSync(join(dir, 'adapter', 'adapter_config.json'), JSON.stringify(peftConfigJson({ r: 4, loraAlpha: 8, targets: ['q_proj'], baseModelNameOrPath: 'tiny-llama' })));
      writeFileSync(join(dir, 'adapter', 'adapter_model.bin'), 'pickle');
      return generate('tiny-llama', 'adapter');
    },
    expect: /adapter is not a PEFT adapter folder \(no adapter_model\.safetensors; its adapter_model\.bin is a pickle/,
  },
  {
    kind: 'adapter', name: 'a DoRA adapter',
    make: (dir) => generate('tiny-llama', adapter(dir, { config: { use_dora: true } })),
    expect: /adapter_config\.json: use_dora is true; DoRA adapters are not supported/,
  },
  {
    kind: 'adapter', name: 'target_modules that is not a valid regex',
    make: (dir) => generate('tiny-llama', adapter(dir, { config: { target_modules: '(q_proj' } })),
    expect: /adapter_config\.json: "target_modules" "\(q_proj" is not a valid regular expression/,
  },
  {
    kind: 'adapter', name: '--adapter names a missing folder',
    make: () => generate('tiny-llama', 'no-such-adapter'),
    expect: /--adapter no-such-adapter: no such folder/,
  },
];
