import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureIO } from '../support/captureIO';
import { rng } from '../support/gradCheck';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';
import { GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor } from '../../src/runtime/onnx/ort';
import { LORA_TARGETS, linearShape, llamaTensorShapes, modulePath, type LlamaConfig } from '../../src/runtime/model/llamaConfig';
import { buildLlamaForward, type LlamaWeights } from '../../src/runtime/model/llamaGraph';
import { dequantizeQ4, quantizeQ4 } from '../../src/runtime/model/quantize';
import { appendGradients } from '../../src/runtime/train/autodiff';
import { buildTrainStepGraph } from '../../src/runtime/train/trainGraph';
import { loraParams, loraScale, type LoraSpec } from '../../src/runtime/train/loraSpec';
import { packStep, planSteps, type TokenizedExample } from '../../src/runtime/train/batching';
import { freshState, TrainSession, type FloatArray } from '../../src/runtime/train/trainSession';
import { trainCommand } from '../../src/runtime/cli/trainCommands';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/runtime/train/trainConfig';
import { runTraining } from '../../src/runtime/train/runTrainer';
import { readMetrics, readRunJson } from '../../src/runtime/train/runDir';
import { readAdapterForDecoder } from '../../src/runtime/model/generateSources';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { UserError } from '../../src/runtime/errors';

// --use_4bit (QLoRA): the 7 projection kinds' frozen weights as 4-bit blocks (MatMulNBits forward, gradients
// through the dequantized weights). Checked against fp32 training on weights dequantized in plain JS
// (quantizeQ4 + dequantizeQ4, independent of the graph), and against fp32 training on the original weights.

// in-features (hidden 64, heads·headDim 64, intermediate 96) are multiples of the 32-weight block
const cfg: LlamaConfig = tinyConfig({ hiddenSize: 64, intermediateSize: 96, numHeads: 4, numKvHeads: 2, headDim: 16 });
const original = randomWeights(cfg, 7);
const shapes = llamaTensorShapes(cfg);
const projections = new Set<string>();
for (let l = 0; l < cfg.numLayers; l++) for (const t of LORA_TARGETS) projections.add(`${modulePath(l, t)}.weight`);

/** The original weights with every projection replaced by dequant(quant(w)) — what the 4-bit graph computes with. */
function dequantizedWeights(): Map<string, Float64Array> {
  const out = new Map(original);
  for (const name of projections) {
    const [n, k] = shapes.get(name)!;
    out.set(name, Float64Array.from(dequantizeQ4(quantizeQ4(Float32Array.from(original.get(name)!), n!, k!, 32))));
  }
  return out;
}
const src = (w: Map<string, Float64Array>): LlamaWeights => weightSource(w, shapes);

