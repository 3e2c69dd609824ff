// An independent float64 Llama / Qwen2 forward pass in plain JS loops (no ONNX, no code shared with the graph
// builder), written from the HF modeling_llama.py and modeling_qwen2.py semantics (Qwen2 = Llama + biases on
// q_proj, k_proj, v_proj), to check the ONNX graphs' numerics. Gemma 3 has its own: gemma3Reference.ts.
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';

export type RefWeights = Map<string, Float64Array>; // HF names, HF layout (Linear: [out, in] row-major)

function get(w: RefWeights, name: string): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return t;
}

/** y[o] = sum_i W[o, i] x[i] (+ bias[o]) for W [out, in]. */
export function linear(wt: Float64Array, x: Float64Array, out: number, bias?: Float64Array): Float64Array {
  const inDim = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = bias ? bias[o]! : 0;
    for (let i = 0; i < inDim; i++) s += wt[o * inDim + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * w[i]!);
}

/** HF rope frequencies, llama3 variant written out case by case. */
function inverseFrequencies(c: LlamaConfig): number[] {
  const freqs: number[] = [];
  for (let i = 0; i < c.headDim; i += 2) {
    let f = 1 / Math.pow(c.ropeTheta, i / c.headDim);
    const s = c.ropeScaling;
    if (s) {
      const wavelen = (2 * Math.PI) / f;
      const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      if (wavelen > lowWavelen) f = f / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    freqs.push(f);
  }
  return freqs;
}

/** Applies rotary embedding to one head vector at position p (rotate_half convention). */
export function applyRope(v: Float64Array, p: number, freqs: number[]): Float64Array {
  const half = v.length / 2;
  const out = new Float64Array(v.length);
  for (let i = 0; i < half; i++) {
    const c = Math.cos(p * freqs[i]!), s = Math.sin(p * freqs[i]!);
    out[i] = v[i]! * c - v[i + half]! * s;
    out[i + half] = v[i + half]! * c + v[i]! * s;
  }
  return out;
}

/**
 * Full-sequence forward of one row: tokens [T], mask [T] (0 = padding), positions [T].
 * Returns logits [T][vocab]. Position t attends to j <= t with mask[j] = 1 (a padded query attends to nothing
 * useful; its logits are not meaningful and tests don't compare them).
 */
export function referenceForward(c: LlamaConfig, w: RefWeights, tokens: number[], mask?: number[], positions?: number[], layerOutputs?: Float64Array[][]): Float64Array[] {
  const T = tokens.length;
  const m = mask ?? tokens.map(() => 1);
  let pos = positions;
  if (!pos) {
    let run = 0;
    pos = m.map((mv) => (mv ? run++ : 1));
  }
  const H = c.hiddenSize, D = c.headDim;
  const freqs = inverseFrequencies(c);
  const embed = get(w, 'model.embed_tokens.weight');
  let hs: Float64Array[] = tokens.map((t) => embed.slice(t * H, (t + 1) * H));
  const groups = c.numHeads / c.numKvHeads;
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const xs = hs.map((h) => rmsNorm(h, get(w, `${p}.input_layernorm.weight`), c.rmsNormEps));
    // Qwen2's q/k/v biases (the checkpoint has them exactly when the config says so)
    const bias = (m: string) => (c.qkvBias ? get(w, `${p}.self_attn.${m}.bias`) : undefined);
    const qs = xs.map((x) => linear(get(w, `${p}.self_attn.q_proj.weight`), x, c.numHeads * D, bias('q_proj')));
    const ks = xs.map((x) => linear(get(w, `${p}.self_attn.k_proj.weight`), x, c.numKvHeads * D, bias('k_proj')));
    const vs = xs.map((x) => linear(get(w, `${p}.self_attn.v_proj.weight`), x, c.numKvHeads * D, bias('v_proj')));
    const qh = qs.map((q, t) => Array.from({ length: c.numHeads }, (_, h) => applyRope(q.slice(h * D, (h + 1) * D), pos![t]!, freqs)));
    const kh = ks.map((k, t) => Array.from({ length: c.numKvHeads }, (_, h) => applyRope(k.slice(h * D, (h + 1) * D), pos![t]!, freqs)));
    const attnOut = qh.map((heads, t) => {
      const out = new Float64Array(c.numHeads * D);
      heads.forEach((q, h) => {
        const kvh = Math.floor(h / groups);
        const scores: number[] = [];
        const idx: number[] = [];
        for (let j = 0; j <= t; j++) {
          if (!m[j]) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[d]! * kh[j]![kvh]![d]!;
          scores.push(s / Math.sqrt(D));
          idx.push(j);
        }
        if (!idx.length) return;
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        idx.forEach((j, n) => {
          for (let d = 0; d < D; d++) out[h * D + d] += (e[n]! / z) * vs[j]![kvh * D + d]!;
        });
      });
      return out;
    });
    hs = hs.map((h, t) => {
      const o = linear(get(w, `${p}.self_attn.o_proj.weight`), attnOut[t]!, H);
      const h1 = h.map((v, i) => v + o[i]!);
      const x2 = rmsNorm(h1, get(w, `${p}.post_attention_layernorm.weight`), c.rmsNormEps);
      const g = linear(get(w, `${p}.mlp.gate_proj.weight`), x2, c.intermediateSize);
      const u = linear(get(w, `${p}.mlp.up_proj.weight`), x2, c.intermediateSize);
      const a = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]!);
      const d = linear(get(w, `${p}.mlp.down_proj.weight`), a, H);
      return h1.map((v, i) => v + d[i]!);
    });
    layerOutputs?.push(hs);
  }
  const head = c.tieWordEmbeddings ? embed : get(w, 'lm_head.weight');
  return hs.map((h) => linear(head, rmsNorm(h, get(w, 'model.norm.weight'), c.rmsNormEps), c.vocabSize));
}

/** W + scale · B·A for W [out, in], A [r, in], B [out, r]. */
export function mergeLora(wt: Float64Array, a: Float64Array, b: Float64Array, out: number, inDim: number, r: number, scale: number): Float64Array {
  const merged = Float64Array.from(wt);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[o * r + k]! * a[k * inDim + i]!;
      merged[o * inDim + i] += scale * s;
    }
  }
  return merged;
}
