// Steering, ablation and residual capture in the exported decoder (residualHooks.ts) against the independent
// float64 reference (llamaReference.ts with a residual hook written here in plain loops).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, type ResidualIntervention } from '../../src/runtime/model/decoder';
import { buildDecoderGraph, ensureDecoderExport } from '../../src/runtime/model/decoderExport';
import { logSoftmax } from '../../src/runtime/model/logprobs';
import { createSession, tensor, type OrtTensor } from '../../src/runtime/onnx/ort';
import { toModelBytes } from '../../src/runtime/onnx/serialize';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { writeDirectionFile } from '../../src/runtime/direction/directionFile';
import { resolveSteering } from '../../src/runtime/direction/steering';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import { referenceForward, type ResidualHook } from '../support/llamaReference';
import { randomWeights, tinyConfig, weightSource } from '../support/llamaFixtures';
import { writeTestModelFolder } from '../support/llamaFolder';
import { captureIO } from '../support/captureIO';
import { logprobsCommand } from '../../src/runtime/cli/generateCommands';
import { directionHandlers } from '../../src/runtime/direction/handlers';

const cfg = tinyConfig({ numLayers: 3, tieWordEmbeddings: true });
const H = cfg.hiddenSize;
const TOKENS = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38];
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

function randomVector(seed: number, n = H): Float64Array {
  return fillUniform(new Float64Array(n), seedFrom('direction', seed), 1) as Float64Array;
}
const unit = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Float64Array.from(v as ArrayLike<number>, (x) => x / Math.sqrt(s));
};

/** The hook in float64 loops: add alpha·u_s after layer L (every position), then project u_a out at every point. */
function referenceHook(steer?: { layer: number; vector: Float64Array }, ablate?: Float64Array): ResidualHook {
  return (hs, point) =>
    hs.map((h) => {
      const x = Float64Array.from(h);
      if (steer && point === steer.layer + 1) for (let i = 0; i < H; i++) x[i] += steer.vector[i]!;
      if (ablate) {
        let dot = 0;
        for (let i = 0; i < H; i++) dot += x[i]! * ablate[i]!;
        for (let i = 0; i < H; i++) x[i] -= dot * ablate[i]!;
      }
      return x;
    });
}

function maxLogprobDiff(got: Float32Array, ref: Float64Array[], positions: number[], offset = 0): number {
  const V = cfg.vocabSize;
  let worst = 0;
  for (const t of positions) {
    const a = logSoftmax(got.subarray((t - offset) * V, (t - offset + 1) * V));
    const b = logSoftmax(ref[t]!);
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(a[v]! - b[v]!));
  }
  return worst;
}