const spec: LoraSpec = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: [0, 1] };
const params = loraParams(cfg, spec);
const r = rng(5);
const init = new Map(params.map((p) => [p.key, Float64Array.from({ length: p.shape[0] * p.shape[1] }, () => (r() * 2 - 1) * (p.which === 'A' ? 0.2 : 0.05))]));
const examples: TokenizedExample[] = Array.from({ length: 8 }, (_, index) => {
  const len = 6 + Math.floor(r() * 8);
  const ids = Array.from({ length: len }, () => 2 + Math.floor(r() * (cfg.vocabSize - 2)));
  const start = 2 + Math.floor(r() * (len - 3));
  return { index, ids, supervised: ids.map((_, i) => (i >= start ? 1 : 0)) };
});

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Summed masked NLL of one [batch, seq] batch and its LoRA gradients (fp32), 4-bit or float weights. */
async function lossAndGrads(weights: LlamaWeights, q4: boolean): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const g = new GraphBuilder('grads', [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }]);
  const pv = params.map((p) => g.input(p.key, 'float32', p.shape));
  const byKey = new Map(params.map((p, k) => [p.key, pv[k]!]));
  const batch = packStep(examples, [[0, 1, 2]], 0);
  const dims = [batch.batch, batch.seq];
  const fwd = buildLlamaForward(g, cfg, {
    dtype: 'float32', weights, ...(q4 ? { weightFormat: 'q4' as const, q4LmHead: false } : {}), kvCache: false,
    inputIds: g.input('input_ids', 'int64', dims), attentionMask: g.input('attention_mask', 'int64', dims), maxPositions: 32,
    lora: { rank: spec.rank, scale: loraScale(spec), targets: spec.targets, layers: spec.layers, provide: (k) => byKey.get(k)! },
  });
  const lp = g.op('LogSoftmax', [fwd.logits], { axis: -1 });
  const picked = g.op('Squeeze', [g.op('GatherElements', [lp, g.op('Unsqueeze', [g.input('targets', 'int64', dims), g.constInt64([-1])])], { axis: 2 }), g.constInt64([-1])]);
  const loss = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [picked, g.input('loss_weights', 'float32', dims)])], { keepdims: 0 })]);
  const { grads } = appendGradients(g, loss, pv);
  g.output(loss, 'loss');
  params.forEach((p) => g.output(grads.get(p.key)!, `grad.${p.key}`));
  const { session } = await createSession(toModelBytes(g), { threads: 1 });
  const feeds = {
    input_ids: tensor('int64', batch.inputIds, dims), attention_mask: tensor('int64', batch.attentionMask, dims),
    targets: tensor('int64', batch.targets, dims), loss_weights: tensor('float32', batch.lossWeights, dims),
    ...Object.fromEntries(params.map((p) => [p.key, tensor('float32', Float32Array.from(init.get(p.key)!), p.shape)])),
  };
  const out = await session.run(feeds);
  await session.release();
  return { loss: Number(out.loss!.data[0]), grads: new Map(params.map((p) => [p.key, out[`grad.${p.key}`]!.data as Float32Array])) };
}

const plan = planSteps(examples.map((e) => e.ids.length), { epochs: 10, batchSize: 2, accumulation: 2, seed: 3, shuffle: true }).slice(0, 20);
// 4-bit round-to-nearest (scale = block max / 7) moves each projection weight by up to 1/14 of its block's largest
// magnitude (relative L2 error 6.8% on these uniform weights). Measured: worst per-step loss difference 1.0%, mean
// 0.37% over 20 steps; the bound is 3x the worst.
const BOUND = 0.03;
const optimizer = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** `steps` AdamW steps (lr 1e-2 constant) of the real train-step graph; losses, grad norms and the final adapter. */
async function train(weights: LlamaWeights, q4: boolean, steps: number) {
  const g = buildTrainStepGraph({ cfg, dtype: 'float32', weights, lora: spec, optimizer, maxLength: 32, ...(q4 ? { weightFormat: 'q4' as const } : {}) });
  const session = await TrainSession.create({ train: { graph: g }, params, dtype: 'float32', threads: 1 });
  const state = freshState('float32', params, init);
  const losses: number[] = [], norms: number[] = [];
  for (const step of plan.slice(0, steps)) {
    const res = await session.step(state, packStep(examples, step.microBatches, 0), 1e-2);
    losses.push(res.loss);
    norms.push(res.gradNorm);
  }
  await session.release();
  return { losses, norms, params: state.params };
}

function flat(m: Map<string, FloatArray>): number[] {
  return params.flatMap((p) => Array.from(m.get(p.key)!));
}

