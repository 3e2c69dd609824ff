// An independent float64 LoRA trainer in plain JS (no ONNX, no code shared with src/runtime/train): a tiny
// tape-based reverse-mode autodiff over row-major matrices, a Llama forward written from HF modeling_llama.py
// (RMSNorm, rotate-half RoPE, GQA causal attention, SiLU MLP), torch-style AdamW, clip_grad_norm_ and HF's
// warm-up + linear/cosine schedules. Each sequence is processed unpadded, so it also checks EM Lab's padding.
import type { LlamaConfig } from '../../src/runtime/model/llamaConfig';

interface Mat { v: Float64Array; r: number; c: number; g?: Float64Array }

class Tape {
  private readonly backs: (() => void)[] = [];
  leaf(v: Float64Array, r: number, c: number, trainable = false): Mat {
    return trainable ? { v, r, c, g: new Float64Array(v.length) } : { v, r, c };
  }
  private out(r: number, c: number, parents: Mat[], back: (o: Mat) => void): Mat {
    const o: Mat = { v: new Float64Array(r * c), r, c };
    if (parents.some((p) => p.g)) {
      o.g = new Float64Array(r * c);
      this.backs.push(() => back(o));
    }
    return o;
  }
  backward(scalar: Mat): void {
    scalar.g![0] = 1;
    for (let i = this.backs.length - 1; i >= 0; i--) this.backs[i]!();
  }
  /** x [n,k] · Wᵀ for W [m,k] (nn.Linear layout). */
  linear(x: Mat, w: Mat): Mat {
    const n = x.r, k = x.c, m = w.r;
    const o = this.out(n, m, [x, w], (o) => {
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
        const d = o.g![i * m + j]!;
        if (d === 0) continue;
        for (let t = 0; t < k; t++) {
          if (x.g) x.g[i * k + t] += d * w.v[j * k + t]!;
          if (w.g) w.g[j * k + t] += d * x.v[i * k + t]!;
        }
      }
    });
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += x.v[i * k + t]! * w.v[j * k + t]!;
      o.v[i * m + j] = s;
    }
    return o;
  }
  add(a: Mat, b: Mat): Mat {
    const o = this.out(a.r, a.c, [a, b], (o) => o.g!.forEach((d, i) => { if (a.g) a.g[i] += d; if (b.g) b.g[i] += d; }));
    o.v.forEach((_, i) => (o.v[i] = a.v[i]! + b.v[i]!));
    return o;
  }
  mul(a: Mat, b: Mat): Mat {
    const o = this.out(a.r, a.c, [a, b], (o) => o.g!.forEach((d, i) => { if (a.g) a.g[i] += d * b.v[i]!; if (b.g) b.g[i] += d * a.v[i]!; }));
    o.v.forEach((_, i) => (o.v[i] = a.v[i]! * b.v[i]!));
    return o;
  }
  scale(a: Mat, s: number): Mat {
    const o = this.out(a.r, a.c, [a], (o) => o.g!.forEach((d, i) => (a.g![i] += d * s)));
    o.v.forEach((_, i) => (o.v[i] = a.v[i]! * s));
    return o;
  }
  silu(a: Mat): Mat {
    const sig = a.v.map((x) => 1 / (1 + Math.exp(-x)));
    const o = this.out(a.r, a.c, [a], (o) => o.g!.forEach((d, i) => (a.g![i] += d * sig[i]! * (1 + a.v[i]! * (1 - sig[i]!)))));
    o.v.forEach((_, i) => (o.v[i] = a.v[i]! * sig[i]!));
    return o;
  }
  /** y = x / sqrt(mean(x²) + eps) · w per row; w is frozen. dx = r·g − r³·x·mean(g·x), g = dy·w. */
  rmsNorm(x: Mat, w: Float64Array, eps: number): Mat {
    const n = x.r, d = x.c;
    const rs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let ss = 0;
      for (let j = 0; j < d; j++) ss += x.v[i * d + j]! ** 2;
      rs[i] = 1 / Math.sqrt(ss / d + eps);
    }
    const o = this.out(n, d, [x], (o) => {
      for (let i = 0; i < n; i++) {
        const r = rs[i]!;
        let gx = 0;
        for (let j = 0; j < d; j++) gx += o.g![i * d + j]! * w[j]! * x.v[i * d + j]!;
        for (let j = 0; j < d; j++) x.g![i * d + j] += r * o.g![i * d + j]! * w[j]! - (r ** 3) * x.v[i * d + j]! * gx / d;
      }
    });
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) o.v[i * d + j] = x.v[i * d + j]! * rs[i]! * w[j]!;
    return o;
  }
  /** Rotate-half RoPE on every head of x [T, heads·D]; position of row t is t. */
  rope(x: Mat, D: number, freqs: number[]): Mat {
    const heads = x.c / D, half = D / 2;
    const rot = (src: Float64Array, dst: Float64Array, sign: number) => {
      for (let t = 0; t < x.r; t++) for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) {
        const c = Math.cos(t * freqs[i]!), s = sign * Math.sin(t * freqs[i]!);
        const a = t * x.c + h * D + i, b = a + half;
        dst[a] += src[a]! * c - src[b]! * s;
        dst[b] += src[b]! * c + src[a]! * s;
      }
    };
    const o = this.out(x.r, x.c, [x], (o) => rot(o.g!, x.g!, -1)); // the inverse rotation is the transpose
    rot(x.v, o.v, 1);
    return o;
  }
  /** Causal GQA attention for one unpadded sequence: q [T, H·D], k and v [T, KVH·D]. */
  attention(q: Mat, k: Mat, v: Mat, H: number, KVH: number, D: number): Mat {
    const T = q.r, G = H / KVH, sc = 1 / Math.sqrt(D);
    const P: Float64Array[] = [];
    const o = this.out(T, H * D, [q, k, v], (o) => {
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / G), p = P[h]!;
        for (let t = 0; t < T; t++) {
          const dP = new Float64Array(t + 1);
          for (let j = 0; j <= t; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) {
              s += o.g![t * H * D + h * D + d]! * v.v[j * KVH * D + kv * D + d]!;
              if (v.g) v.g[j * KVH * D + kv * D + d] += p[t * T + j]! * o.g![t * H * D + h * D + d]!;
            }
            dP[j] = s;
          }
          let dot = 0;
          for (let j = 0; j <= t; j++) dot += dP[j]! * p[t * T + j]!;
          for (let j = 0; j <= t; j++) {
            const dS = p[t * T + j]! * (dP[j]! - dot) * sc;
            for (let d = 0; d < D; d++) {
              if (q.g) q.g[t * H * D + h * D + d] += dS * k.v[j * KVH * D + kv * D + d]!;
              if (k.g) k.g[j * KVH * D + kv * D + d] += dS * q.v[t * H * D + h * D + d]!;
            }
          }
        }
      }
    });
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / G), p = new Float64Array(T * T);
      for (let t = 0; t < T; t++) {
        let mx = -Infinity;
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q.v[t * H * D + h * D + d]! * k.v[j * KVH * D + kv * D + d]!;
          p[t * T + j] = s * sc;
          mx = Math.max(mx, s * sc);
        }
        let z = 0;
        for (let j = 0; j <= t; j++) z += (p[t * T + j] = Math.exp(p[t * T + j]! - mx));
        for (let j = 0; j <= t; j++) {
          p[t * T + j] /= z;
          for (let d = 0; d < D; d++) o.v[t * H * D + h * D + d] += p[t * T + j]! * v.v[j * KVH * D + kv * D + d]!;
        }
      }
      P.push(p);
    }
    return o;
  }
  /** Σ_t w_t · −log softmax(logits_t)[target_t] as a 1×1 matrix. */
  nllSum(logits: Mat, targets: number[], weights: number[]): Mat {
    const V = logits.c;
    const sm = new Float64Array(logits.v.length);
    let total = 0;
    for (let t = 0; t < logits.r; t++) {
      let mx = -Infinity;
      for (let j = 0; j < V; j++) mx = Math.max(mx, logits.v[t * V + j]!);
      let z = 0;
      for (let j = 0; j < V; j++) z += (sm[t * V + j] = Math.exp(logits.v[t * V + j]! - mx));
      for (let j = 0; j < V; j++) sm[t * V + j] /= z;
      if (weights[t]) total -= weights[t]! * Math.log(sm[t * V + targets[t]!]!);
    }
    const o = this.out(1, 1, [logits], (o) => {
      for (let t = 0; t < logits.r; t++) {
        if (!weights[t]) continue;
        for (let j = 0; j < V; j++) logits.g![t * V + j] += o.g![0]! * weights[t]! * (sm[t * V + j]! - (j === targets[t] ? 1 : 0));
      }
    });
    o.v[0] = total;
    return o;
  }
}