describe('steering and ablation in the exported decoder graph', function () {
  this.timeout(120000);
  let dir: string;
  let dec: Decoder;
  const w = randomWeights(cfg, 31);
  const all = TOKENS.map((_, i) => i);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-steer-'));
    writeTestModelFolder(dir, cfg, w);
    ensureDecoderExport(dir, { maxPositions: 64 });
    dec = await Decoder.open(dir);
  });
  after(async () => {
    await dec?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const prefill = (tokens: number[], extras: Parameters<Decoder['forward']>[2] = {}) =>
    dec.forward({ inputIds: ids(tokens), batch: 1, seq: tokens.length, attentionMask: ids(tokens.map(() => 1)), positionIds: ids(tokens.map((_, i) => i)) }, undefined, extras);

  it('steering from a direction file: logprobs within 1e-4 of the float64 reference (prefill and cached decode)', async () => {
    const file = join(dir, 'random-direction.safetensors');
    const layers = new Map([0, 1, 2].map((l) => [l, Float32Array.from(randomVector(l + 1))]));
    writeDirectionFile(file, layers, { model: 'random' });
    for (const [layer, alpha] of [[0, 6.5], [1, -3], [2, 10]] as const) {
      const iv = resolveSteering({ steer: { file, layer, alpha } }, cfg);
      const u = unit(layers.get(layer)!);
      const ref = referenceForward(cfg, w, TOKENS, undefined, undefined, undefined, referenceHook({ layer, vector: u.map((x) => x * alpha) }));
      const plain = referenceForward(cfg, w, TOKENS);
      // prefill of 6 tokens, then one cached step per token: the new tokens are steered too
      let out = await prefill(TOKENS.slice(0, 6), { intervention: iv });
      let worst = maxLogprobDiff(out.logits, ref, [0, 1, 2, 3, 4, 5]);
      for (let t = 6; t < TOKENS.length; t++) {
        out = await dec.forward({ inputIds: ids([TOKENS[t]!]), batch: 1, seq: 1, attentionMask: ids(Array(t + 1).fill(1)), positionIds: ids([t]), past: out.presents }, undefined, { intervention: iv });
        worst = Math.max(worst, maxLogprobDiff(out.logits, ref, [t], t));
      }
      assert.ok(worst <= 1e-4, `steer layer ${layer} alpha ${alpha}: max |Δ logprob| ${worst}`);
      const moved = maxLogprobDiff(Float32Array.from(ref.flatMap((r) => [...r])), plain, all);
      assert.ok(moved > 0.05, `steering must change the logprobs (moved ${moved})`);
    }
  });

  it('ablation (after the embeddings and every layer) and ablation + steering match the reference', async () => {
    const file = join(dir, 'random-direction.safetensors');
    const d = unit(Float32Array.from(randomVector(2)));
    for (const ref0 of [{ ablate: { file, layer: 1 } }, { ablate: { file, layer: 1 }, steer: { file, layer: 0, alpha: 4 } }]) {
      const iv = resolveSteering(ref0, cfg);
      const steer = ref0.steer ? { layer: 0, vector: unit(Float32Array.from(randomVector(1))).map((x) => x * 4) } : undefined;
      const ref = referenceForward(cfg, w, TOKENS, undefined, undefined, undefined, referenceHook(steer, d));
      const out = await prefill(TOKENS, { intervention: iv });
      const worst = maxLogprobDiff(out.logits, ref, all);
      assert.ok(worst <= 1e-4, `${JSON.stringify(Object.keys(ref0))}: max |Δ logprob| ${worst}`);
    }
  });

  it('alpha 0 and no intervention give bit-for-bit the logits of the same graph built without the hook', async () => {
    const none = await prefill(TOKENS);
    const zero = await prefill(TOKENS, { intervention: { steer: { layer: 1, vector: new Float32Array(H) } } });
    assert.deepEqual(Buffer.from(zero.logits.buffer), Buffer.from(none.logits.buffer));
    // the LoRA graph without residualHooks, in memory, same weights (float32 as the folder stores them)
    const w32 = new Map([...w].map(([k, v]) => [k, Float64Array.from(Float32Array.from(v))]));
    const g = buildDecoderGraph(cfg, weightSource(w32, llamaTensorShapes(cfg)), 'float32', 64, true);
    const { session } = await createSession(toModelBytes(g));
    const feeds: Record<string, OrtTensor> = {
      input_ids: tensor('int64', ids(TOKENS), [1, TOKENS.length]),
      attention_mask: tensor('int64', ids(TOKENS.map(() => 1)), [1, TOKENS.length]),
      position_ids: tensor('int64', ids(all), [1, TOKENS.length]),
      num_logits_to_keep: tensor('int64', BigInt64Array.of(0n), []),
    };
    for (const input of session.inputNames) {
      if (feeds[input]) continue;
      if (input.startsWith('past_key_values')) feeds[input] = tensor('float32', new Float32Array(0), [1, cfg.numKvHeads, 0, cfg.headDim]);
      else {
        const isA = input.endsWith('lora_A.weight');
        const m = /layers\.(\d+)\.(self_attn|mlp)\.(\w+)\./.exec(input)!;
        const shape = (await import('../../src/runtime/model/llamaConfig')).linearShape(cfg, m[3] as never);
        feeds[input] = isA ? tensor('float32', new Float32Array(shape[1]), [1, shape[1]]) : tensor('float32', new Float32Array(shape[0]), [shape[0], 1]);
      }
    }
    const plain = (await session.run(feeds)).logits!.data as Float32Array;
    await session.release();
    assert.deepEqual(Buffer.from(none.logits.buffer), Buffer.from(plain.buffer), 'zero steering feeds must leave every logit bit-identical');
  });

  it('per-sequence steering in a batch does not leak between rows (left padding, cached decode)', async () => {
    const file = join(dir, 'random-direction.safetensors');
    const rows: { tokens: number[]; iv?: ResidualIntervention }[] = [
      { tokens: TOKENS.slice(0, 7), iv: resolveSteering({ steer: { file, layer: 1, alpha: 8 } }, cfg) },
      { tokens: TOKENS.slice(2, 6) },
      { tokens: TOKENS.slice(1, 8), iv: resolveSteering({ ablate: { file, layer: 2 }, steer: { file, layer: 0, alpha: -5 } }, cfg) },
    ];
    const width = Math.max(...rows.map((r) => r.tokens.length));
    const inputIds: number[] = [], mask: number[] = [], pos: number[] = [];
    for (const r of rows) {
      const pad = width - r.tokens.length;
      inputIds.push(...Array(pad).fill(0), ...r.tokens);
      mask.push(...Array(pad).fill(0), ...r.tokens.map(() => 1));
      pos.push(...Array(pad).fill(1), ...r.tokens.map((_, i) => i));
    }
    const batched = await dec.forward({ inputIds: ids(inputIds), batch: 3, seq: width, attentionMask: ids(mask), positionIds: ids(pos), logitsToKeep: 1 }, undefined, { intervention: rows.map((r) => r.iv) });
    // one decode step for all rows with token 5
    const mask2 = [];
    for (let b = 0; b < 3; b++) mask2.push(...mask.slice(b * width, (b + 1) * width), 1);
    const step = await dec.forward({ inputIds: ids([5, 5, 5]), batch: 3, seq: 1, attentionMask: ids(mask2), positionIds: ids(rows.map((r) => r.tokens.length)), past: batched.presents }, undefined, { intervention: rows.map((r) => r.iv) });
    const V = cfg.vocabSize;
    for (const [b, r] of rows.entries()) {
      const single = await dec.forward({ inputIds: ids([...r.tokens, 5]), batch: 1, seq: r.tokens.length + 1, attentionMask: ids([...r.tokens, 5].map(() => 1)), positionIds: ids([...r.tokens, 5].map((_, i) => i)) }, undefined, r.iv ? { intervention: r.iv } : {});
      const n = r.tokens.length;
      let worst = 0;
      for (let v = 0; v < V; v++) {
        worst = Math.max(worst, Math.abs(batched.logits[b * V + v]! - single.logits[(n - 1) * V + v]!), Math.abs(step.logits[b * V + v]! - single.logits[n * V + v]!));
      }
      assert.ok(worst <= 2e-5, `row ${b}: batched vs alone max |diff| ${worst}`);
    }
  });

  it('the probe graph sums the residual after each layer over the masked positions (float64 reference)', async () => {
    const probe = await Decoder.open(dir, { graph: 'probe' });
    try {
      const layerOutputs: Float64Array[][] = [];
      referenceForward(cfg, w, TOKENS, undefined, undefined, layerOutputs);
      const maskW = TOKENS.map((_, i) => (i >= 4 ? 1 : 0));
      const out = await probe.forward({ inputIds: ids(TOKENS), batch: 1, seq: TOKENS.length, attentionMask: ids(TOKENS.map(() => 1)), positionIds: ids(all), logitsToKeep: 1 }, undefined, { captureMask: Float32Array.from(maskW) });
      assert.equal(out.residualSums!.length, cfg.numLayers * H);
      let worst = 0, scale = 0;
      for (let l = 0; l < cfg.numLayers; l++) {
        for (let i = 0; i < H; i++) {
          let s = 0;
          for (let t = 0; t < TOKENS.length; t++) s += maskW[t]! * layerOutputs[l]![t]![i]!;
          worst = Math.max(worst, Math.abs(out.residualSums![l * H + i]! - s));
          scale = Math.max(scale, Math.abs(s));
        }
      }
      assert.ok(worst <= 1e-4 * scale, `max |diff| ${worst} (largest sum ${scale})`);
    } finally {
      await probe.dispose();
    }
  });
});

