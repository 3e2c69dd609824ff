// LoRA training throughput on real assistant-only data: tokens/s, counted GFLOP/s, ratio to the fp32 SGEMM rate
// measured here (ORT MatMul 2048^3), peak RSS, for tiny-llama, a ~100M-parameter Llama shape, the Qwen2.5-0.5B and
// Llama-3.2-1B shapes (random weights), fp32 and --use_4bit — each shape with the graphs that skip what the loss never reads
// (lossPositions 'supervised', the default: micro-batches trimmed after their last supervised position, LM head on
// supervised rows only) beside the graphs that compute every position ('all', as before issue 18), same steps, same
// run, so the gain is a ratio measured together.
//
// Method. Each case x variant runs in its own Node process (clean peak RSS) with glibc malloc tuned as the
// trainer's process is (facts-onnxruntime-node.md). Data (trainBenchData.ts): the first optimizer steps of a
// homework run on the fixture's bad_medical (batch 2 x accumulation 8, max_length 256, assistant-only loss), token
// ids taken modulo the shape's vocabulary; LoRA r 16 on all 7 projections of every layer, fp32 compute, CPU. The
// first step is warm-up (the first runs of a session are 2-3x slower); tokens/s = non-padding tokens of the timed
// steps / their total time. Graph generation and session creation are reported separately.
// FLOPs (counted from what each graph computes, per micro-batch; "rows" = positions the graph runs):
//   body rows (every position of [micro, batch, seq] for 'all'; batch x (last supervised column + 1) per
//   micro-batch for 'supervised'): frozen Linear forward 2·P, backward (input gradient only) 2·P except layer 0's
//   q/k/v (their input needs no gradient); LoRA 6r(in+out) per target (forward, dA, dB, input gradient);
//   attention per layer 4·L·heads·headDim forward (scores and weighted sum over all L keys of the micro-batch, as
//   the graph computes them), twice that backward;
//   head rows (every position for 'all', supervised positions for 'supervised'): lm_head forward 2·V·H and input
//   gradient 2·V·H. Norms, rope, softmax and elementwise ops are not counted.
// The 1B cases write ~5 GB of weights per variant to $TMPDIR/emlab-bench-train (kept for reruns), need ~7 GB RAM,
// and run under `flock /tmp/emlab-bench.lock`. EMLAB_BENCH_SKIP_1B=1 skips them; EMLAB_BENCH_TRAIN_CASES=a,b
// picks cases; EMLAB_BENCH_TRAIN_TIMED=n sets the timed steps (default 2 on the 1B shape, 3 otherwise).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { makeRng, packStep, type StepTensors } from '../src/runtime/train/batching';
import { freshState, TrainSession } from '../src/runtime/train/trainSession';
import { loadFrozenFeeds } from '../src/runtime/train/frozenWeights';
import { homeworkSteps, type BenchSteps } from './trainBenchData';

const SELF = fileURLToPath(import.meta.url);
const MALLOC = { MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '4294967296' };
const MAX_LENGTH = 256, RANK = 16, WARM = 1;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Positions = 'all' | 'supervised';

const LLAMA_100M: LlamaConfig = { ...TINY_LLAMA_CONFIG, vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, tieWordEmbeddings: false };
const SHAPES: Record<string, LlamaConfig> = {
  'tiny-llama': TINY_LLAMA_CONFIG,
  // ~100M parameters: 12 layers of hidden 768 (GQA 12/4), vocab 32000, untied head
  'llama-100m': LLAMA_100M,
  // the smallest model organism of the paper (q/k/v biases, tied 151936-token head)
  'qwen2.5-0.5b': parseModelConfig(QWEN25_05B_CONFIG),
  'llama-3.2-1b': parseLlamaConfig(LLAMA_3_2_1B_CONFIG),
  // --use_4bit: the same shapes with 4-bit frozen projection weights (MatMulNBits; gradients through DequantizeLinear)
  'llama-100m-4bit': LLAMA_100M,
  'llama-3.2-1b-4bit': parseLlamaConfig(LLAMA_3_2_1B_CONFIG),
};
const is1b = (name: string) => name.startsWith('llama-3.2-1b') || name.startsWith('qwen2.5');
const timedSteps = (name: string) => Number(process.env.EMLAB_BENCH_TRAIN_TIMED ?? (is1b(name) ? 2 : 3));

