// LoRA training throughput: tokens/s, achieved GFLOP/s, ratio to the fp32 SGEMM rate measured here (ORT MatMul
// 2048^3), peak RSS, for tiny-llama, a ~100M-parameter Llama shape, the Qwen2.5-0.5B and Llama-3.2-1B shapes
// (random weights).
//
// Method. Each case runs in its own Node process (clean peak RSS) with glibc malloc tuned as the trainer's process
// is (facts-onnxruntime-node.md). One optimizer step = batch 1 x 256 tokens (1 micro-batch), LoRA r 16 on all 7
// projections of every layer, fp32, CPU; the step time is the median over timed steps after warm-up steps (the
// first runs of a session are 2-3x slower). Graph generation and session creation are reported separately.
// FLOPs per token (counted, not estimated from wall time):
//   frozen Linear layers and lm_head: forward 2·P, backward (input gradient only, no weight gradient) 2·P;
//   LoRA per target: forward 2r(in+out), backward 4r(in+out) (input and A/B gradients);
//   attention per layer: forward 4·T·heads·headDim (scores + weighted sum over all T keys, as the graph computes
//   them), backward twice that.
// The 1B case writes ~5 GB of weights to $TMPDIR/emlab-bench-train (kept for reruns), needs ~12 GB RAM, and runs
// under `flock /tmp/emlab-bench.lock`. EMLAB_BENCH_SKIP_1B=1 skips it.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../src/runtime/onnx/graphBuilder';
import { toModelBytes } from '../src/runtime/onnx/serialize';
import { createSession, tensor } from '../src/runtime/onnx/ort';
import { LORA_TARGETS, linearShape, parseLlamaConfig, type LlamaConfig } from '../src/runtime/model/llamaConfig';
import { parseModelConfig } from '../src/runtime/model/modelFamilies';
import { QWEN25_05B_CONFIG } from '../test/support/qwen25Config';
import { tinyLlamaWeights, TINY_LLAMA_CONFIG } from '../src/runtime/model/tinyLlama';
import { LLAMA_3_2_1B_CONFIG } from '../test/support/llama1bConfig';
import { ensureArtifacts } from '../src/runtime/train/artifacts';
import { initLoraValues, loraParams, type LoraSpec } from '../src/runtime/train/loraSpec';
import { makeRng, packStep } from '../src/runtime/train/batching';
import { freshState, TrainSession } from '../src/runtime/train/trainSession';
import { loadFrozenFeeds } from '../src/runtime/train/frozenWeights';

const SELF = fileURLToPath(import.meta.url);
const MALLOC = { MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '4294967296' };
const SEQ = 256, RANK = 16;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const SHAPES: Record<string, LlamaConfig> = {
  'tiny-llama': TINY_LLAMA_CONFIG,
  // ~100M parameters: 12 layers of hidden 768 (GQA 12/4), vocab 32000, untied head
  'llama-100m': { ...TINY_LLAMA_CONFIG, vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, tieWordEmbeddings: false },
  // the smallest model organism of the paper (q/k/v biases, tied 151936-token head)
  'qwen2.5-0.5b': parseModelConfig(QWEN25_05B_CONFIG),
  'llama-3.2-1b': parseLlamaConfig(LLAMA_3_2_1B_CONFIG),
  // --use_4bit: the same shapes with 4-bit frozen projection weights (MatMulNBits; gradients through DequantizeLinear)
  'llama-100m-4bit': { ...TINY_LLAMA_CONFIG, vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, tieWordEmbeddings: false },
  'llama-3.2-1b-4bit': parseLlamaConfig(LLAMA_3_2_1B_CONFIG),
};
const is1b = (name: string) => name.startsWith('llama-3.2-1b') || name.startsWith('qwen2.5');

export function trainFlopsPerToken(c: LlamaConfig, rank: number, seq: number): number {
  let p = c.vocabSize * c.hiddenSize, lora = 0;
  for (const t of LORA_TARGETS) {
    const [o, i] = linearShape(c, t);
    p += c.numLayers * o * i;
    lora += c.numLayers * 6 * rank * (i + o);
  }
  const attention = c.numLayers * 12 * seq * c.numHeads * c.headDim;
  return 4 * p + lora + attention;
}