describe('--steer / --ablate on the CLI (tiny-llama)', function () {
  this.timeout(120000);
  let storage: string;
  before(() => {
    storage = mkdtempSync(join(tmpdir(), 'emlab-steercli-'));
    writeDirectionFile(join(storage, 'd.safetensors'), new Map([0, 1].map((l) => [l, Float32Array.from(fillUniform(new Float64Array(64), seedFrom('cli', l), 1))])), { model: 'tiny-llama' });
  });
  after(() => rmSync(storage, { recursive: true, force: true }));

  const logprobs = async (extra: Record<string, string>) => {
    const io = captureIO({ cwd: storage, json: true });
    const code = await logprobsCommand.run({ options: { model: 'tiny-llama', storage, text: 'The capital of France is Paris.', ...extra }, positionals: [] }, io);
    assert.equal(code, 0, io.stderr.join('\n'));
    return io.events[0] as { tokens: { logprob: number | null }[]; model: { steering?: string } };
  };

  it('alpha 0 gives the unsteered logprobs exactly; steering and ablation change them and say so in the label', async () => {
    const plain = await logprobs({});
    const zero = await logprobs({ steer: 'd.safetensors', steer_layer: '1', steer_alpha: '0' });
    assert.deepEqual(zero.tokens.map((t) => t.logprob), plain.tokens.map((t) => t.logprob));
    const steered = await logprobs({ steer: 'd.safetensors', steer_layer: '1', steer_alpha: '12' });
    const ablated = await logprobs({ ablate: 'd.safetensors', ablate_layer: '0' });
    assert.notDeepEqual(steered.tokens.map((t) => t.logprob), plain.tokens.map((t) => t.logprob));
    assert.notDeepEqual(ablated.tokens.map((t) => t.logprob), plain.tokens.map((t) => t.logprob));
    assert.equal(steered.model.steering, 'steer +12 × d.safetensors@L1');
    assert.equal(ablated.model.steering, 'ablate d.safetensors@L0');
  });

  it('direction/info lists the layers with |d| (the chat control scales its slider by it)', async () => {
    const info = await directionHandlers['direction/info']({ file: join(storage, 'd.safetensors') });
    const hand = [0, 1].map((l) => Math.hypot(...Float32Array.from(fillUniform(new Float64Array(64), seedFrom('cli', l), 1))));
    assert.deepEqual(info.layers.map((x) => x.layer), [0, 1]);
    info.layers.forEach((x, i) => assert.ok(Math.abs(x.norm - hand[i]!) < 1e-9, `${x.norm} vs ${hand[i]}`));
    assert.equal(info.metadata.model, 'tiny-llama');
    await assert.rejects(directionHandlers['direction/info']({ file: 'relative.safetensors' }), /must be an absolute path/);
  });

  it('refuses a missing layer, a file of another model and a layer flag without its file, naming the fix', async () => {
    writeDirectionFile(join(storage, 'big.safetensors'), new Map([[0, new Float32Array(128).fill(1)]]), { model: 'some-1b' });
    const run = (extra: Record<string, string>) => logprobsCommand.run({ options: { model: 'tiny-llama', storage, text: 'Hi', ...extra }, positionals: [] }, captureIO({ cwd: storage }));
    await assert.rejects(run({ steer: 'd.safetensors' }), /--steer_layer is needed: .* has directions for layers 0, 1/);
    // checked against the model once it is known (resolveSteering, called by every load)
    const tiny = { hiddenSize: 64, numLayers: 2 };
    assert.throws(() => resolveSteering({ steer: { file: join(storage, 'd.safetensors'), layer: 5, alpha: 1 } }, tiny), /--steer_layer 5: this model has decoder layers 0\.\.1/);
    assert.throws(() => resolveSteering({ ablate: { file: join(storage, 'big.safetensors'), layer: 0 } }, tiny), /128 values but this model's hidden size is 64 \(the file was computed on some-1b\)/);
    writeDirectionFile(join(storage, 'zero.safetensors'), new Map([[0, new Float32Array(64)]]), {});
    assert.throws(() => resolveSteering({ ablate: { file: join(storage, 'zero.safetensors'), layer: 0 } }, tiny), /is the zero vector/);
    await assert.rejects(run({ steer_layer: '1' }), /--steer_layer needs --steer FILE/);
    await assert.rejects(run({ steer: 'nope.safetensors' }), /no such direction file/);
  });
});
