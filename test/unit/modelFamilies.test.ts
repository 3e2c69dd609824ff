import { strict as assert } from 'node:assert';
import { linearShape, modulePath, peftKey, type LlamaConfig, type LoraTarget } from '../../src/runtime/model/llamaConfig';
import { parseModelConfig, configJson } from '../../src/runtime/model/modelFamilies';
import type { OrtTensor } from '../../src/runtime/onnx/ort';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { gemma3ReferenceForward } from '../support/gemma3Reference';
import { mergeLora, referenceForward, type RefWeights } from '../support/llamaReference';
import { randomWeights, tinyConfig, tinyGemma3Json, tinyQwen2Json } from '../support/llamaFixtures';
import { readPeftAdapter, writePeftAdapter } from '../../src/runtime/model/peft';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestModel, floatTensor, runStep } from '../support/llamaSession';

// Qwen2 and Gemma 3 graphs against their independent float64 references (test/support/*Reference.ts): random
// small configs, prefill with left padding and token-by-token cached decoding in fp32 (max |diff| <= 1e-4 of the
// logits' scale), the float64 graph to 1e-9, and PEFT adapters (rank 1, rank 4 with rsLoRA) as merged weights.
type Forward = (c: LlamaConfig, w: RefWeights, tokens: number[], mask?: number[]) => Float64Array[];
const FAMILIES: { label: string; cfg: LlamaConfig; ref: Forward }[] = [
  { label: 'Qwen2 (q/k/v biases, tied, rope 1e6)', cfg: parseModelConfig(tinyQwen2Json()), ref: referenceForward },
  { label: 'Qwen2 (untied, MHA, head_dim != hidden/heads)', cfg: parseModelConfig(tinyQwen2Json({ tie_word_embeddings: false, num_key_value_heads: 4, head_dim: 6, hidden_size: 20 })), ref: referenceForward },
  { label: 'Gemma 3 (2 local layers of window 3 + 1 global, no soft-capping)', cfg: parseModelConfig(tinyGemma3Json()), ref: gemma3ReferenceForward },
  {
    label: 'Gemma 3 (MQA, linear rope scaling x4 on global layers, attention and final soft-capping, layer_types)',
    cfg: parseModelConfig(tinyGemma3Json({ num_key_value_heads: 1, rope_scaling: { rope_type: 'linear', factor: 4 }, attn_logit_softcapping: 2.5, final_logit_softcapping: 4, layer_types: ['full_attention', 'sliding_attention', 'full_attention'] })),
    ref: gemma3ReferenceForward,
  },
];

const ROW0 = [5, 17, 3, 88, 42, 9, 60, 11, 2, 33];
const ROW1 = [0, 0, 0, 7, 19, 64, 23, 8, 50, 31];
const MASK1 = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1];

function relDiff(out: Float64Array, ref: Float64Array[], rowOffset: number, rows: number[], V: number): number {
  let worst = 0, scale = 0;
  for (const t of rows) {
    for (let v = 0; v < V; v++) {
      worst = Math.max(worst, Math.abs(out[(rowOffset + t) * V + v]! - ref[t]![v]!));
      scale = Math.max(scale, Math.abs(ref[t]![v]!));
    }
  }
  assert.ok(scale > 0.3, `logits must have a real spread (max |logit| ${scale})`);
  return worst / scale;
}

