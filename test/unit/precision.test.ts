import { strict as assert } from 'node:assert';
import { GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel, toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor, type OrtSession, type OrtTensor } from '../../src/runtime/onnx/ort';
import { precisionProblem, toMixedPrecision } from '../../src/runtime/onnx/precision';
import { llamaTensorShapes, LORA_TARGETS } from '../../src/runtime/model/llamaConfig';
import { buildLlamaForward } from '../../src/runtime/model/llamaGraph';
import { buildTrainStepGraph } from '../../src/runtime/train/trainGraph';
import { ADAMW_DEFAULTS } from '../../src/runtime/train/optimizer';
import { loraParams, loraScale, type LoraSpec } from '../../src/runtime/train/loraSpec';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';

// Mixed precision on the CPU EP (float16 is emulated there, so this checks validity and numerics, not speed).
// Stated tolerances: logits max |diff| <= 0.5% of max |logit| (measured 0.07%); step-1 loss relative diff <= 0.1%
// (measured 1e-5); clipped gradient (read from Adam's first moment) relative L2 <= 0.5% (measured 0.07%); 6-step
// loss trajectories within 0.1% of each other. Run with PRECISION_VERBOSE=1 to print the measured numbers.
const cfg = tinyConfig({ hiddenSize: 64, intermediateSize: 96, headDim: 16 });
const weights = randomWeights(cfg, 21);
const source = weightSource(weights, llamaTensorShapes(cfg));
const spec: LoraSpec = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: [0, 1] };
const params = loraParams(cfg, spec);

function adapter(seed: number): Map<string, Float32Array> {
  // Non-zero B so every parameter gets a gradient on step 1 (PEFT's B = 0 would zero the gradient of A).
  return new Map(params.map((p) => [p.key, fillUniform(new Float32Array(p.shape[0] * p.shape[1]), seedFrom(p.key, seed), 0.2) as Float32Array]));
}

async function session(g: GraphBuilder): Promise<OrtSession> {
  return (await createSession(toModelBytes(g), { threads: 2 })).session;
}

const i64 = (xs: number[], dims: number[]) => tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