function inverseFrequencies(c: LlamaConfig): number[] {
  if (c.ropeScaling) throw new Error('reference trainer: plain RoPE only');
  return Array.from({ length: c.headDim / 2 }, (_, i) => 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim));
}

export interface RefLora {
  rank: number;
  scale: number;
  targets: string[];
  layers: number[];
}

const MODULE: Record<string, string> = { q_proj: 'self_attn', k_proj: 'self_attn', v_proj: 'self_attn', o_proj: 'self_attn', gate_proj: 'mlp', up_proj: 'mlp', down_proj: 'mlp' };
export const refKey = (l: number, t: string, which: 'A' | 'B') => `base_model.model.model.layers.${l}.${MODULE[t]}.${t}.lora_${which}.weight`;

/** Summed weighted NLL of one sequence and, into `grads`, its gradient w.r.t. every LoRA tensor. */
export function referenceLossAndGrads(c: LlamaConfig, w: Map<string, Float64Array>, lora: RefLora, adapter: Map<string, Float64Array>, ids: number[], targets: number[], weights: number[], grads: Map<string, Float64Array>): number {
  const tape = new Tape();
  const H = c.hiddenSize, D = c.headDim, T = ids.length;
  const freqs = inverseFrequencies(c);
  const wt = (name: string) => w.get(name)!;
  const frozen = (name: string, r: number, cols: number) => tape.leaf(wt(name), r, cols);
  const params = new Map<string, Mat>();
  for (const [k, v] of adapter) params.set(k, tape.leaf(v, 0, 0, true));
  const linear = (x: Mat, l: number, t: string, out: number): Mat => {
    const y = tape.linear(x, frozen(`model.layers.${l}.${MODULE[t]}.${t}.weight`, out, x.c));
    if (!lora.targets.includes(t) || !lora.layers.includes(l)) return y;
    const a = params.get(refKey(l, t, 'A'))!, b = params.get(refKey(l, t, 'B'))!;
    a.r = lora.rank; a.c = x.c; b.r = out; b.c = lora.rank;
    return tape.add(y, tape.scale(tape.linear(tape.linear(x, a), b), lora.scale));
  };
  const emb = wt('model.embed_tokens.weight');
  let h = tape.leaf(Float64Array.from(ids.flatMap((id) => Array.from(emb.subarray(id * H, (id + 1) * H)))), T, H);
  for (let l = 0; l < c.numLayers; l++) {
    const x = tape.rmsNorm(h, wt(`model.layers.${l}.input_layernorm.weight`), c.rmsNormEps);
    const q = tape.rope(linear(x, l, 'q_proj', c.numHeads * D), D, freqs);
    const k = tape.rope(linear(x, l, 'k_proj', c.numKvHeads * D), D, freqs);
    const v = linear(x, l, 'v_proj', c.numKvHeads * D);
    h = tape.add(h, linear(tape.attention(q, k, v, c.numHeads, c.numKvHeads, D), l, 'o_proj', H));
    const x2 = tape.rmsNorm(h, wt(`model.layers.${l}.post_attention_layernorm.weight`), c.rmsNormEps);
    const act = tape.mul(tape.silu(linear(x2, l, 'gate_proj', c.intermediateSize)), linear(x2, l, 'up_proj', c.intermediateSize));
    h = tape.add(h, linear(act, l, 'down_proj', H));
  }
  const normed = tape.rmsNorm(h, wt('model.norm.weight'), c.rmsNormEps);
  const logits = tape.linear(normed, frozen(c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight', c.vocabSize, H));
  const loss = tape.nllSum(logits, targets, weights);
  tape.backward(loss);
  for (const [k, m] of params) {
    const g = grads.get(k)!;
    m.g!.forEach((d, i) => (g[i] += d));
  }
  return loss.v[0]!;
}

export interface RefHyper {
  lr: number;
  scheduler: 'linear' | 'cosine' | 'constant';
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

export interface RefExample { ids: number[]; supervised: number[] }

function refLr(s: number, h: RefHyper): number {
  if (s < h.warmupSteps) return h.lr * s / Math.max(1, h.warmupSteps);
  if (h.scheduler === 'constant') return h.lr;
  const p = (s - h.warmupSteps) / Math.max(1, h.totalSteps - h.warmupSteps);
  return h.scheduler === 'cosine' ? h.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * p))) : h.lr * Math.max(0, 1 - p);
}