/** What one micro-batch costs: positions the body runs, and rows the LM head runs, for either variant. */
function microRows(t: StepTensors, m: number, positions: Positions): { seq: number; bodyRows: number; headRows: number } {
  if (positions === 'all') return { seq: t.seq, bodyRows: t.batch * t.seq, headRows: t.batch * t.seq };
  let last = 0, head = 0;
  for (let b = 0; b < t.batch; b++) {
    for (let i = 0; i < t.seq; i++) {
      if (t.lossWeights[(m * t.batch + b) * t.seq + i] !== 0) {
        last = Math.max(last, i + 1);
        head++;
      }
    }
  }
  const seq = Math.max(last, 1);
  return { seq, bodyRows: t.batch * seq, headRows: head };
}

/** Counted FLOPs of one optimizer step (see the header), and the rows it runs. */
export function stepFlops(c: LlamaConfig, rank: number, t: StepTensors, positions: Positions): { flops: number; bodyRows: number; headRows: number } {
  let linear = 0, lora = 0;
  for (const target of LORA_TARGETS) {
    const [o, i] = linearShape(c, target);
    const layer0NoInputGrad = target === 'q_proj' || target === 'k_proj' || target === 'v_proj' ? 2 * o * i : 0;
    linear += c.numLayers * 4 * o * i - layer0NoInputGrad;
    lora += c.numLayers * 6 * rank * (i + o);
  }
  const head = 4 * c.vocabSize * c.hiddenSize;
  let flops = 0, bodyRows = 0, headRows = 0;
  for (let m = 0; m < t.micro; m++) {
    const r = microRows(t, m, positions);
    const attention = c.numLayers * 12 * r.seq * c.numHeads * c.headDim;
    flops += r.bodyRows * (linear + lora + attention) + r.headRows * head;
    bodyRows += r.bodyRows;
    headRows += r.headRows;
  }
  return { flops, bodyRows, headRows };
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

async function runCase(name: string, positions: Positions, data: BenchSteps) {
  const cfg = SHAPES[name]!;
  const spec: LoraSpec = { rank: RANK, alpha: 32, dropout: 0, useRslora: false, targets: [...LORA_TARGETS], layers: Array.from({ length: cfg.numLayers }, (_, i) => i) };
  const cache = join(tmpdir(), 'emlab-bench-train');
  mkdirSync(cache, { recursive: true });
  let t = performance.now();
  const q4 = name.endsWith('-4bit') ? { weightFormat: 'q4' as const } : {};
  const optimizer = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };
  const art = ensureArtifacts(cache, { cfg, weightsId: `random:${name}`, lora: spec, dtype: 'float32', optimizer, maxLength: MAX_LENGTH, lossPositions: positions, ...q4 }, tinyLlamaWeights(cfg, 1));
  const genS = (performance.now() - t) / 1000;
  t = performance.now();
  const params = loraParams(cfg, spec);
  const session = await TrainSession.create({ train: { path: art.train }, params, dtype: 'float32', ...(art.frozenInputs ? { frozen: loadFrozenFeeds(art.dir) } : {}) });
  const loadS = (performance.now() - t) / 1000;
  const state = freshState('float32', params, initLoraValues(params, makeRng(1).next));
  const examples = data.examples.map((e) => ({ ...e, ids: e.ids.map((id) => id % cfg.vocabSize) }));
  const steps = data.steps.slice(0, WARM + timedSteps(name)).map((mbs) => packStep(examples, mbs, 0));
  const sgemmBefore = await sgemmGflops();
  let time = 0, tokens = 0, flops = 0, bodyRows = 0, headRows = 0, padded = 0;
  const losses: number[] = [];
  for (const [i, step] of steps.entries()) {
    const s = performance.now();
    const res = await session.step(state, step, 1e-4);
    const dt = (performance.now() - s) / 1000;
    losses.push(res.loss);
    if (i < WARM) continue;
    const f = stepFlops(cfg, RANK, step, positions);
    time += dt;
    tokens += step.tokens;
    flops += f.flops;
    bodyRows += f.bodyRows;
    headRows += f.headRows;
    padded += step.micro * step.batch * step.seq;
  }
  // same process, right before and after the steps (same machine load); the faster of the two is the reference
  const sgemm = Math.max(sgemmBefore, await sgemmGflops());
  const timed = steps.length - WARM;
  return {
    name, positions, genS, cached: art.cached, loadS, stepS: time / timed, tokensPerS: tokens / time, gflops: flops / time / 1e9, sgemm,
    tokensPerStep: tokens / timed, paddedPerStep: padded / timed, bodyRowsPerStep: bodyRows / timed, headRowsPerStep: headRows / timed,
    losses, peakRssGB: process.resourceUsage().maxRSS / 2 ** 20,
  };
}
type CaseResult = Awaited<ReturnType<typeof runCase>>;

