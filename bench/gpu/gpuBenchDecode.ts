// EM Lab decode speed: the model engine's float16 forward with KV cache and a rank-r LoRA on all 7 projections
// (as chat-with-adapter runs), batch 1, greedy, reusing the train phase's fp16 weights file when it exists.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GraphBuilder, type ExternalRef } from '../../src/runtime/onnx/graphBuilder';
import { saveModel } from '../../src/runtime/onnx/serialize';
import { createSession, tensor, type Device, type OrtTensor } from '../../src/runtime/onnx/ort';
import { buildLlamaForward } from '../../src/runtime/model/llamaGraph';
import { floatToHalf, halfToFloat } from '../../src/runtime/model/hostTensor';
import { llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import { mulberry32 } from '../../src/runtime/random';
import { loraParams, loraScale } from '../../src/runtime/train/loraSpec';
import { benchLora, randomWeights, shapeConfig, type ShapeName } from './gpuBenchShape';

export interface DecodeBenchOptions {
  shape: ShapeName;
  device: Device;
  rank: number;
  promptTokens: number;
  newTokens: number;
  /** Rope table rows; must equal the train phase's seq to share its weights file. */
  maxPositions: number;
  workDir: string;
  log: (line: string) => void;
}

export interface DecodeBenchResult {
  phase: 'emlab-decode';
  device: string;
  fallbackReason?: string;
  sharedWeights: boolean;
  sessionSeconds: number;
  prefillSeconds: number;
  decodeTokensPerSecond: number;
}

export async function runDecodeBench(o: DecodeBenchOptions): Promise<DecodeBenchResult> {
  const { cfg } = shapeConfig(o.shape);
  const spec = benchLora(cfg, o.rank);
  const placementsFile = join(o.workDir, 'placements.json');
  const placements = existsSync(placementsFile) ? new Map(Object.entries(JSON.parse(readFileSync(placementsFile, 'utf8')) as Record<string, ExternalRef>)) : undefined;
  const bench = JSON.parse(existsSync(join(o.workDir, 'bench-config.json')) ? readFileSync(join(o.workDir, 'bench-config.json'), 'utf8') : '{}') as { precision?: string; seq?: number };
  if (o.promptTokens + 3 + o.newTokens > o.maxPositions) throw new Error(`prompt + 3 warm-up + ${o.newTokens} new tokens exceed the ${o.maxPositions} rope positions`);
  const shared = placements !== undefined && bench.precision === 'float16' && bench.seq === o.maxPositions;
  const g = new GraphBuilder('decode');
  const inputIds = g.input('input_ids', 'int64', ['batch', 'seq']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'total']);
  const fwd = buildLlamaForward(g, cfg, {
    dtype: 'float16',
    weights: { ...randomWeights(cfg, llamaTensorShapes(cfg)), ...(shared ? { external: (name: string) => placements!.get(name) } : {}) },
    kvCache: true, inputIds, attentionMask, maxPositions: o.maxPositions,
    lora: { rank: spec.rank, scale: loraScale(spec), targets: spec.targets, layers: spec.layers },
  });
  g.output(fwd.logits, 'logits');
  fwd.presents.forEach((p, i) => {
    g.output(p.key, `present.${i}.key`);
    g.output(p.value, `present.${i}.value`);
  });
  const modelPath = join(o.workDir, 'decode.onnx');
  saveModel(g, modelPath);
  let t0 = performance.now();
  const created = await createSession(modelPath, { device: o.device });
  const sessionSeconds = (performance.now() - t0) / 1000;
  o.log(`decode session on ${created.device} in ${sessionSeconds.toFixed(1)} s (weights ${shared ? 'shared with the train graph' : 'written for decode'})`);

  const rand = mulberry32(5);
  const adapter: Record<string, OrtTensor> = {};
  for (const p of loraParams(cfg, spec)) {
    const n = p.shape[0] * p.shape[1];
    adapter[p.key] = tensor('float16', Uint16Array.from({ length: n }, () => floatToHalf((rand() * 2 - 1) * 0.01)), p.shape);
  }
  const emptyPast: Record<string, OrtTensor> = {};
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const kind of ['key', 'value']) emptyPast[`past_key_values.${i}.${kind}`] = tensor('float16', new Uint16Array(0), [1, cfg.numKvHeads, 0, cfg.headDim]);
  }
  const argmaxLast = (logits: OrtTensor): number => {
    const data = logits.data as Float32Array | Uint16Array;
    const V = cfg.vocabSize;
    const off = data.length - V;
    let best = 0;
    // float16 logits come back as raw bits; their order matches the value order for non-negative numbers only,
    // so compare decoded values (cheap: one row).
    const value = (i: number) => (data instanceof Uint16Array ? halfToFloat(data[off + i]!) : data[off + i]!);
    for (let v = 1; v < V; v++) if (value(v) > value(best)) best = v;
    return best;
  };
  let ids = Array.from({ length: o.promptTokens }, (_, i) => (1000 + i) % cfg.vocabSize);
  let total = ids.length;
  let feeds: Record<string, OrtTensor> = { ...adapter, ...emptyPast };
  const run = async () => {
    feeds.input_ids = tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
    feeds.attention_mask = tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    const out = await created.session.run(feeds);
    const next: Record<string, OrtTensor> = { ...adapter };
    for (let i = 0; i < cfg.numLayers; i++) {
      next[`past_key_values.${i}.key`] = out[`present.${i}.key`]!;
      next[`past_key_values.${i}.value`] = out[`present.${i}.value`]!;
    }
    feeds = next;
    return argmaxLast(out.logits!);
  };
  t0 = performance.now();
  let token = await run();
  const prefillSeconds = (performance.now() - t0) / 1000;
  for (let w = 0; w < 3; w++) {
    // warm-up decode steps (first runs of a new shape allocate)
    ids = [token];
    total++;
    token = await run();
  }
  t0 = performance.now();
  for (let s = 0; s < o.newTokens; s++) {
    ids = [token];
    total++;
    token = await run();
  }
  const decodeTokensPerSecond = o.newTokens / ((performance.now() - t0) / 1000);
  await created.session.release();
  return { phase: 'emlab-decode', device: created.device, ...(created.fallbackReason ? { fallbackReason: created.fallbackReason } : {}), sharedWeights: shared, sessionSeconds, prefillSeconds, decodeTokensPerSecond };
}
