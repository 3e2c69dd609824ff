// EM Lab beside llama.cpp on the same weights, one table: `npm run bench peers`.
//
// llama.cpp runs through the node-llama-cpp npm package (prebuilt CPU binary, installed on demand into the bench
// cache, never a dependency of the project: peers/llamaCpp.ts). GGUF files are written by EM Lab's own GGUF writer
// and Q4_0/Q6_K quantizers (peers/gguf.ts, peers/ggmlQuant.ts, peers/llamaGguf.ts) from exactly the random weights
// EM Lab's model bench exports (bench1b.ts: Llama-3.2-1B's shapes). Formats: F32, F16, Q4_0 (every matrix, as
// llama-quantize --pure) and Q4_0 with the tied embedding/output in Q6_K (llama-quantize's default Q4_0 mix).
//
// Method. First the writer is checked: a small model with Llama-3's vocabulary is written in every format and
// read back through llama.cpp, whose logits must match a float64 reference on the stored weights (peerCheck.ts).
// Then each engine x format runs in its own Node process (clean peak RSS; glibc malloc tuned as the runtime's
// process is), interleaved: EM Lab fp32, llama.cpp F32, llama.cpp F16, EM Lab q4, llama.cpp Q4_0, Q4_0+Q6_K.
// Both engines run on every core (llama.cpp threads = CPU count; ORT's default) and are measured alike:
//  - prefill: 128 prompt tokens in, the first new token out, batch 1 (median of 3 after a warm-up);
//  - decode b1 / b8: greedy new tokens after a 16-token prompt (1 or 8 rows stepping together), 48 timed after each
//    row's first two new tokens; EM Lab through the app's own path (generateTokens over decoderStepModel for the
//    base model: the plain graph on q4, the LoRA graph with the zero adapter on fp32), llama.cpp through
//    node-llama-cpp's sequence.evaluate (8 sequences of one context, batched into one llama_decode per step);
//  - MB/token: weight bytes one decode step reads (every matrix once, the tied embedding as the output).
// EMLAB_BENCH_PEERS_CASES=emlab-q4,llama-Q4_0 picks cases, in that order (extra variants: emlab-q4-b32, the fused
// graphs with block 32; emlab-q4-lora, base steps on the LoRA graph); EMLAB_BENCH_1B_LAYERS=n cuts the model to n
// layers; EMLAB_BENCH_PEERS_CHECK=0 skips the read-back check; EMLAB_BENCH_PEERS_THREADS=n runs both engines on n
// threads; EMLAB_BENCH_PEERS_ROUNDS=n repeats the case list n times interleaved (this VM's speed drifts by 10-30%
// from minute to minute: use 3 or more for a ratio); EMLAB_BENCH_PEERS_DECODE_STEPS=n sets the timed window.
// Needs ~6 GB RAM and ~12 GB in $TMPDIR (kept for reruns).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Q4_EXPORT_FORMAT, type ExportDType } from '../src/runtime/model/decoderExport';
import { weightBytesPerToken } from '../src/runtime/model/llamaGraph';
import { bench1b, ensureBench1bExport, type BenchExportOptions } from './bench1b';
import { GGUF_FORMATS, ggufBytesPerToken, writeLlamaGguf, type GgufFormat } from './peers/llamaGguf';
import { ensureNodeLlamaCpp, loadLlama, measureLlamaCpp, type PeerSpeeds } from './peers/llamaCpp';
import { measureEmLab } from './peers/peerEmLab';
import { CHECK_LIMIT, checkGgufReadBack, type CheckRow } from './peers/peerCheck';

const SELF = fileURLToPath(import.meta.url);
const MALLOC = { MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '4294967296' };
const CACHE = join(tmpdir(), 'emlab-bench-peers');
/** Bump when the GGUF writer's output changes, so cached files are rewritten. */
const GGUF_VERSION = 1;
/** Threads of both engines: every core (ORT's default) unless EMLAB_BENCH_PEERS_THREADS says (1: per-core speed, far
 *  less disturbed by other processes on a shared machine than two threads meeting at every op's barrier). */
const THREADS = Number(process.env.EMLAB_BENCH_PEERS_THREADS ?? cpus().length);
/** Timed decode steps per row: 48 after 2 untimed (16 gave a 0.5 s window at batch 1, too short on a shared VM). */
const DECODE_STEPS = Number(process.env.EMLAB_BENCH_PEERS_DECODE_STEPS ?? 48);
/** Rounds of the whole case list, interleaved (engine A, B, A, B, ...): the table shows each case's median, and the
 *  ratio column the median of the per-round ratios, so a slow minute of the VM does not decide the comparison. */
