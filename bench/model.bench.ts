// Model engine benchmark: build/load time, prefill and decode tokens/s (batch 1 and 8), peak RSS, for tiny-llama
// and for a random-weight model with Llama-3.2-1B's exact shapes, and decode speed as a fraction of the memory
// bandwidth bound measured here.
//
// Method. Each case runs in its own Node process (clean peak RSS, no cross-talk), with glibc malloc tuned as the
// extension's runtime is (facts-onnxruntime-node.md). Timings are medians after two warm-up runs.
//  - prefill: one run over 128 tokens, batch 1.
//  - decode: after a 16-token prefill, N single-token steps with the KV cache; batch 8 counts 8 tokens per step.
//  - bandwidth bound: decode must stream every weight once per token (bytes/token = all Linear weights + lm_head).
//    We measure read rates three ways and take the fastest as the bound: (a) JS sum over a 1 GiB Float64Array
//    (1 thread), (b) Buffer.copy of 1 GiB (memcpy, 1 thread, counting bytes read), (c) ORT MatMul [1,8192] x
//    [8192,32768] fp32 (1 GiB of weights, default threads) — the decode access pattern itself.
//    The ORT probe runs again inside each case's process right after its decode runs (same machine load).
//    bound tokens/s = fastest GB/s / (bytes per token); reported fraction = measured decode b1 / bound.
//  - prefill passes num_logits_to_keep = 1, as generation does.
// The 1B case writes ~5 GB of random weights to $TMPDIR/emlab-bench-1b (kept for reruns), needs ~10 GB RAM,
// and runs under `flock /tmp/emlab-bench.lock`. EMLAB_BENCH_SKIP_1B=1 skips it; EMLAB_BENCH_1B_LAYERS=n keeps
// only n of the 16 layers (same per-layer shapes, far less disk and memory).
//
// Evaluation generation (second table): answers per minute for the paper's protocol (8 free-form questions x 50
// samples, here 200 new tokens, temperature 1, top_p 1) on the 1B shape, fp32 and q4, at batch 1 vs the batched
// path (continuous batching, batch chosen by memory as generate-eval does). Prompts are the 8 questions through the
// Llama-3 tokenizer and a Llama-3.2-style chat template (tiny-llama's); no eos ids, so every answer is exactly the
// new-token count (random weights rarely stop early anyway) and the work per answer is fixed. Batch 1 times one
// whole answer; the batched path times one full wave of `batch` answers (prefill included); answers/min = answers /
// wall time. A 400-answer run takes 400 / (answers/min) minutes. EMLAB_BENCH_EVAL_TOKENS overrides 200 (quick
// checks); EMLAB_BENCH_ONLY=eval runs only this table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../src/runtime/onnx/graphBuilder';
import { saveModel } from '../src/runtime/onnx/serialize';
import { createSession, tensor } from '../src/runtime/onnx/ort';
import { Decoder } from '../src/runtime/model/decoder';
import { ensureDecoderExport, type ExportDType } from '../src/runtime/model/decoderExport';
import type { LlamaConfig } from '../src/runtime/model/llamaConfig';
import { weightBytesPerToken } from '../src/runtime/model/llamaGraph';
import { ensureTinyLlama, TINY_LLAMA_CONFIG } from '../src/runtime/model/tinyLlama';
import { bench1b, ensureBench1bExport } from './bench1b';
import { decoderStepModel } from '../src/runtime/model/generateModel';
import { generateBatched } from '../src/runtime/model/generateBatched';
import { autoBatchSize } from '../src/runtime/model/generateChat';
import { loadTokenizer } from '../src/runtime/model/tokenizer';
import { paperPlan } from '../src/runtime/eval/generationPresets';
import { planItems } from '../src/runtime/eval/generationRun';
import { loadavg } from 'node:os';

const SELF = fileURLToPath(import.meta.url);
const MALLOC = { MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '4294967296' };

interface CaseResult {
  name: string;
  variant: string;
  buildS: number | null;
  loadS: number;
  prefillTps: number;
  decodeB1: number;
  decodeB8: number;
  peakRssGB: number;
  bytesPerToken: number;
  /** GEMV read rate measured in the same process right after the decode runs (same machine load). */
  localGBs: number;
}