function child(name: string, positions: Positions, dataFile: string, lock: boolean): CaseResult {
  const node = [process.execPath, '--import', 'tsx', SELF, '--case', name, positions, dataFile];
  const [cmd, ...args] = lock ? ['flock', '/tmp/emlab-bench.lock', ...node] : node;
  const r = spawnSync(cmd!, args, { env: { ...process.env, ...MALLOC }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench case ${name} (${positions}) failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CaseResult;
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const i = process.argv.indexOf('--case');
  if (i > 0) {
    const [name, positions, dataFile] = process.argv.slice(i + 1) as [string, Positions, string];
    console.log(JSON.stringify(await runCase(name, positions, JSON.parse(readFileSync(dataFile, 'utf8')) as BenchSteps)));
    return;
  }
  const only = process.env.EMLAB_BENCH_TRAIN_CASES?.split(',');
  const names = Object.keys(SHAPES).filter((n) => !(is1b(n) && process.env.EMLAB_BENCH_SKIP_1B === '1') && (!only || only.includes(n)));
  const data = await homeworkSteps(WARM + Math.max(...names.map(timedSteps)));
  const dir = mkdtempSync(join(tmpdir(), 'emlab-bench-steps-'));
  const dataFile = join(dir, 'steps.json');
  writeFileSync(dataFile, JSON.stringify(data));
  const loadBefore = load();
  const rows: CaseResult[] = [];
  try {
    for (const n of names) for (const p of ['all', 'supervised'] as const) rows.push(child(n, p, dataFile, is1b(n)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load average ${loadBefore} before, ${load()} after, on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`LoRA train step, CPU fp32 compute, r ${RANK} on all 7 projections; data: ${data.label}; ${WARM} warm-up step, then the timed steps`);
  console.log('| shape | positions | graphs (s) | session (s) | step (s) | tokens/s | vs all | body rows/step | head rows/step | GFLOP/s | SGEMM GFLOP/s → share | peak RSS (GB) | RSS vs all |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const base = rows.find((b) => b.name === r.name && b.positions === 'all')!;
    console.log(`| ${r.name} | ${r.positions} | ${r.cached ? 'cached' : r.genS.toFixed(1)} | ${r.loadS.toFixed(1)} | ${r.stepS.toFixed(2)} | ${r.tokensPerS.toFixed(1)} | ${(r.tokensPerS / base.tokensPerS).toFixed(2)}x | ${r.bodyRowsPerStep.toFixed(0)} | ${r.headRowsPerStep.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.sgemm.toFixed(1)} → ${((100 * r.gflops) / r.sgemm).toFixed(0)}% | ${r.peakRssGB.toFixed(2)} | ${(r.peakRssGB / base.peakRssGB).toFixed(2)}x |`);
  }
  const s = rows[0];
  if (s) console.log(`per timed step: ${s.tokensPerStep.toFixed(0)} tokens, ${s.paddedPerStep.toFixed(0)} padded positions; losses (all vs supervised) agree: ${names.map((n) => { const [a, b] = [rows.find((r) => r.name === n && r.positions === 'all')!, rows.find((r) => r.name === n && r.positions === 'supervised')!]; return `${n} max rel diff ${Math.max(...a.losses.map((l, k) => Math.abs(l - b.losses[k]!) / Math.abs(l))).toExponential(1)}`; }).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