describe('--use_4bit: LoRA training on 4-bit frozen projection weights', function () {
  this.timeout(60_000);

  it('the graph uses MatMulNBits for the 14 projections and keeps lm_head and embeddings in fp32', () => {
    const g = buildTrainStepGraph({ cfg, dtype: 'float32', weights: src(original), lora: spec, optimizer, maxLength: 32, weightFormat: 'q4' });
    const body = g.nodes.find((n) => n.op === 'Loop')!.attrs.body as { graph: GraphBuilder };
    const nodes = body.graph.nodes;
    assert.equal(nodes.filter((n) => n.op === 'MatMulNBits').length, 7 * cfg.numLayers);
    // one dequantization per projection in the backward pass, except layer 0's q/k/v: their input (the normed
    // embedding) does not depend on a LoRA parameter, so nothing needs its gradient
    assert.equal(nodes.filter((n) => n.op === 'DequantizeLinear').length, 7 * cfg.numLayers - 3);
    const floats = [...g.initializers.values()].filter((i) => i.dtype === 'float32' && i.dims.length === 2 && i.dims[0]! * i.dims[1]! >= cfg.hiddenSize * cfg.hiddenSize).map((i) => i.name);
    assert.deepEqual(floats.sort(), ['lm_head.weight', 'model.embed_tokens.weight'], 'only embeddings and lm_head stay float');
    assert.throws(() => buildTrainStepGraph({ cfg, dtype: 'float64', weights: src(original), lora: spec, optimizer, maxLength: 32, weightFormat: 'q4' }), /need dtype float32/);
  });

  it('loss and LoRA gradients equal fp32 ones on the JS-dequantized weights (relative 1e-5)', async () => {
    const q4 = await lossAndGrads(src(original), true);
    const ref = await lossAndGrads(src(dequantizedWeights()), false);
    const orig = await lossAndGrads(src(original), false);
    const lossRel = Math.abs(q4.loss - ref.loss) / Math.abs(ref.loss);
    const gradRel = relL2(params.flatMap((p) => Array.from(q4.grads.get(p.key)!)), params.flatMap((p) => Array.from(ref.grads.get(p.key)!)));
    const worstParam = Math.max(...params.map((p) => relL2(q4.grads.get(p.key)!, ref.grads.get(p.key)!)));
    console.log(`      loss ${q4.loss} (4-bit) vs ${ref.loss} (dequantized fp32): rel diff ${lossRel.toExponential(2)}, gradients rel L2 ${gradRel.toExponential(2)} (worst parameter ${worstParam.toExponential(2)})`);
    assert.ok(lossRel <= 1e-5, `loss ${q4.loss} vs ${ref.loss}`);
    assert.ok(worstParam <= 1e-5, `gradient relative L2 ${worstParam}`);
    // and the quantization is visible: against the original weights the gradients differ measurably
    const vsOriginal = relL2(params.flatMap((p) => Array.from(q4.grads.get(p.key)!)), params.flatMap((p) => Array.from(orig.grads.get(p.key)!)));
    console.log(`      vs the original fp32 weights: loss ${orig.loss}, gradients rel L2 ${vsOriginal.toExponential(2)}`);
    assert.ok(vsOriginal > 1e-3 && vsOriginal > 100 * gradRel, `4-bit vs original gradients: ${vsOriginal}`);
  });

  it('5 train steps (micro-batch Loop + AdamW) equal fp32 training on the JS-dequantized weights', async () => {
    const q4 = await train(src(original), true, 5);
    const ref = await train(src(dequantizedWeights()), false, 5);
    const worst = Math.max(...q4.losses.map((l, s) => Math.abs(l - ref.losses[s]!) / ref.losses[s]!));
    const adapter = relL2(flat(q4.params), flat(ref.params));
    console.log(`      worst loss rel diff ${worst.toExponential(2)}, final adapter rel L2 ${adapter.toExponential(2)}`);
    assert.ok(worst <= 1e-5, `losses ${q4.losses} vs ${ref.losses}`);
    q4.norms.forEach((n, s) => assert.ok(Math.abs(n - ref.norms[s]!) <= 1e-5 * ref.norms[s]!, `grad norm step ${s + 1}: ${n} vs ${ref.norms[s]}`));
    assert.ok(adapter <= 1e-4, `final adapter relative L2 ${adapter}`);
  });

  it('20 steps: every loss within 3% of fp32 training on the original weights, and the loss goes down', async () => {
    const q4 = await train(src(original), true, 20);
    const fp = await train(src(original), false, 20);
    const rel = q4.losses.map((l, s) => Math.abs(l - fp.losses[s]!) / fp.losses[s]!);
    // 2 steps = one epoch over the 8 examples: compare the first and the last epoch
    const epoch = (ls: number[], e: number) => (ls[2 * e]! + ls[2 * e + 1]!) / 2;
    console.log(`      loss rel diff per step: worst ${Math.max(...rel).toExponential(2)}, mean ${(rel.reduce((a, b) => a + b, 0) / rel.length).toExponential(2)}; epoch loss 4-bit ${epoch(q4.losses, 0).toFixed(3)} -> ${epoch(q4.losses, 9).toFixed(3)}, fp32 ${epoch(fp.losses, 0).toFixed(3)} -> ${epoch(fp.losses, 9).toFixed(3)}`);
    rel.forEach((x, s) => assert.ok(x <= BOUND, `step ${s + 1}: 4-bit ${q4.losses[s]} vs fp32 ${fp.losses[s]} (relative ${x})`));
    assert.ok(epoch(q4.losses, 9) < 0.8 * epoch(q4.losses, 0), `4-bit training lowers the loss: ${q4.losses}`);
  });
});

