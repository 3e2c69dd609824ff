import { strict as assert } from 'node:assert';
import { gradCheck, rng } from '../support/gradCheck';
import { randomWeights, tinyConfig, tinyGemma3Json, tinyQwen2Json, weightSource } from '../support/llamaFixtures';
import { parseModelConfig } from '../../src/runtime/model/modelFamilies';
import { tensor } from '../../src/runtime/onnx/ort';
import { llamaTensorShapes, LORA_TARGETS } from '../../src/runtime/model/llamaConfig';
import { buildLlamaForward } from '../../src/runtime/model/llamaGraph';
import { loraParams, loraScale, type LoraSpec } from '../../src/runtime/train/loraSpec';

// Acceptance: float64 LoRA gradients of a tiny Llama, Qwen2 and Gemma 3 (GQA 4 query / 2 KV heads, all 7 targets,
// rank 2 and rank 1, rsLoRA on and off, assistant-only loss with padding; Gemma with sliding-window layers and
// soft-capping) match central finite differences to relative L2 <= 1e-6.
const FAMILIES = [
  { name: 'Llama', cfg: tinyConfig() },
  { name: 'Qwen2', cfg: parseModelConfig(tinyQwen2Json()) },
  { name: 'Gemma 3', cfg: parseModelConfig(tinyGemma3Json({ attn_logit_softcapping: 2.5, final_logit_softcapping: 4 })) },
];
for (const { name, cfg } of FAMILIES) describe(`LoRA gradients of a tiny ${name} vs float64 finite differences`, () => {
  const w = randomWeights(cfg, 3);
  // two rows, right-padded; loss weights mark the "assistant" span only
  const B = 2, T = 6;
  const ids = [5, 17, 23, 42, 8, 0, 9, 11, 64, 3, 0, 0];
  const mask = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0];
  const targets = [17, 23, 42, 8, 0, 0, 11, 64, 3, 0, 0, 0];
  const lossWeights = [0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0];

  for (const [useRslora, rank] of [[false, 2], [true, 1]] as const) {
    it(`matches with rsLoRA ${useRslora ? 'on' : 'off'} (rank ${rank}, alpha 3)`, async () => {
      const spec: LoraSpec = { rank, alpha: 3, dropout: 0, useRslora, targets: [...LORA_TARGETS], layers: [0, 1] };
      const params = loraParams(cfg, spec);
      const r = rng(useRslora ? 11 : 12);
      const res = await gradCheck(
        params.map((p) => ({ name: p.key, dims: p.shape, data: Array.from({ length: p.shape[0] * p.shape[1] }, () => (r() * 2 - 1) * 0.3) })),
        (g, values) => {
          const byKey = new Map(params.map((p, k) => [p.key, values[k]!]));
          const fwd = buildLlamaForward(g, cfg, {
            dtype: 'float64',
            weights: weightSource(w, llamaTensorShapes(cfg)),
            kvCache: false,
            inputIds: g.input('input_ids', 'int64', [B, T]),
            attentionMask: g.input('attention_mask', 'int64', [B, T]),
            maxPositions: 16,
            lora: { rank: spec.rank, scale: loraScale(spec), targets: spec.targets, layers: spec.layers, provide: (k) => byKey.get(k)! },
          });
          const lw = g.input('loss_weights', 'float64', [B, T]);
          const lp = g.op('LogSoftmax', [fwd.logits], { axis: -1 });
          const picked = g.op('Squeeze', [g.op('GatherElements', [lp, g.op('Unsqueeze', [g.input('targets', 'int64', [B, T]), g.constInt64([-1])])], { axis: 2 }), g.constInt64([-1])]);
          return g.op('Neg', [g.op('Div', [g.op('ReduceSum', [g.op('Mul', [picked, lw])], { keepdims: 0 }), g.op('ReduceSum', [lw], { keepdims: 0 })])]);
        },
        {
          maxPerParam: 12,
          feeds: {
            input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [B, T]),
            attention_mask: tensor('int64', BigInt64Array.from(mask.map(BigInt)), [B, T]),
            targets: tensor('int64', BigInt64Array.from(targets.map(BigInt)), [B, T]),
            loss_weights: tensor('float64', Float64Array.from(lossWeights), [B, T]),
          },
        },
      );
      console.log(`      ${name}, rank ${rank}, rsLoRA ${useRslora ? 'on' : 'off'}: relative L2 vs finite differences ${res.relL2.toExponential(2)}`);
      assert.ok(Number.isFinite(res.loss) && res.loss > 0);
      assert.ok(res.relL2 <= 1e-6, `relative L2 error ${res.relL2}; per parameter ${JSON.stringify(res.perParam)}`);
    });
  }
});
