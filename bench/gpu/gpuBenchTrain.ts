// EM Lab's side of the GPU benchmark: build the LoRA train step (float32 graph -> mixed precision), save it with
// external weights, export what the PEFT phase needs (config, weight index, initial adapter, token batches), run
// warm-up + measured steps on the chosen device, and write a JSON result. Also the decode measurement.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { saveModel } from '../../src/runtime/onnx/serialize';
import { precisionProblem, toMixedPrecision, type HalfDType } from '../../src/runtime/onnx/precision';
import type { ExternalRef } from '../../src/runtime/onnx/graphBuilder';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import { buildTrainStepGraph } from '../../src/runtime/train/trainGraph';
import { ADAMW_DEFAULTS } from '../../src/runtime/train/optimizer';
import { initLoraValues, loraParams } from '../../src/runtime/train/loraSpec';
import { freshState, TrainSession } from '../../src/runtime/train/trainSession';
import { makeRng, type StepTensors } from '../../src/runtime/train/batching';
import { writeSafetensors } from '../../src/runtime/model/safetensors';
import type { Device } from '../../src/runtime/onnx/ort';
import { benchLora, randomWeights, shapeConfig, tokenBatches, trainFlopsPerToken, type ShapeName } from './gpuBenchShape';

export interface TrainBenchOptions {
  shape: ShapeName;
  device: Device;
  precision: 'fp32' | HalfDType;
  rank: number;
  seq: number;
  batch: number;
  /** Measured steps (their losses are compared with PEFT's). */
  steps: number;
  /** Extra steps run first and not timed (session warm-up); they use their own batches. */
  warmup: number;
  lr: number;
  workDir: string;
  log: (line: string) => void;
}

export interface TrainBenchResult {
  phase: 'emlab-train';
  shape: ShapeName;
  device: string;
  fallbackReason?: string;
  precision: string;
  buildSeconds: number;
  sessionSeconds: number;
  stepSeconds: number[];
  losses: number[];
  gradNorms: number[];
  tokensPerSecond: number;
  flopsPerToken: number;
  achievedTflops: number;
}

function stepTensors(tokens: Int32Array, step: number, batch: number, seq: number): StepTensors {
  const n = batch * seq;
  const ids = tokens.subarray(step * n, (step + 1) * n);
  const inputIds = BigInt64Array.from(ids, (x) => BigInt(x));
  // HF's causal-LM loss: position t predicts token t+1; the last position of each row has no target.
  const targets = new BigInt64Array(n);
  const lossWeights = new Float32Array(n);
  for (let r = 0; r < batch; r++) {
    for (let t = 0; t < seq - 1; t++) {
      targets[r * seq + t] = BigInt(ids[r * seq + t + 1]!);
      lossWeights[r * seq + t] = 1;
    }
  }
  return { micro: 1, batch, seq, inputIds, attentionMask: new BigInt64Array(n).fill(1n), targets, lossWeights, supervisedTokens: batch * (seq - 1), tokens: n };
}

/** The exported files (and the saved graph) the train phase and the PEFT phase share. */
export interface TrainExport {
  modelPath: string;
  buildSeconds: number;
}

/**
 * Builds and saves the train step and writes what PEFT reads: config, weight index, initial adapter, tokens.
 * Runs without a GPU, so the PEFT phase has its inputs even when no CUDA EP loads.
 */