describe('Qwen2 and Gemma 3 graphs vs their float64 references', function () {
  this.timeout(120000);
  for (const { label, cfg, ref } of FAMILIES) {
    it(`${label}: prefill and cached decode agree to 1e-4 relative (fp32), float64 to 1e-9`, async () => {
      const w = randomWeights(cfg, 7);
      const ref0 = ref(cfg, w, ROW0);
      const ref1 = ref(cfg, w, ROW1, MASK1);
      const V = cfg.vocabSize;
      const all = ROW0.map((_, t) => t);
      const real1 = all.filter((t) => MASK1[t]);
      const m = await buildTestModel(cfg, w, 'float32');
      const full = await runStep(m, [ROW0, ROW1], [ROW0.map(() => 1), MASK1]);
      const prefill = Math.max(relDiff(full.logits, ref0, 0, all, V), relDiff(full.logits, ref1, ROW0.length, real1, V));
      assert.ok(prefill <= 1e-4, `prefill relative diff ${prefill}`);
      let step = await runStep(m, [ROW0.slice(0, 4), ROW1.slice(0, 4)], [[1, 1, 1, 1], MASK1.slice(0, 4)]);
      let decode = 0;
      for (let t = 4; t < ROW0.length; t++) {
        step = await runStep(m, [[ROW0[t]!], [ROW1[t]!]], [ROW0.slice(0, t + 1).map(() => 1), MASK1.slice(0, t + 1)], step.presents);
        decode = Math.max(decode, relDiff(step.logits, [ref0[t]!], 0, [0], V), relDiff(step.logits, [ref1[t]!], 1, [0], V));
      }
      assert.ok(decode <= 1e-4, `decode relative diff ${decode}`);
      const m64 = await buildTestModel(cfg, w, 'float64');
      const out64 = await runStep(m64, [ROW0], [ROW0.map(() => 1)]);
      const f64 = relDiff(out64.logits, ref0, 0, all, V);
      assert.ok(f64 <= 1e-9, `float64 relative diff ${f64}`);
      console.log(`      fp32 prefill ${prefill.toExponential(1)}, decode ${decode.toExponential(1)}; float64 ${f64.toExponential(1)}`);
    });
  }

  it('Gemma 3: the sliding window changes local layers (a window as long as the sequence gives other logits)', () => {
    const cfg = FAMILIES[2]!.cfg;
    const w = randomWeights(cfg, 7);
    const narrow = gemma3ReferenceForward(cfg, w, ROW0);
    const wide = gemma3ReferenceForward({ ...cfg, slidingWindow: 64 }, w, ROW0);
    assert.equal(narrow[2]![5], wide[2]![5]); // positions < window see the same keys
    assert.ok(Math.abs(narrow[9]![5]! - wide[9]![5]!) > 1e-3);
  });

  for (const { label, cfg, ref } of [FAMILIES[0]!, FAMILIES[3]!]) {
    for (const [rank, alpha, rslora] of [[1, 4, false], [4, 8, true]] as const) {
      it(`${label}: a rank-${rank} PEFT adapter${rslora ? ' with rsLoRA' : ''} equals the merged weights W + scale·B·A`, async () => {
        const targets: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
        const layers = [1];
        const scale = rslora ? alpha / Math.sqrt(rank) : alpha / rank;
        const base = randomWeights(cfg, 11);
        const merged = new Map(base);
        const feeds: Record<string, OrtTensor> = {};
        for (const t of targets) {
          const [out, inDim] = linearShape(cfg, t);
          const a = fillUniform(new Float64Array(rank * inDim), seedFrom(`A${t}`, rank), 0.4) as Float64Array;
          const b = fillUniform(new Float64Array(out * rank), seedFrom(`B${t}`, rank), 0.4) as Float64Array;
          feeds[peftKey(1, t, 'A')] = floatTensor('float32', a, [rank, inDim]);
          feeds[peftKey(1, t, 'B')] = floatTensor('float32', b, [out, rank]);
          const name = `${modulePath(1, t)}.weight`;
          merged.set(name, mergeLora(base.get(name)!, a, b, out, inDim, rank, scale));
        }
        const want = ref(cfg, merged, ROW0);
        const m = await buildTestModel(cfg, base, 'float32', { rank: 'lora_rank', scale, targets, layers });
        const out = await runStep(m, [ROW0], [ROW0.map(() => 1)], undefined, feeds);
        const d = relDiff(out.logits, want, 0, ROW0.map((_, t) => t), cfg.vocabSize);
        assert.ok(d <= 1e-4, `relative diff vs merged reference ${d}`);
        const baseRef = ref(cfg, base, ROW0);
        assert.ok(Math.abs(baseRef[9]![3]! - want[9]![3]!) > 1e-3, 'the adapter must change the logits');
      });
    }
  }
});

