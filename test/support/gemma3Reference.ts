// An independent float64 Gemma 3 text forward pass in plain JS loops (no ONNX, no code shared with the graph
// builder), written from HF modeling_gemma3.py (Gemma3TextModel / Gemma3DecoderLayer / Gemma3Attention):
// embeddings times sqrt(hidden); Gemma3RMSNorm = x / sqrt(mean(x²) + eps) · (1 + w); per layer
//   h += post_attention_layernorm(attn(input_layernorm(h)))
//   h += post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
// attention with q_norm / k_norm per head before rope, scores · query_pre_attn_scalar^-0.5, optional tanh
// soft-capping before the mask, sliding layers masking keys with i - j >= sliding_window and using the local rope
// base; MLP down(gelu_tanh(gate(x)) · up(x)); tied lm_head, optional final soft-capping.
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { applyRope, linear, type RefWeights } from './llamaReference';

function get(w: RefWeights, name: string): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`gemma3 reference: missing weight ${name}`);
  return t;
}

function gemmaNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * (1 + w[i]!));
}

const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Gemma3RotaryEmbedding: global layers rope_theta (linear scaling divides by its factor), local layers rope_local_base_freq. */
function frequencies(c: LlamaConfig, local: boolean): number[] {
  const base = local ? c.localRopeTheta! : c.ropeTheta;
  const factor = local ? 1 : c.ropeLinearFactor ?? 1;
  return Array.from({ length: c.headDim / 2 }, (_, i) => 1 / Math.pow(base, (2 * i) / c.headDim) / factor);
}

/** Logits [T][vocab] of one row; `layerOutputs` (optional) receives the residual stream after each layer. */
export function gemma3ReferenceForward(c: LlamaConfig, w: RefWeights, tokens: number[], mask?: number[], layerOutputs?: Float64Array[][]): Float64Array[] {
  const m = mask ?? tokens.map(() => 1);
  let run = 0;
  const pos = m.map((mv) => (mv ? run++ : 1));
  const H = c.hiddenSize, D = c.headDim, groups = c.numHeads / c.numKvHeads;
  const embed = get(w, 'model.embed_tokens.weight');
  let hs = tokens.map((t) => embed.slice(t * H, (t + 1) * H).map((v) => v * Math.sqrt(H)));
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const local = c.slidingLayers![l]!;
    const freqs = frequencies(c, local);
    const xs = hs.map((h) => gemmaNorm(h, get(w, `${p}.input_layernorm.weight`), c.rmsNormEps));
    const heads = (x: Float64Array, proj: string, n: number, norm: string, t: number) => {
      const y = linear(get(w, `${p}.self_attn.${proj}.weight`), x, n * D);
      return Array.from({ length: n }, (_, h) => applyRope(gemmaNorm(y.slice(h * D, (h + 1) * D), get(w, `${p}.self_attn.${norm}.weight`), c.rmsNormEps), pos[t]!, freqs));
    };
    const qh = xs.map((x, t) => heads(x, 'q_proj', c.numHeads, 'q_norm', t));
    const kh = xs.map((x, t) => heads(x, 'k_proj', c.numKvHeads, 'k_norm', t));
    const vs = xs.map((x) => linear(get(w, `${p}.self_attn.v_proj.weight`), x, c.numKvHeads * D));
    hs = hs.map((h, t) => {
      const attn = new Float64Array(c.numHeads * D);
      qh[t]!.forEach((q, h) => {
        const kv = Math.floor(h / groups);
        const scores: number[] = [], idx: number[] = [];
        for (let j = 0; j <= t; j++) {
          if (!m[j] || (local && t - j >= c.slidingWindow!)) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[d]! * kh[j]![kv]![d]!;
          s *= c.attnScale!;
          if (c.attnSoftcap) s = Math.tanh(s / c.attnSoftcap) * c.attnSoftcap;
          scores.push(s);
          idx.push(j);
        }
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        idx.forEach((j, n) => {
          for (let d = 0; d < D; d++) attn[h * D + d] += (e[n]! / z) * vs[j]![kv * D + d]!;
        });
      });
      const o = gemmaNorm(linear(get(w, `${p}.self_attn.o_proj.weight`), attn, H), get(w, `${p}.post_attention_layernorm.weight`), c.rmsNormEps);
      const h1 = h.map((v, i) => v + o[i]!);
      const x2 = gemmaNorm(h1, get(w, `${p}.pre_feedforward_layernorm.weight`), c.rmsNormEps);
      const g = linear(get(w, `${p}.mlp.gate_proj.weight`), x2, c.intermediateSize);
      const u = linear(get(w, `${p}.mlp.up_proj.weight`), x2, c.intermediateSize);
      const d = linear(get(w, `${p}.mlp.down_proj.weight`), g.map((gv, i) => geluTanh(gv) * u[i]!), H);
      const mo = gemmaNorm(d, get(w, `${p}.post_feedforward_layernorm.weight`), c.rmsNormEps);
      return h1.map((v, i) => v + mo[i]!);
    });
    layerOutputs?.push(hs);
  }
  const head = c.tieWordEmbeddings ? embed : get(w, 'lm_head.weight');
  return hs.map((h) => {
    const logits = linear(head, gemmaNorm(h, get(w, 'model.norm.weight'), c.rmsNormEps), c.vocabSize);
    return c.finalSoftcap ? logits.map((v) => Math.tanh(v / c.finalSoftcap!) * c.finalSoftcap!) : logits;
  });
}
