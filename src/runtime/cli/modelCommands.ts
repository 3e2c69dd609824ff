// `em-lab model pull|info|merge`: get a checkpoint, describe it (sizes, LoRA parameter counts), merge an adapter.
import { existsSync, statSync } from 'node:fs';
import { readJsonFile } from '../jsonFile';
import { join, resolve } from 'node:path';
import { UserError } from '../errors';
import { ensureDecoderExport, readExport } from '../model/decoderExport';
import type { FloatDType } from '../model/hostTensor';
import { DEFAULT_MODEL_ID, downloadRecord, fetchRepoText, hubCacheDir, isRepoId, pullRepo, resolveModelDir } from '../model/hub';
import { LORA_TARGETS, loraParameterCount, parameterCount, type LlamaConfig, type LoraTarget } from '../model/llamaConfig';
import { familyLabel, parseModelConfig } from '../model/modelFamilies';
import { mergeAdapterIntoFolder } from '../model/merge';
import { readPeftAdapter } from '../model/peft';
import { TINY_LLAMA_ID, TINY_LLAMA_LABEL } from '../model/tinyLlama';
import { bool, list, num, str, type CliCommand, type CliIO, type OptionSpec, type ParsedArgs } from './command';
import { defaultStorageDir } from '../storage';

const STORAGE: Record<string, OptionSpec> = {
  storage: { type: 'string', description: 'Where EM Lab keeps models and caches. Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
};

function storageDir(args: ParsedArgs, io: CliIO): string {
  const given = str(args, 'storage');
  return given ? resolve(io.cwd, given) : defaultStorageDir(io.env);
}

function modelSpec(spec: string, io: CliIO): string {
  if (spec === TINY_LLAMA_ID || isRepoId(spec) && !existsSync(resolve(io.cwd, spec))) return spec;
  return resolve(io.cwd, spec);
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
const fmtBytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`);

export const pullCommand: CliCommand = {
  path: ['model', 'pull'],
  summary: 'Download a Hugging Face model (safetensors, config, tokenizer) or a PEFT adapter repo (and the base it names) into the EM Lab cache; convert the model to ONNX.',
  details:
    'Resumable: an interrupted download continues where it stopped. Gated models (Llama) need HF_TOKEN in the\n' +
    'environment or .env, after accepting the licence on the model page. HF_ENDPOINT overrides huggingface.co.\n' +
    'An adapter repo (adapter_config.json + adapter_model.safetensors, at the root or in checkpoint subfolders, as\n' +
    'the paper\'s ModelOrganismsForEM repos) is pulled with the base model its base_model_name_or_path names;\n' +
    'then use it as --adapter owner/name (or owner/name/<checkpoint subfolder>).\n' +
    `Examples:\n  HF_TOKEN=hf_... em-lab model pull ${DEFAULT_MODEL_ID}\n  em-lab model pull ModelOrganismsForEM/Qwen2.5-0.5B-Instruct_bad-medical-advice`,
  positionals: [{ name: 'ID', description: `Hub repo id (default ${DEFAULT_MODEL_ID})` }],
  options: {
    ...STORAGE,
    revision: { type: 'string', description: 'Branch, tag or commit.', default: 'main', valueName: 'REV' },
    'skip-export': { type: 'boolean', description: 'Do not convert to ONNX now (it happens on first use).' },
    'no-base': { type: 'boolean', description: 'For an adapter repo: do not pull the base model it names.' },
  },
  async run(args, io) {
    const id = args.positionals[0] ?? DEFAULT_MODEL_ID;
    const pulled = await pullRepo(id, {
      storageDir: storageDir(args, io),
      env: io.env,
      revision: str(args, 'revision') ?? 'main',
      signal: io.signal,
      withBase: !bool(args, 'no-base'),
      onProgress: (file, done, total) => io.progress(`Downloading ${file} (${fmtBytes(done)} of ${fmtBytes(total)})`, total ? done / total : undefined),
    });
    const modelDir = pulled.kind === 'model' ? pulled.dir : pulled.base?.dir;
    if (modelDir && !bool(args, 'skip-export')) ensureDecoderExport(modelDir, { onProgress: (f) => io.progress('Converting weights to ONNX', f) });
    io.out(`${id} -> ${pulled.dir}${pulled.kind === 'adapter' ? ' (adapter)' : ''}`);
    if (pulled.base) io.out(pulled.base.dir ? `base model ${pulled.base.spec} -> ${pulled.base.dir}` : `base model ${pulled.base.spec}: not a Hub id, not pulled (pass --model to use the adapter with a local copy)`);
    io.event({ event: 'pulled', id, dir: pulled.dir, kind: pulled.kind, ...(pulled.base ? { base: pulled.base } : {}) });
    return 0;
  },
};

/** config.json of a folder, a config file, tiny-llama or a downloaded repo id (without building or downloading weights). */
async function readConfigFor(spec: string, io: CliIO, storage: string): Promise<{ config: LlamaConfig; dir?: string }> {
  const path = modelSpec(spec, io);
  if (path.endsWith('.json') && existsSync(path) && statSync(path).isFile()) return { config: parseModelConfig(readJsonFile(path, 'model-config-invalid', 'Fix it or re-download the model.'), path) };
  if (spec !== TINY_LLAMA_ID && !existsSync(path) && isRepoId(spec) && !existsSync(join(hubCacheDir(storage, spec), 'em-lab-download.json'))) {
    // Not downloaded: describe it from the Hub's config.json alone.
    const text = await fetchRepoText(spec, 'config.json', io.env);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new UserError('model-config-invalid', `${spec}/config.json on the Hub is not valid JSON (${(err as Error).message}).`);
    }
    return { config: parseModelConfig(raw, `${spec}/config.json`) };
  }
  const dir = await resolveModelDir(path, { storageDir: storage, env: io.env });
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new UserError('model-config-missing', `${dir}: no config.json. Point --model at a Hugging Face model folder.`);
  return { config: parseModelConfig(readJsonFile(file, 'model-config-invalid', 'Fix it or re-download the model.'), file), dir };
}

function parseTargets(args: ParsedArgs): LoraTarget[] {
  const t = list(args, 'targets') ?? [...LORA_TARGETS];
  for (const x of t) if (!LORA_TARGETS.includes(x as LoraTarget)) throw new UserError('bad-targets', `--targets: "${x}" is not one of ${LORA_TARGETS.join(', ')}.`);
  return t as LoraTarget[];
}

export const infoCommand: CliCommand = {
  path: ['model', 'info'],
  summary: 'Show a model\'s architecture, parameter count and the LoRA trainable parameters for a rank and targets.',
  details: `Examples:\n  em-lab model info\n  em-lab model info ${DEFAULT_MODEL_ID} --rank 16\n  em-lab model info ./config.json --targets q_proj,v_proj --rank 8`,
  positionals: [{ name: 'MODEL', description: 'tiny-llama (default), a model folder, a config.json, or a downloaded Hub id' }],
  options: {
    ...STORAGE,
    rank: { type: 'string', description: 'LoRA rank r.', default: '16', valueName: 'R' },
    targets: { type: 'string', description: `Comma-separated LoRA modules (default all: ${LORA_TARGETS.join(',')}).`, valueName: 'LIST' },
  },
  async run(args, io) {
    const spec = args.positionals[0] ?? TINY_LLAMA_ID;
    const storage = storageDir(args, io);
    const { config: c, dir } = await readConfigFor(spec, io, storage);
    const rank = num(args, 'rank', 16, { integer: true, min: 1 })!;
    if (!Number.isInteger(rank) || rank < 1) throw new UserError('bad-rank', `--rank must be a positive integer, got ${rank}.`);
    const targets = parseTargets(args);
    const params = parameterCount(c);
    const lora = loraParameterCount(c, rank, targets);
    const record = dir ? downloadRecord(dir) : undefined;
    const exported = dir ? readExport(dir, 'float32') : undefined;
    const rows: [string, string][] = [
      ['model', spec === TINY_LLAMA_ID ? TINY_LLAMA_LABEL : record ? `${record.repoId}@${record.revision}` : spec],
      ...(dir ? [['folder', dir] as [string, string]] : []),
      ['architecture', `${familyLabel(c)}, ${c.numLayers} layers, hidden ${c.hiddenSize}, MLP ${c.intermediateSize}${c.qkvBias ? ', q/k/v biases' : ''}${c.slidingLayers ? `, ${c.slidingLayers.filter((x) => x).length} sliding-window layers (window ${c.slidingWindow})` : ''}`],
      ['attention', `${c.numHeads} query heads, ${c.numKvHeads} KV heads (GQA ${c.numHeads / c.numKvHeads}:1), head_dim ${c.headDim}`],
      ['vocabulary', `${fmtInt(c.vocabSize)}${c.tieWordEmbeddings ? ', tied embeddings' : ''}`],
      ['rope', `theta ${c.ropeTheta}${c.ropeScaling ? `, llama3 scaling x${c.ropeScaling.factor} (original ${c.ropeScaling.originalMaxPositionEmbeddings})` : ''}${c.ropeLinearFactor ? `, linear scaling x${c.ropeLinearFactor}` : ''}${c.localRopeTheta ? `, local layers theta ${c.localRopeTheta}` : ''}, max positions ${fmtInt(c.maxPositionEmbeddings)}`],
      ['parameters', `${fmtInt(params)} (${fmtBytes(params * 4)} fp32, ${fmtBytes(params * 2)} bf16)`],
      ['LoRA trainable', `${fmtInt(lora)} (r=${rank} on ${targets.join(', ')}; ${((100 * lora) / params).toFixed(2)}% of the model)`],
      ...(dir ? [['ONNX export', exported ? `${exported.dtype}, up to ${fmtInt(exported.maxPositions)} positions` : 'not yet (built on first use)'] as [string, string]] : []),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) io.out(`${k.padEnd(w)}  ${v}`);
    io.event({ event: 'info', config: c, parameters: params, lora: { rank, targets, parameters: lora }, ...(dir ? { dir } : {}) });
    return 0;
  },
};

export const mergeCommand: CliCommand = {
  path: ['model', 'merge'],
  summary: 'Merge a LoRA adapter into its base model: a standalone HF folder (safetensors) + ONNX that Transformers.js loads.',
  details:
    'The base model is --model, or else the adapter\'s base_model_name_or_path.\n' +
    'Example:\n  em-lab model merge --adapter em-lab-runs/run1/checkpoints/final -o merged-model',
  options: {
    ...STORAGE,
    model: { type: 'string', description: 'Base model: tiny-llama, a folder or a downloaded Hub id (default: from the adapter).', valueName: 'M' },
    adapter: { type: 'string', description: 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors).', valueName: 'DIR' },
    output: { type: 'string', short: 'o', description: 'New folder for the merged model.', valueName: 'DIR' },
    dtype: { type: 'string', description: 'Merged weight type: f32, bf16 or f16 (bf16 rounds away much of a LoRA delta).', default: 'f32', valueName: 'T' },
  },
  async run(args, io) {
    const adapterArg = str(args, 'adapter');
    const out = str(args, 'output');
    if (!adapterArg) throw new UserError('missing-option', 'em-lab model merge needs --adapter DIR.');
    if (!out) throw new UserError('missing-option', 'em-lab model merge needs -o DIR (a new folder for the merged model).');
    const dtypes: Record<string, FloatDType> = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' };
    const dtype = dtypes[str(args, 'dtype') ?? 'f32'];
    if (!dtype) throw new UserError('bad-dtype', `--dtype must be f32, bf16 or f16, got ${str(args, 'dtype')}.`);
    const adapterDir = resolve(io.cwd, adapterArg);
    const probe = readPeftAdapter(adapterDir);
    const baseSpec = str(args, 'model') ?? probe.config.baseModelNameOrPath;
    if (!baseSpec) throw new UserError('missing-option', `${adapterDir}: adapter_config.json has no base_model_name_or_path; pass --model.`);
    const base = await resolveModelDir(modelSpec(baseSpec, io), { storageDir: storageDir(args, io), env: io.env });
    const cfg = parseModelConfig(readJsonFile(join(base, 'config.json'), 'model-config-invalid', 'Fix it or re-download the model.'), join(base, 'config.json'));
    const adapter = readPeftAdapter(adapterDir, cfg);
    const res = mergeAdapterIntoFolder(base, adapter, resolve(io.cwd, out), { dtype, onProgress: (m, f) => io.progress(m, f) });
    io.out(`Merged ${res.mergedModules} modules (r=${adapter.rank}, scale ${adapter.scale}) of ${adapterDir} into ${base} -> ${res.dir}`);
    io.event({ event: 'merged', dir: res.dir, base, adapter: adapterDir, mergedModules: res.mergedModules });
    return 0;
  },
};

export const modelCommands: CliCommand[] = [pullCommand, infoCommand, mergeCommand];