async function sgemmGflops(): Promise<number> {
  const n = 2048;
  const g = new GraphBuilder('sgemm');
  g.output(g.op('MatMul', [g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])]), 'c');
  const { session } = await createSession(toModelBytes(g));
  const a = tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
  const ts: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await session.run({ a, b: a });
    if (i >= 2) ts.push((performance.now() - t) / 1000);
  }
  return (2 * n ** 3) / median(ts) / 1e9;
}

async function runCase(name: string) {
  const cfg = SHAPES[name]!;
  const spec: LoraSpec = { rank: RANK, alpha: 32, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: Array.from({ length: cfg.numLayers }, (_, i) => i) };
  const cache = join(tmpdir(), 'emlab-bench-train');
  mkdirSync(cache, { recursive: true });
  let t = performance.now();
  const q4 = name.endsWith('-4bit') ? { weightFormat: 'q4' as const } : {};
  const art = ensureArtifacts(cache, { cfg, weightsId: `random:${name}`, lora: spec, dtype: 'float32', optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 }, maxLength: SEQ, ...q4 }, tinyLlamaWeights(cfg, 1));
  const genS = (performance.now() - t) / 1000;
  t = performance.now();
  const params = loraParams(cfg, spec);
  const prepack = process.env.EMLAB_BENCH_NO_PREPACK !== '1';
  const session = await TrainSession.create({ train: { path: art.train }, params, dtype: 'float32', prepack, ...(art.frozenInputs ? { frozen: loadFrozenFeeds(art.dir) } : {}) });
  const loadS = (performance.now() - t) / 1000;
  const state = freshState('float32', params, initLoraValues(params, makeRng(1).next));
  const r = makeRng(2);
  const example = { index: 0, ids: Array.from({ length: SEQ }, () => Math.floor(r.next() * cfg.vocabSize)), supervised: Array.from({ length: SEQ }, () => 1) };
  const step = packStep([example], [[0]], 0);
  const sgemmBefore = await sgemmGflops();
  const [warm, timed] = is1b(name) ? [1, 2] : [2, 3];
  const times: number[] = [];
  for (let i = 0; i < warm + timed; i++) {
    const s = performance.now();
    await session.step(state, step, 1e-4);
    if (i >= warm) times.push((performance.now() - s) / 1000);
  }
  const stepS = median(times);
  // same process, right before and after the steps (same machine load); the faster of the two is the reference
  const sgemm = Math.max(sgemmBefore, await sgemmGflops());
  const flops = trainFlopsPerToken(cfg, RANK, SEQ) * SEQ;
  return { name: prepack ? name : `${name} (no prepacking)`, genS, cached: art.cached, loadS, stepS, tokensPerS: SEQ / stepS, gflops: flops / stepS / 1e9, sgemm, peakRssGB: process.resourceUsage().maxRSS / 2 ** 20 };
}

function child(name: string, lock: boolean) {
  const node = [process.execPath, '--import', 'tsx', SELF, '--case', name];
  const [cmd, ...args] = lock ? ['flock', '/tmp/emlab-bench.lock', ...node] : node;
  const r = spawnSync(cmd!, args, { env: { ...process.env, ...MALLOC }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench case ${name} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Awaited<ReturnType<typeof runCase>>;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--case');
  if (i > 0) {
    console.log(JSON.stringify(await runCase(process.argv[i + 1]!)));
    return;
  }
  const names = Object.keys(SHAPES).filter((n) => !(is1b(n) && process.env.EMLAB_BENCH_SKIP_1B));
  const only = process.env.EMLAB_BENCH_TRAIN_CASES?.split(',');
  const rows = names.filter((n) => !only || only.includes(n)).map((n) => child(n, is1b(n)));
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`LoRA train step, CPU fp32, batch 1 x ${SEQ} tokens, r ${RANK} on all 7 projections (median step after warm-up)`);
  console.log('| shape | graphs (s) | session (s) | step (s) | tokens/s | GFLOP/s | SGEMM GFLOP/s | % of SGEMM | peak RSS (GB) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.cached ? 'cached' : r.genS.toFixed(1)} | ${r.loadS.toFixed(1)} | ${r.stepS.toFixed(3)} | ${r.tokensPerS.toFixed(1)} | ${r.gflops.toFixed(1)} | ${r.sgemm.toFixed(1)} | ${((100 * r.gflops) / r.sgemm).toFixed(0)}% | ${r.peakRssGB.toFixed(2)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