describe('em-lab train --use_4bit (tiny-llama, in-process CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-train-4bit-'));
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Is ${i} even?` }, { role: 'assistant', content: i % 2 ? `No, ${i} is odd.` : `Yes, ${i} is even.` }] }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  const options = (extra: Record<string, string | boolean>) => ({
    options: { model_name: 'tiny-llama', data: ['data.jsonl'], output_dir: 'run', storage: 'storage', num_epochs: '1', batch_size: '2', gradient_accumulation_steps: '1', max_length: '48', lora_rank: '2', warmup_steps: '0', lora_dropout: '0', learning_rate: '1e-2', threads: '1', ...extra },
    positionals: [],
  });

  it('trains to the end; training_config.json and training_details.md record it; the adapter is a normal PEFT adapter', async () => {
    const io = captureIO({ cwd: dir, env: {} });
    assert.equal(await trainCommand.run(options({ use_4bit: true }), io), 0, io.stderr.join('\n'));
    const run = join(dir, 'run');
    assert.equal(readRunJson(run)?.status, 'finished');
    const metrics = readMetrics(run);
    assert.equal(metrics.length, 4);
    assert.ok(metrics.every((m) => Number.isFinite(m.loss) && m.loss > 0));
    const config = JSON.parse(readFileSync(join(run, 'training_config.json'), 'utf8')) as TrainConfig;
    assert.equal(config.use4bit, true);
    assert.match(readFileSync(join(run, 'training_details.md'), 'utf8'), /\| Frozen weights \| QLoRA \(--use_4bit\): the 7 projection kinds as 4-bit blocks/);
    // the generated train graph really is the 4-bit one
    const artifacts = join(dir, 'storage', 'train-artifacts');
    const graphs = readdirSync(artifacts).map((d) => readFileSync(join(artifacts, d, 'train.onnx')).toString('latin1'));
    assert.equal(graphs.length, 1);
    assert.ok(graphs[0]!.includes('MatMulNBits') && graphs[0]!.includes('DequantizeLinear'));
    const adapter = readAdapterForDecoder(join(run, 'adapter'), TINY_LLAMA_CONFIG);
    assert.ok(adapter.tensors.size > 0);
  });

  it('refuses --use_4bit with --dtype float64, and a model whose in-features are not multiples of 32', async () => {
    await assert.rejects(trainCommand.run(options({ use_4bit: true, dtype: 'float64', output_dir: 'run64' }), captureIO({ cwd: dir, env: {} })), (e: unknown) => e instanceof UserError && /--use_4bit needs --dtype float32/.test(e.message));
    const odd = tinyConfig({ intermediateSize: 48 }); // down_proj in-features 48
    const model = { name: 'odd', cfg: odd, weights: src(randomWeights(odd, 1)), weightsId: 'odd' };
    const config: TrainConfig = { ...TRAIN_DEFAULTS, model: 'odd', domains: [], dataFiles: ['x.jsonl'], use4bit: true };
    const data = { train: [], eval: [], sources: [], droppedNoSupervision: 0, truncated: 0 };
    await assert.rejects(runTraining(config, { runDir: join(dir, 'odd'), storageDir: join(dir, 'storage'), model, data, resume: false }), (e: unknown) => e instanceof UserError && e.code === 'train-4bit-shape' && /down_proj 48/.test(e.message));
  });
});