describe('family configs', () => {
  it('config.json round-trips for Qwen2 and Gemma 3', () => {
    for (const { cfg } of FAMILIES) assert.deepEqual(parseModelConfig(JSON.parse(JSON.stringify(configJson(cfg)))), { torchDtype: 'float32', ...cfg });
  });

  it('Gemma 3: features from the config (layer pattern, scales) and the text part of a gemma3 checkpoint', () => {
    const c = parseModelConfig(tinyGemma3Json());
    assert.deepEqual(c.slidingLayers, [true, true, false]);
    assert.equal(c.embedScale, Math.sqrt(32));
    assert.equal(c.attnScale, 1 / Math.sqrt(12));
    const mm = parseModelConfig({ architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', eos_token_id: [1, 106], text_config: { model_type: 'gemma3_text', hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 34, rope_scaling: { factor: 8, rope_type: 'linear' }, sliding_window: 1024 }, vision_config: {} });
    // Gemma3TextConfig defaults fill what text_config omits (the 4B checkpoint's shape)
    assert.equal(mm.vocabSize, 262208);
    assert.equal(mm.numHeads, 8);
    assert.equal(mm.headDim, 256);
    assert.equal(mm.ropeLinearFactor, 8);
    assert.deepEqual(mm.eosTokenIds, [1, 106]);
    assert.equal(mm.slidingLayers!.filter((x) => !x).length, 5); // layers 5, 11, 17, 23, 29 are global
  });

  it('refuses what the graph cannot do faithfully, naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [tinyQwen2Json({ use_sliding_window: true }), /use_sliding_window is true/],
      [tinyQwen2Json({ rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_scaling type "yarn"/],
      [tinyGemma3Json({ hidden_activation: 'gelu' }), /hidden_activation "gelu"/],
      [tinyGemma3Json({ rope_scaling: { rope_type: 'dynamic', factor: 2 } }), /rope_scaling type "dynamic"/],
      [tinyGemma3Json({ use_bidirectional_attention: true }), /use_bidirectional_attention/],
      [{ model_type: 'mistral' }, /model_type is "mistral".*Qwen2\/Qwen2.5.*Gemma 3/],
    ];
    for (const [json, re] of cases) assert.throws(() => parseModelConfig(json), (e: Error & { code?: string }) => e.code === 'model-unsupported' && re.test(e.message));
  });
});

describe('a rank-1 PEFT adapter on one layer\'s down_proj (the paper\'s single-adapter organism)', function () {
  this.timeout(120000);
  const llamaRef: LayerForward = (c, w, tokens, mask, layers) => referenceForward(c, w, tokens, mask, undefined, layers);
  for (const { label, cfg, ref } of [{ label: 'Llama', cfg: tinyConfig() }, FAMILIES[0]!, FAMILIES[3]!].map((f) => ({ ...f, ref: f.cfg.family === 'gemma3' ? gemma3ReferenceForward : llamaRef }))) {
    it(`${label}: changes exactly that layer's output (earlier layers bit-identical), as the float64 reference says`, async () => {
      const L = 1;
      const base = randomWeights(cfg, 5);
      const [out, inDim] = linearShape(cfg, 'down_proj');
      const tensors = new Map([
        [peftKey(L, 'down_proj', 'A'), { dtype: 'float32' as const, shape: [1, inDim], data: fillUniform(new Float32Array(inDim), seedFrom('A', 9), 0.5) as Float32Array }],
        [peftKey(L, 'down_proj', 'B'), { dtype: 'float32' as const, shape: [out, 1], data: fillUniform(new Float32Array(out), seedFrom('B', 9), 0.5) as Float32Array }],
      ]);
      const dir = mkdtempSync(join(tmpdir(), 'emlab-rank1-'));
      // as the paper publishes it: r 1, a large alpha, target_modules a regex naming one module, layers_to_transform
      writePeftAdapter(dir, { r: 1, loraAlpha: 64, targets: ['down_proj'], layers: [L], baseModelNameOrPath: 'tiny' }, tensors, { target_modules: `.*layers\\.${L}\\.mlp\\.down_proj` });
      const adapter = readPeftAdapter(dir, cfg);
      assert.deepEqual(adapter.modules, [{ layer: L, target: 'down_proj' }]);
      assert.equal(adapter.scale, 64);
      const m = await buildTestModel(cfg, base, 'float32', { rank: 'lora_rank', scale: adapter.scale, targets: ['down_proj'], layers: [L] }, { layerOutputs: true });
      const feed = (which: 'A' | 'B', zero: boolean) => {
        const t = adapter.tensors.get(peftKey(L, 'down_proj', which))!;
        return floatTensor('float32', zero ? new Float64Array(t.shape[0]! * t.shape[1]!) : Float64Array.from(t.data as Float32Array), t.shape);
      };
      const run = (zero: boolean) => runStep(m, [ROW0], [ROW0.map(() => 1)], undefined, { [peftKey(L, 'down_proj', 'A')]: feed('A', zero), [peftKey(L, 'down_proj', 'B')]: feed('B', zero) });
      const [b, a] = [await run(true), await run(false)];
      for (let l = 0; l < L; l++) assert.deepEqual(a.layers[l], b.layers[l], `layer ${l} must not change`);
      // layer L's change equals the reference's (merged weights W + 64·B·A), per element
      const merged = new Map(base);
      const name = `${modulePath(L, 'down_proj')}.weight`;
      merged.set(name, mergeLora(base.get(name)!, Float64Array.from(adapter.tensors.get(peftKey(L, 'down_proj', 'A'))!.data as Float32Array), Float64Array.from(adapter.tensors.get(peftKey(L, 'down_proj', 'B'))!.data as Float32Array), out, inDim, 1, 64));
      const refBase: Float64Array[][] = [], refAdapted: Float64Array[][] = [];
      ref(cfg, base, ROW0, undefined, refBase);
      ref(cfg, merged, ROW0, undefined, refAdapted);
      let worst = 0, size = 0;
      const H = cfg.hiddenSize;
      for (let t = 0; t < ROW0.length; t++) {
        for (let i = 0; i < H; i++) {
          const want = refAdapted[L]![t]![i]! - refBase[L]![t]![i]!;
          const got = a.layers[L]![t * H + i]! - b.layers[L]![t * H + i]!;
          worst = Math.max(worst, Math.abs(got - want));
          size = Math.max(size, Math.abs(want));
        }
      }
      assert.ok(size > 0.1, `the adapter must move layer ${L}'s output (max change ${size})`);
      assert.ok(worst / size <= 1e-4, `layer ${L} change vs reference: relative ${worst / size}`);
    });
  }
});

type LayerForward = (c: LlamaConfig, w: RefWeights, tokens: number[], mask?: number[], layers?: Float64Array[][]) => Float64Array[];