const ROUNDS = Number(process.env.EMLAB_BENCH_PEERS_ROUNDS ?? 1);
/** Prompt token i (the model bench's choice: spread over the vocabulary, below the special tokens). */
const tok = (i: number) => (i * 7919 + 13) % 128000;

interface Row extends PeerSpeeds {
  engine: 'EM Lab' | 'llama.cpp';
  weights: string;
  peakRssGB: number;
  bytesPerToken: number;
  buildS: number | null;
}

/**
 * EM Lab's variants: what the app exports now, and the graphs before issue 18 ("before": one product per module,
 * standard-op attention; the same-run baseline for the gain). The app's step model is the same for both.
 */
const EMLAB: Record<string, { dtype: ExportDType; label: string; options: BenchExportOptions; plainBase?: false }> = {
  fp32: { dtype: 'float32', label: 'fp32', options: {} },
  'fp32-before': { dtype: 'float32', label: 'fp32, before (unfused)', options: { fuseProjections: false } },
  q4: { dtype: 'q4', label: 'q4 (MatMulNBits)', options: {} },
  'q4-before': { dtype: 'q4', label: 'q4, before (unfused, block 32)', options: { fuseProjections: false, q4BlockSize: 32, q4Scale: 'absmax7' } },
  // not in the default cases: the fused graphs with the block-32 format of before (Q4_EXPORT_FORMAT's gain alone)
  'q4-b32': { dtype: 'q4', label: 'q4, block 32 absmax7', options: { q4BlockSize: 32, q4Scale: 'absmax7' } },
  // not in the default cases: base steps on the LoRA graph as a zero adapter (before the plain-graph base path)
  'q4-lora': { dtype: 'q4', label: 'q4, base on the LoRA graph', options: {}, plainBase: false },
};
const CASES = ['emlab-fp32-before', 'emlab-fp32', 'llama-F32', 'llama-F16', 'emlab-q4-before', 'emlab-q4', 'llama-Q4_0', 'llama-Q4_0+Q6_K'];

function ggufPath(format: GgufFormat): string {
  const b = bench1b();
  return join(CACHE, `${b.dir.split(/[\\/]/).pop()}-${format}-v${GGUF_VERSION}.gguf`);
}

async function runCase(which: string): Promise<Row | CheckRow[]> {
  const nlc = ensureNodeLlamaCpp(CACHE);
  if (which === 'check') {
    mkdirSync(join(CACHE, 'check'), { recursive: true });
    return checkGgufReadBack(nlc, join(CACHE, 'check'), THREADS);
  }
  const b = bench1b();
  const rss = () => process.resourceUsage().maxRSS / 2 ** 20;
  if (which.startsWith('emlab-')) {
    const v = EMLAB[which.slice(6)]!;
    const { dir, buildS } = ensureBench1bExport(b, v.dtype, v.options);
    const speeds = await measureEmLab(dir, v.dtype, tok, DECODE_STEPS, { ...(process.env.EMLAB_BENCH_PEERS_THREADS ? { threads: THREADS } : {}), ...(v.plainBase === false ? { plainBase: false } : {}) });
    const bytesPerWeight = v.dtype === 'q4' ? 0.5 + 4 / (v.options.q4BlockSize ?? Q4_EXPORT_FORMAT.blockSize) : 4; // q4: 4 bits + an fp32 scale per block
    return { engine: 'EM Lab', weights: v.label, ...speeds, peakRssGB: rss(), bytesPerToken: weightBytesPerToken(b.cfg, bytesPerWeight), buildS };
  }
  const format = which.slice(6) as GgufFormat;
  const path = ggufPath(format);
  let buildS: number | null = null;
  if (!existsSync(path)) {
    mkdirSync(CACHE, { recursive: true });
    const t = performance.now();
    writeLlamaGguf(`${path}.tmp`, b.cfg, b.weights, format, b.label);
    renameSync(`${path}.tmp`, path);
    buildS = (performance.now() - t) / 1000;
  }
  const speeds = await measureLlamaCpp(await loadLlama(nlc), path, THREADS, tok, DECODE_STEPS);
  return { engine: 'llama.cpp', weights: format === 'Q4_0+Q6_K' ? 'Q4_0, Q6_K embeddings' : format, ...speeds, peakRssGB: rss(), bytesPerToken: ggufBytesPerToken(b.cfg, format), buildS };
}