interface Bandwidth {
  jsSumGBs: number;
  memcpyGBs: number;
  ortGemvGBs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => performance.now() / 1000;

async function timeIt(fn: () => Promise<unknown> | unknown, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await fn();
    ts.push(now() - t);
  }
  return median(ts);
}

async function measureBandwidth(): Promise<Bandwidth> {
  const GiB = 1 << 30;
  const a = new Float64Array(GiB / 8).fill(1);
  const jsSum = await timeIt(() => {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < a.length; i += 4) {
      s0 += a[i]!; s1 += a[i + 1]!; s2 += a[i + 2]!; s3 += a[i + 3]!;
    }
    return s0 + s1 + s2 + s3;
  }, 3, 1);
  const src = Buffer.from(a.buffer);
  const dst = Buffer.allocUnsafe(GiB);
  const memcpy = await timeIt(() => src.copy(dst), 3, 1);
  return { jsSumGBs: GiB / jsSum / 1e9, memcpyGBs: GiB / memcpy / 1e9, ortGemvGBs: await gemvReadRate() };
}

/** GB/s of an ORT MatMul [1,8192] x [8192,32768] fp32: 1 GiB of weights streamed per run, as decode does. */
async function gemvReadRate(): Promise<number> {
  const K = 8192, N = 32768;
  const g = new GraphBuilder('gemv');
  const x = g.input('x', 'float32', [1, K]);
  g.output(g.op('MatMul', [x, g.initializer('W', 'float32', [K, N], () => new Float32Array(K * N).fill(0.001))]), 'y');
  const dir = mkdtempSync(join(tmpdir(), 'emlab-bw-'));
  try {
    saveModel(g, join(dir, 'm.onnx'));
    const { session } = await createSession(join(dir, 'm.onnx'));
    const feed = { x: tensor('float32', new Float32Array(K).fill(1), [1, K]) };
    const gemv = await timeIt(() => session.run(feed), 5);
    await session.release();
    return (K * N * 4) / gemv / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ids = (n: number, f: (i: number) => number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(f(i)));

async function measureDecoder(dir: string, dtype: ExportDType, cfg: LlamaConfig, decodeSteps: number): Promise<Omit<CaseResult, 'name' | 'variant' | 'buildS'>> {
  let t = now();
  const dec = await Decoder.open(dir, { dtype });
  const loadS = now() - t;
  const V = cfg.vocabSize;
  const tok = (i: number) => (i * 7919 + 13) % Math.min(V, 128000);
  const P = 128;
  const prefill = () => dec.forward({ inputIds: ids(P, tok), batch: 1, seq: P, attentionMask: ids(P, () => 1), positionIds: ids(P, (i) => i), logitsToKeep: 1 });
  const prefillS = await timeIt(prefill, 2);
  const decode = async (batch: number) => {
    const p0 = 16;
    const first = await dec.forward({ inputIds: ids(batch * p0, tok), batch, seq: p0, attentionMask: ids(batch * p0, () => 1), positionIds: ids(batch * p0, (i) => i % p0) });
    let past = first.presents;
    const step = async (k: number) => {
      const len = p0 + k + 1;
      const out = await dec.forward({ inputIds: ids(batch, (b) => tok(b + k)), batch, seq: 1, attentionMask: ids(batch * len, () => 1), positionIds: ids(batch, () => len - 1), past });
      past = out.presents;
    };
    await step(0);
    await step(1);
    t = now();
    for (let k = 2; k < 2 + decodeSteps; k++) await step(k);
    return (batch * decodeSteps) / (now() - t);
  };
  const decodeB1 = await decode(1);
  const decodeB8 = await decode(8);
  const peakRssGB = process.resourceUsage().maxRSS / 1e6;
  await dec.dispose();
  const bytesPerWeight = dtype === 'float16' ? 2 : dtype === 'q4' ? 0.5 + 4 / 32 : 4; // q4: 4 bits + an fp32 scale per 32
  return { loadS, prefillTps: P / prefillS, decodeB1, decodeB8, peakRssGB, bytesPerToken: weightBytesPerToken(cfg, bytesPerWeight), localGBs: await gemvReadRate() };
}

async function runCase(which: string): Promise<CaseResult | Bandwidth | EvalResult> {
  if (which === 'bandwidth') return measureBandwidth();
  if (which === 'tiny') {
    const store = mkdtempSync(join(tmpdir(), 'emlab-bench-tiny-'));
    try {
      const t = now();
      const dir = ensureTinyLlama(store);
      const buildS = now() - t;
      const fp32 = { name: 'tiny-llama', variant: 'fp32', buildS, ...(await measureDecoder(dir, 'float32', TINY_LLAMA_CONFIG, 64)) };
      return fp32;
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
  if (which === 'tiny-q4') {
    const store = mkdtempSync(join(tmpdir(), 'emlab-bench-tiny-'));
    try {
      const dir = ensureTinyLlama(store);
      const t = now();
      ensureDecoderExport(dir, { dtype: 'q4' });
      return { name: 'tiny-llama', variant: 'q4', buildS: now() - t, ...(await measureDecoder(dir, 'q4', TINY_LLAMA_CONFIG, 64)) };
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
  if (which === 'eval-1b' || which === 'eval-1b-q4') {
    const dtype: ExportDType = which === 'eval-1b' ? 'float32' : 'q4';
    const { dir, cfg } = ensure1bExport(dtype);
    return { variant: dtype === 'q4' ? 'q4' : 'fp32', ...(await measureEval(dir, dtype, cfg)) };
  }
  if (which === '1b' || which === '1b-q4') {
    const dtype: ExportDType = which === '1b' ? 'float32' : 'q4';
    const { dir, cfg, label, buildS } = ensure1bExport(dtype);
    return { name: label, variant: which === '1b' ? 'fp32' : 'q4', buildS, ...(await measureDecoder(dir, dtype, cfg, 8)) };
  }
  throw new Error(`unknown case ${which}`);
}

/** The random-weight Llama-3.2-1B-shaped export the peer bench shares (bench1b.ts). */
function ensure1bExport(dtype: ExportDType): { dir: string; cfg: LlamaConfig; label: string; buildS: number | null } {
  const b = bench1b();
  return { ...ensureBench1bExport(b, dtype), cfg: b.cfg, label: b.label };
}

interface EvalResult {
  variant: string;
  promptTokens: number;
  newTokens: number;
  b1AnswersPerMin: number;
  b1TokensPerS: number;
  batch: number;
  batchedAnswersPerMin: number;
  batchedTokensPerS: number;
  peakRssGB: number;
  load: number;
}

/** Answers/min at batch 1 (one answer) and batched (one wave of `batch` answers), paper-protocol prompts. */
async function measureEval(dir: string, dtype: ExportDType, cfg: LlamaConfig): Promise<Omit<EvalResult, 'variant'>> {
  const store = mkdtempSync(join(tmpdir(), 'emlab-bench-eval-'));
  try {
    const tok = await loadTokenizer(ensureTinyLlama(store), store);
    const newTokens = Number(process.env.EMLAB_BENCH_EVAL_TOKENS ?? 200);
    const items = planItems({ ...paperPlan(0), sampling: { temperature: 1, topP: 1, maxNewTokens: newTokens } }).map((it) => ({ prompt: tok.encodeChat([{ role: 'user', content: it.question }]), seed: it.seed }));
    const dec = await Decoder.open(dir, { dtype });
    const model = decoderStepModel(dec);
    const run = async (n: number, maxBatch: number, tokens = newTokens) => {
      const t = now();
      const r = await generateBatched(model, items.slice(0, n), { maxBatch, sampling: { temperature: 1, topP: 1, maxNewTokens: tokens }, eosTokenIds: [], padTokenId: 0, decode: () => '' });
      const s = now() - t;
      return { answersPerMin: (60 * n) / s, tokensPerS: r.stats.tokensPerSecond };
    };
    await run(2, 2, 4); // warm-up: the first runs of a session are slower
    const b1 = await run(1, 1);
    const longest = Math.max(...items.map((i) => i.prompt.length)) + newTokens;
    const batch = autoBatchSize(cfg, longest, 4);
    const batched = await run(batch, batch);
    await dec.dispose();
    return {
      promptTokens: Math.round(items.reduce((a, i) => a + i.prompt.length, 0) / items.length),
      newTokens,
      b1AnswersPerMin: b1.answersPerMin,
      b1TokensPerS: b1.tokensPerS,
      batch,
      batchedAnswersPerMin: batched.answersPerMin,
      batchedTokensPerS: batched.tokensPerS,
      peakRssGB: process.resourceUsage().maxRSS / 1e6,
      load: loadavg()[0]!,
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

function child(which: string, lock: boolean): unknown {
  const node = [process.execPath, '--import', 'tsx', SELF, which];
  const [cmd, ...args] = lock ? ['flock', '/tmp/emlab-bench.lock', ...node] : node;
  const r = spawnSync(cmd!, args, { env: { ...process.env, ...MALLOC }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`bench case ${which} failed (exit ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice(7));
}

async function main(): Promise<void> {
  const which = process.argv[2];
  if (which) {
    process.stdout.write(`RESULT ${JSON.stringify(await runCase(which))}\n`);
    return;
  }
  if (process.env.EMLAB_BENCH_ONLY === 'eval') return evalTable();
  const bw = child('bandwidth', false) as Bandwidth;
  const bound = Math.max(bw.jsSumGBs, bw.memcpyGBs, bw.ortGemvGBs);
  console.log(`memory read rate: JS sum ${bw.jsSumGBs.toFixed(1)} GB/s (1 thread), memcpy ${bw.memcpyGBs.toFixed(1)} GB/s (1 thread), ORT GEMV over 1 GiB ${bw.ortGemvGBs.toFixed(1)} GB/s -> bound uses ${bound.toFixed(1)} GB/s`);
  const cases: CaseResult[] = [child('tiny', false) as CaseResult, child('tiny-q4', false) as CaseResult];
  if (process.env.EMLAB_BENCH_SKIP_1B !== '1') cases.push(child('1b', true) as CaseResult, child('1b-q4', true) as CaseResult);
  const rows = [['model', 'weights', 'build s', 'load s', 'prefill tok/s (128, b1)', 'decode tok/s b1', 'decode tok/s b8', 'peak RSS GB', 'MB/token', 'GEMV GB/s (same process)', 'b1 decode / bound']];
  for (const c of cases) {
    // Bound: the faster of the standalone probe and the probe run right after this case's decode.
    const gbs = Math.max(bound, c.localGBs);
    const boundTps = (gbs * 1e9) / c.bytesPerToken;
    rows.push([c.name, c.variant, c.buildS === null ? 'cached' : c.buildS.toFixed(1), c.loadS.toFixed(2), c.prefillTps.toFixed(1), c.decodeB1.toFixed(2), c.decodeB8.toFixed(2), c.peakRssGB.toFixed(2), (c.bytesPerToken / 1e6).toFixed(1), c.localGBs.toFixed(1), `${((100 * c.decodeB1) / boundTps).toFixed(0)}% of ${boundTps.toFixed(1)}`]);
  }
  const fp32 = cases.find((c) => c.name.startsWith('Llama') && c.variant === 'fp32');
  const q4 = cases.find((c) => c.name.startsWith('Llama') && c.variant === 'q4');
  if (fp32 && q4) rows.push(['1B q4 / fp32 decode b1', '', '', '', '', `${(q4.decodeB1 / fp32.decodeB1).toFixed(2)}x`, `${(q4.decodeB8 / fp32.decodeB8).toFixed(2)}x`, '', '', '', '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i]!)).join(' | '));
  if (process.env.EMLAB_BENCH_SKIP_1B !== '1') evalTable();
}

function evalTable(): void {
  const res = [child('eval-1b', true) as EvalResult, child('eval-1b-q4', true) as EvalResult];
  console.log(`\nEvaluation generation, paper protocol (8 questions x 50 samples), Llama-3.2-1B shapes, CPU, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('| weights | prompt tokens (mean) | new tokens | batch 1 answers/min | batch 1 tokens/s | batch | batched answers/min | batched tokens/s | speed-up | 400 answers (batched) | peak RSS GB | load during case |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of res) {
    console.log(`| ${r.variant} | ${r.promptTokens} | ${r.newTokens} | ${r.b1AnswersPerMin.toFixed(2)} | ${r.b1TokensPerS.toFixed(2)} | ${r.batch} | ${r.batchedAnswersPerMin.toFixed(2)} | ${r.batchedTokensPerS.toFixed(1)} | ${(r.batchedAnswersPerMin / r.b1AnswersPerMin).toFixed(1)}x | ${(400 / r.batchedAnswersPerMin).toFixed(0)} min | ${r.peakRssGB.toFixed(2)} | ${r.load.toFixed(1)} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