export function exportTrainBench(o: Omit<TrainBenchOptions, 'device'>): TrainExport {
  const { json, cfg } = shapeConfig(o.shape);
  const spec = benchLora(cfg, o.rank);
  const params = loraParams(cfg, spec);
  mkdirSync(o.workDir, { recursive: true });

  // Files the PEFT phase reads: same config, same initial adapter (PEFT init: A uniform, B = 0), same tokens.
  writeFileSync(join(o.workDir, 'config.json'), JSON.stringify({ ...json, torch_dtype: 'float16' }, null, 1));
  const init = initLoraValues(params, makeRng(7).next);
  writeSafetensors(join(o.workDir, 'adapter_init.safetensors'), params.map((p) => ({ name: p.key, dtype: 'F32' as const, shape: p.shape, data: Float32Array.from(init.get(p.key)!) })));
  const tokens = tokenBatches(cfg, o.warmup + o.steps, o.batch, o.seq);
  writeFileSync(join(o.workDir, 'tokens.bin'), Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength));
  writeFileSync(join(o.workDir, 'bench-config.json'), JSON.stringify({ rank: o.rank, alpha: spec.alpha, seq: o.seq, batch: o.batch, steps: o.steps, warmup: o.warmup, lr: o.lr, maxGradNorm: 1, precision: o.precision }, null, 1));

  const t0 = performance.now();
  const fp32 = buildTrainStepGraph({ cfg, dtype: 'float32', weights: randomWeights(cfg, llamaTensorShapes(cfg)), lora: spec, optimizer: { ...ADAMW_DEFAULTS, weightDecay: 0, maxGradNorm: 1 }, maxLength: o.seq });
  const graph = o.precision === 'fp32' ? fp32 : toMixedPrecision(fp32, { compute: o.precision }).graph;
  const modelPath = join(o.workDir, 'train.onnx');
  const { placements } = saveModel(graph, modelPath);
  // The weight index lets PEFT load the very same (already rounded) base weights from train.onnx_data.
  // Tensors small enough to sit inline in the model (norm weights of tiny shapes) go to small-weights.bin.
  const index: Record<string, ExternalRef & { shape: number[]; dtype: string }> = {};
  const small: Buffer[] = [];
  let smallOffset = 0;
  for (const [name, shape] of llamaTensorShapes(cfg)) {
    const init = graph.initializers.get(name);
    if (!init) continue; // lm_head of a tied model
    const ref = placements.get(name);
    if (ref) index[name] = { ...ref, shape, dtype: init.dtype };
    else if (ArrayBuffer.isView(init.data) || typeof init.data === 'function') {
      const view = typeof init.data === 'function' ? init.data() : init.data;
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      index[name] = { location: 'small-weights.bin', offset: smallOffset, length: bytes.length, shape, dtype: init.dtype };
      small.push(bytes);
      smallOffset += bytes.length;
    }
  }
  writeFileSync(join(o.workDir, 'small-weights.bin'), Buffer.concat(small));
  writeFileSync(join(o.workDir, 'weights-index.json'), JSON.stringify(index));
  writeFileSync(join(o.workDir, 'placements.json'), JSON.stringify(Object.fromEntries(placements)));
  const buildSeconds = (performance.now() - t0) / 1000;
  o.log(`built and saved the ${o.precision} train step in ${buildSeconds.toFixed(1)} s`);
  writeFileSync(join(o.workDir, 'export.json'), JSON.stringify({ buildSeconds }));
  return { modelPath, buildSeconds };
}

export async function runTrainBench(o: TrainBenchOptions): Promise<TrainBenchResult> {
  const problem = o.precision === 'fp32' ? undefined : precisionProblem(o.device, o.precision);
  if (problem) throw new Error(problem);
  const { cfg } = shapeConfig(o.shape);
  const spec = benchLora(cfg, o.rank);
  const params = loraParams(cfg, spec);
  // Reuse an export of the same configuration (gpu.sh exports first so PEFT can run whatever happens here).
  const same = (() => {
    try {
      const b = JSON.parse(readFileSync(join(o.workDir, 'bench-config.json'), 'utf8')) as Record<string, unknown>;
      return existsSync(join(o.workDir, 'export.json')) && b.rank === o.rank && b.seq === o.seq && b.batch === o.batch && b.steps === o.steps && b.warmup === o.warmup && b.lr === o.lr && b.precision === o.precision;
    } catch {
      return false;
    }
  })();
  const { modelPath, buildSeconds } = same
    ? { modelPath: join(o.workDir, 'train.onnx'), buildSeconds: (JSON.parse(readFileSync(join(o.workDir, 'export.json'), 'utf8')) as { buildSeconds: number }).buildSeconds }
    : exportTrainBench(o);
  const init = initLoraValues(params, makeRng(7).next);
  const tokens = new Int32Array(new Uint8Array(readFileSync(join(o.workDir, 'tokens.bin'))).buffer);

  const t0 = performance.now();
  const session = await TrainSession.create({ train: { path: modelPath }, params, dtype: 'float32', device: o.device });
  const sessionSeconds = (performance.now() - t0) / 1000;
  o.log(`session on ${session.device}${session.fallbackReason ? ` (fallback: ${session.fallbackReason})` : ''} in ${sessionSeconds.toFixed(1)} s`);
  const state = freshState('float32', params, init);
  // Warm-up steps run on the last batches, so the measured steps start from the exported initial adapter.
  const warmState = freshState('float32', params, init);
  for (let s = 0; s < o.warmup; s++) await session.step(warmState, stepTensors(tokens, o.steps + s, o.batch, o.seq), o.lr);
  const stepSeconds: number[] = [];
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let s = 0; s < o.steps; s++) {
    const t = performance.now();
    const r = await session.step(state, stepTensors(tokens, s, o.batch, o.seq), o.lr);
    stepSeconds.push((performance.now() - t) / 1000);
    losses.push(r.loss);
    gradNorms.push(r.gradNorm);
    o.log(`step ${s + 1}/${o.steps}: loss ${r.loss.toFixed(5)} grad_norm ${r.gradNorm.toFixed(4)} ${(stepSeconds[s]! * 1000).toFixed(0)} ms`);
  }
  await session.release();
  const sorted = [...stepSeconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const tokensPerSecond = (o.batch * o.seq) / median;
  const flopsPerToken = trainFlopsPerToken(cfg, o.rank, o.seq);
  return {
    phase: 'emlab-train', shape: o.shape, device: session.device, ...(session.fallbackReason ? { fallbackReason: session.fallbackReason } : {}), precision: o.precision,
    buildSeconds, sessionSeconds, stepSeconds, losses, gradNorms, tokensPerSecond, flopsPerToken, achievedTflops: (tokensPerSecond * flopsPerToken) / 1e12,
  };
}