function child(which: string): unknown {
  const node = [process.execPath, '--import', 'tsx', SELF, which];
  const r = spawnSync('flock', ['/tmp/emlab-bench.lock', ...node], { env: { ...process.env, ...MALLOC }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`peer bench case ${which} failed (exit ${r.status ?? r.signal}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice(7));
}

const f1 = (x: number) => x.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const RATIO_KEYS = ['prefillTps', 'decodeB1', 'decodeB8'] as const;
/** One case's rounds as one row: the median of every number (an odd round count keeps each a measured value). */
function medianRow(rows: Row[]): Row {
  const m = (pick: (r: Row) => number) => median(rows.map(pick));
  return { ...rows[0]!, loadS: m((r) => r.loadS), prefillTps: m((r) => r.prefillTps), decodeB1: m((r) => r.decodeB1), decodeB8: m((r) => r.decodeB8), peakRssGB: m((r) => r.peakRssGB) };
}
const load = () => loadavg().map(f1).join(' ');

async function main(): Promise<void> {
  const which = process.argv[2];
  if (which) {
    process.stdout.write(`RESULT ${JSON.stringify(await runCase(which))}\n`);
    return;
  }
  mkdirSync(CACHE, { recursive: true });
  ensureNodeLlamaCpp(CACHE);
  const loadBefore = load();
  if (process.env.EMLAB_BENCH_PEERS_CHECK !== '0') {
    const check = child('check') as CheckRow[];
    console.log('GGUF files read back through llama.cpp (small model, Llama-3 vocabulary): logits vs a float64 reference on the stored weights');
    console.log('| format | llama.cpp vs reference (rel. L2) | limit | the format\'s own effect (rel. L2) | ok |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const c of check) console.log(`| ${c.format} | ${c.readBack.toExponential(2)} | ${CHECK_LIMIT[c.format].toExponential(0)} | ${c.quantization.toExponential(2)} | ${c.ok ? 'yes' : 'NO'} |`);
    if (check.some((c) => !c.ok)) throw new Error('a GGUF file did not read back within its limit: the peer numbers would not be comparable');
  }
  const only = process.env.EMLAB_BENCH_PEERS_CASES?.split(',');
  const cases = only ?? CASES;
  const rounds: Row[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push(cases.map((c) => {
      const r = child(c) as Row;
      console.error(`peers: round ${round + 1}/${ROUNDS} ${c}: prefill ${f1(r.prefillTps)}, decode b1 ${f1(r.decodeB1)}, b8 ${f1(r.decodeB8)} tok/s; load ${load()}`);
      return r;
    }));
  }
  const rows = cases.map((_, k) => medianRow(rounds.map((r) => r[k]!)));
  const b = bench1b();
  console.log(`\n${b.label}; load average ${loadBefore} before, ${load()} after, on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); threads ${THREADS} (both engines)`);
  console.log('| engine | weights | load s | prefill tok/s (128) | decode tok/s b1 | decode tok/s b8 | peak RSS GB | MB/token | EM Lab / llama.cpp (prefill, b1, b8) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const peerOf = (weights: string) => (weights.startsWith('q4') ? 'Q4_0' : 'F32');
  const peerIndex = (r: Row) => (r.engine === 'EM Lab' ? rows.findIndex((p) => p.engine === 'llama.cpp' && p.weights === peerOf(r.weights)) : -1);
  for (const [k, r] of rows.entries()) {
    const p = peerIndex(r);
    const ratio = p < 0 ? '' : `${RATIO_KEYS.map((key) => `${median(rounds.map((round) => round[k]![key] / round[p]![key])).toFixed(2)}x`).join(', ')} (vs ${rows[p]!.weights})`;
    console.log(`| ${r.engine} | ${r.weights} | ${f1(r.loadS)} | ${f1(r.prefillTps)} | ${f1(r.decodeB1)} | ${f1(r.decodeB8)} | ${r.peakRssGB.toFixed(2)} | ${(r.bytesPerToken / 1e6).toFixed(0)} | ${ratio} |`);
  }
  if (ROUNDS > 1) {
    console.log(`\n${ROUNDS} rounds: each cell is the median over the rounds; a ratio is the median of the per-round ratios. Per round (prefill, b1, b8):`);
    for (const [k, r] of rows.entries()) {
      const p = peerIndex(r);
      if (p >= 0) console.log(`- ${r.weights} / ${rows[p]!.weights}: ${rounds.map((round) => RATIO_KEYS.map((key) => (round[k]![key] / round[p]![key]).toFixed(2)).join(' / ')).join('; ')}`);
    }
  }
  writeFileSync(join(CACHE, 'last-run.json'), JSON.stringify({ loadBefore, loadAfter: load(), rows, rounds }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