/** Trains over `steps` (each a list of example indices); returns the loss of every step and the final adapter. */
export function referenceTrain(c: LlamaConfig, w: Map<string, Float64Array>, lora: RefLora, init: Map<string, Float64Array>, examples: RefExample[], steps: number[][], h: RefHyper): { losses: number[]; gradNorms: number[]; adapter: Map<string, Float64Array> } {
  const p = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const m = new Map([...init].map(([k, v]) => [k, new Float64Array(v.length)]));
  const v2 = new Map([...init].map(([k, v]) => [k, new Float64Array(v.length)]));
  const losses: number[] = [], gradNorms: number[] = [];
  steps.forEach((exs, s) => {
    const grads = new Map([...init].map(([k, v]) => [k, new Float64Array(v.length)]));
    let nll = 0, count = 0;
    for (const i of exs) {
      const e = examples[i]!;
      const targets = e.ids.slice(1).concat([0]);
      const weights = e.supervised.slice(1).concat([0]);
      count += weights.reduce((a, b) => a + b, 0);
      nll += referenceLossAndGrads(c, w, lora, p, e.ids, targets, weights, grads);
    }
    const denom = Math.max(count, 1);
    let sq = 0;
    for (const g of grads.values()) g.forEach((x, i) => { g[i] = x / denom; sq += (x / denom) ** 2; });
    const norm = Math.sqrt(sq);
    const coef = h.maxGradNorm > 0 ? Math.min(1, h.maxGradNorm / (norm + 1e-6)) : 1;
    const lr = refLr(s, h), t = s + 1;
    const bc1 = 1 - h.beta1 ** t, bc2 = 1 - h.beta2 ** t;
    for (const [k, g] of grads) {
      const pk = p.get(k)!, mk = m.get(k)!, vk = v2.get(k)!;
      for (let i = 0; i < g.length; i++) {
        const gi = g[i]! * coef;
        pk[i] *= 1 - lr * h.weightDecay;
        mk[i] = h.beta1 * mk[i]! + (1 - h.beta1) * gi;
        vk[i] = h.beta2 * vk[i]! + (1 - h.beta2) * gi * gi;
        pk[i] -= (lr / bc1) * mk[i]! / (Math.sqrt(vk[i]!) / Math.sqrt(bc2) + h.eps);
      }
    }
    losses.push(nll / denom);
    gradNorms.push(norm);
  });
  return { losses, gradNorms, adapter: p };
}