describe('mixed precision (fp16 frozen weights and matmuls, fp32 LoRA + optimizer) on the CPU EP', function () {
  this.timeout(120000);

  it('forward: float32 interface kept, weights stored in fp16, logits within 0.5% of the fp32 graph', async () => {
    const g = new GraphBuilder('fwd');
    const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
    const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
    const out = buildLlamaForward(g, cfg, {
      dtype: 'float32', weights: source, kvCache: false, inputIds: ids, attentionMask: mask, maxPositions: 16,
      lora: { rank: spec.rank, scale: loraScale(spec), targets: spec.targets, layers: spec.layers },
    });
    g.output(out.logits, 'logits');
    const { graph: half, report } = toMixedPrecision(g, { compute: 'float16' });
    assert.deepEqual(half.inputs.map((v) => `${v.name}:${v.dtype}`), g.inputs.map((v) => `${v.name}:${v.dtype}`));
    assert.deepEqual(half.outputs.map((v) => `${v.name}:${v.dtype}`), ['logits:float32']);
    assert.equal(half.initializers.get('model.layers.0.self_attn.q_proj.weight')?.dtype, 'float16');
    assert.equal(half.inputs.find((v) => v.name.endsWith('q_proj.lora_A.weight'))?.dtype, 'float32', 'LoRA parameters stay float32');
    assert.ok(report.weightBytesAfter < 0.55 * report.weightBytesBefore, `weights ${report.weightBytesBefore} -> ${report.weightBytesAfter} bytes`);
    assert.ok(report.halfNodes > 20 && report.float32Nodes > 0, JSON.stringify(report));

    const B = 2, T = 7;
    const feeds: Record<string, OrtTensor> = {
      input_ids: i64([3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38], [B, T]),
      attention_mask: i64(Array(B * T).fill(1), [B, T]),
    };
    for (const [k, v] of adapter(1)) feeds[k] = tensor('float32', v, params.find((p) => p.key === k)!.shape);
    const ref = (await (await session(g)).run(feeds)).logits!.data as Float32Array;
    const got = (await (await session(half)).run(feeds)).logits!.data as Float32Array;
    let worst = 0, scale = 0;
    for (let i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(ref[i]! - got[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    if (process.env.PRECISION_VERBOSE) console.log(`logits max abs diff ${worst.toExponential(2)} (max abs logit ${scale.toFixed(2)}), report ${JSON.stringify(report)}`);
    assert.ok(worst <= 0.005 * scale, `logits max |diff| ${worst} vs max |logit| ${scale}`);
    assert.ok(worst > 0, 'fp16 must actually be used (bit-identical logits mean the transform did nothing)');

    // Sharing: a second half graph that references the first one's saved fp16 weights gives identical logits.
    const dir = mkdtempSync(join(tmpdir(), 'emlab-amp-'));
    try {
      const { placements } = saveModel(half, join(dir, 'a.onnx'));
      const { graph: shared } = toMixedPrecision(g, { compute: 'float16', halfWeights: (name) => placements.get(name) });
      saveModel(shared, join(dir, 'b.onnx'));
      assert.ok(statSync(join(dir, 'b.onnx')).size <= statSync(join(dir, 'a.onnx')).size + 1024, `b.onnx (${statSync(join(dir, 'b.onnx')).size} B) references a.onnx_data (${statSync(join(dir, 'a.onnx_data')).size} B)`);
      assert.equal(existsSync(join(dir, 'b.onnx_data')), false, 'no second copy of the weights');
      const again = (await (await createSession(join(dir, 'b.onnx'), { threads: 2 })).session.run(feeds)).logits!.data as Float32Array;
      assert.deepEqual(Array.from(again), Array.from(got));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('train step (Loop + autodiff + AdamW): loss, gradients and 6-step losses match fp32; no gradient underflows', async () => {
    const g = buildTrainStepGraph({ cfg, dtype: 'float32', weights: source, lora: spec, optimizer: { ...ADAMW_DEFAULTS, maxGradNorm: 1 }, maxLength: 16 });
    const { graph: half } = toMixedPrecision(g, { compute: 'float16' });
    assert.deepEqual(half.inputs.map((v) => `${v.name}:${v.dtype}`), g.inputs.map((v) => `${v.name}:${v.dtype}`));
    assert.deepEqual(half.outputs.map((v) => `${v.name}:${v.dtype}`), g.outputs.map((v) => `${v.name}:${v.dtype}`));
    const [s32, s16] = [await session(g), await session(half)];

    const M = 2, B = 2, T = 6;
    const ids = Array.from({ length: M * B * T }, (_, i) => (i * 37 + 11) % cfg.vocabSize);
    const targets = ids.map((_, i) => ids[i + 1] ?? 0);
    const tok = {
      input_ids: i64(ids, [M, B, T]),
      attention_mask: i64(Array(M * B * T).fill(1), [M, B, T]),
      targets: i64(targets, [M, B, T]),
      loss_weights: tensor('float32', Float32Array.from(ids, (_, i) => (i % T < T - 1 ? 1 : 0)), [M, B, T]),
    };
    const state = (s: Map<string, Float32Array>) => ({ p: new Map(s), m: new Map(params.map((p) => [p.key, new Float32Array(s.get(p.key)!.length)])), v: new Map(params.map((p) => [p.key, new Float32Array(s.get(p.key)!.length)])) });
    const run = async (sess: OrtSession, st: ReturnType<typeof state>, step: number) => {
      const feeds: Record<string, OrtTensor> = { ...tok, lr: tensor('float32', Float32Array.of(2e-3), []), step: tensor('float32', Float32Array.of(step), []) };
      for (const p of params) {
        feeds[p.key] = tensor('float32', st.p.get(p.key)!, p.shape);
        feeds[`m.${p.key}`] = tensor('float32', st.m.get(p.key)!, p.shape);
        feeds[`v.${p.key}`] = tensor('float32', st.v.get(p.key)!, p.shape);
      }
      const out = await sess.run(feeds);
      for (const p of params) {
        st.p.set(p.key, out[`new.${p.key}`]!.data as Float32Array<ArrayBuffer>);
        st.m.set(p.key, out[`new.m.${p.key}`]!.data as Float32Array<ArrayBuffer>);
        st.v.set(p.key, out[`new.v.${p.key}`]!.data as Float32Array<ArrayBuffer>);
      }
      return { loss: (out.loss!.data as Float32Array)[0]!, gradNorm: (out.grad_norm!.data as Float32Array)[0]! };
    };
    const a = state(adapter(2)), b = state(adapter(2));
    const losses32: number[] = [], losses16: number[] = [];
    for (let step = 1; step <= 6; step++) {
      const r32 = await run(s32, a, step);
      const r16 = await run(s16, b, step);
      losses32.push(r32.loss);
      losses16.push(r16.loss);
      if (step === 1) {
        assert.ok(Math.abs(r16.loss - r32.loss) <= 0.001 * r32.loss, `step-1 loss ${r16.loss} vs ${r32.loss}`);
        assert.ok(Math.abs(r16.gradNorm - r32.gradNorm) <= 0.005 * r32.gradNorm, `grad norm ${r16.gradNorm} vs ${r32.gradNorm}`);
        // After step 1, m = (1-β1)·clipped gradient: compare the gradients themselves, and count underflows.
        let underflow = 0, nonzero = 0;
        const all16: number[] = [], all32: number[] = [];
        for (const p of params) {
          const m16 = b.m.get(p.key)!, m32 = a.m.get(p.key)!;
          for (let i = 0; i < m32.length; i++) {
            all16.push(m16[i]!);
            all32.push(m32[i]!);
            if (m32[i] !== 0) nonzero++;
            if (m32[i] !== 0 && m16[i] === 0) underflow++;
          }
        }
        assert.ok(nonzero > 0.9 * all32.length, 'the fp32 reference has non-zero gradients');
        if (process.env.PRECISION_VERBOSE) console.log(`grad rel L2 ${relL2(all16, all32).toExponential(2)}, grad norm ${r16.gradNorm} vs ${r32.gradNorm}`);
        assert.ok(relL2(all16, all32) <= 0.005, `gradient relative L2 ${relL2(all16, all32)}`);
        assert.equal(underflow, 0, `${underflow} gradient entries underflowed to 0 in fp16 (a loss scale would be needed)`);
      }
    }
    if (process.env.PRECISION_VERBOSE) console.log(`losses fp32 ${losses32.map((l) => l.toFixed(5)).join(" ")}\n       fp16 ${losses16.map((l) => l.toFixed(5)).join(" ")}`);
    assert.ok(losses32[5]! < losses32[0]!, `fp32 loss decreases: ${losses32.join(', ')}`);
    losses16.forEach((l, k) => assert.ok(Math.abs(l - losses32[k]!) <= 0.001 * losses32[k]!, `step ${k + 1}: fp16 ${l} vs fp32 ${losses32[k]}`));
  });

  it('bfloat16 builds (weights in bf16, float32 interface) and is refused on the CPU with the reason', () => {
    const g = buildTrainStepGraph({ cfg, dtype: 'float32', weights: source, lora: spec, optimizer: ADAMW_DEFAULTS, maxLength: 16 });
    const { graph } = toMixedPrecision(g, { compute: 'bfloat16' });
    assert.equal(graph.initializers.get('model.embed_tokens.weight')?.dtype, 'bfloat16');
    assert.deepEqual(graph.inputs.map((v) => v.dtype), g.inputs.map((v) => v.dtype));
    assert.ok(toModelBytes(graph).byteLength > 0);
    assert.match(precisionProblem('cpu', 'bfloat16') ?? '', /no bfloat16 MatMul on the CPU/);
    assert.equal(precisionProblem('cuda', 'bfloat16'), undefined);
    assert.equal(precisionProblem('cpu', 'float16'), undefined);
  });

  it('refuses a graph that is not float32, and shared external fp32 weights', () => {
    const g = new GraphBuilder('f64');
    g.output(g.op('Identity', [g.input('x', 'float64', [2])]), 'y');
    assert.throws(() => toMixedPrecision(g, { compute: 'float16' }), /must be a float32 graph/);
    const e = new GraphBuilder('ext');
    const w = e.initializer('W', 'float32', [16, 16], { external: { location: 'base.onnx_data', offset: 0, length: 1024 } });
    e.output(e.op('MatMul', [e.input('x', 'float32', [1, 16]), w]), 'y');
    assert.throws(() => toMixedPrecision(e, { compute: 'float16' }), /needs its own copy/);
  });
});
