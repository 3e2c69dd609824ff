// ORT's 4-bit kernel alone, against this machine's memory bandwidth: `npm run bench q4kernel`.
//
// Why: a q4 decode step is ~90% com.microsoft MatMulNBits (issue 18's profiles), so batch-1 decoding can only be as
// fast as that kernel reads weights. This bench times exactly a 1B decode step's products — per layer q/k/v fused
// [3072 x 2048], o [2048 x 2048], gate/up fused [16384 x 2048], down [2048 x 8192], 16 layers, and the lm_head
// [128256 x 2048] — as independent MatMulNBits nodes of one graph (random 4-bit codes, accuracy_level 4 as the
// exports use), for several block sizes, and beside them an fp32 GEMV over 512 MB (MLAS SGEMV: the bandwidth one
// kernel reaches here, the ceiling a weight-streaming GEMV can hope for).
//
// Method. One session per block size, all in this process; runs alternate (32, 64, 128, 32, 64, ...) so the VM's
// drift hits every variant alike; each cell is the median over the rounds, the ratio the median of per-round
// ratios to the export format's block size. Spinning is off for these sessions (an idle session's spinning
// workers would steal the cores from the one running). Batch 1 (decode) and 128 rows (a prefill's products).
// Then what each block size costs in accuracy: the relative RMS dequantization error of the export's scale rule
// (quantize.ts) on Gaussian and on heavier-tailed (Student-t, 5 degrees of freedom) weights, since a faster block
// size is only an option if it does not round the model more coarsely.
// EMLAB_BENCH_Q4K_ROUNDS (default 20 for batch 1, a quarter of that for 128 rows), EMLAB_BENCH_Q4K_BLOCKS (default
// 32,64,128), EMLAB_BENCH_Q4K_THREADS (default: ORT's choice, every core).
import { cpus, loadavg } from 'node:os';
import { Q4_EXPORT_FORMAT } from '../src/runtime/model/decoderExport';
import { q4RelativeError } from '../src/runtime/model/quantize';
import { GraphBuilder, type Value } from '../src/runtime/onnx/graphBuilder';
import { createSession, tensor, type OrtSession, type OrtTensor } from '../src/runtime/onnx/ort';
import { toModelBytes } from '../src/runtime/onnx/serialize';
import { mulberry32 } from '../src/runtime/random';

const H = 2048, I = 8192, LAYERS = 16, VOCAB = 128256;
const BLOCKS = (process.env.EMLAB_BENCH_Q4K_BLOCKS ?? '32,64,128').split(',').map(Number);
const ROUNDS = Number(process.env.EMLAB_BENCH_Q4K_ROUNDS ?? 20);
const THREADS = process.env.EMLAB_BENCH_Q4K_THREADS ? Number(process.env.EMLAB_BENCH_Q4K_THREADS) : undefined;
const SESSION = { ...(THREADS ? { threads: THREADS } : {}), config: { 'session.intra_op.allow_spinning': '0' } };

/** Deterministic random bytes: 4-bit codes with no structure a kernel could exploit. */
function codes(n: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

/** The step's products at one block size; returns the model and the weight bytes one run reads. */
function stepProducts(rows: number, block: number): { model: Uint8Array; bytes: number; weights: number } {
  const g = new GraphBuilder('q4_step_products', [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }]);
  const x = g.input('x', 'float32', [rows, H]);
  const x8 = g.input('x8', 'float32', [rows, I]);
  let bytes = 0, weights = 0, seed = 1;
  const product = (input: Value, n: number, k: number, name: string) => {
    const nBlocks = k / block;
    const packed = g.initializer(`${name}.q4`, 'uint8', [n, nBlocks, block / 2], codes((n * nBlocks * block) / 2, seed++));
    const scales = g.initializer(`${name}.scales`, 'float32', [n * nBlocks], Float32Array.from({ length: n * nBlocks }, (_, i) => 0.01 + (i % 7) * 1e-3));
    bytes += n * nBlocks * (block / 2 + 4);
    weights += n * k;
    g.output(g.op('MatMulNBits', [input, packed, scales], { K: k, N: n, bits: 4, block_size: block, accuracy_level: 4 }, { domain: 'com.microsoft', outputInfo: [{ dtype: 'float32', shape: [rows, n] }] }), name);
  };
  for (let l = 0; l < LAYERS; l++) {
    product(x, 3 * 1024, H, `l${l}.qkv`); // Llama-3.2-1B: 32 q heads + 2 x 8 kv heads of 64
    product(x, H, H, `l${l}.o`);
    product(x, 2 * I, H, `l${l}.gate_up`);
    product(x8, H, I, `l${l}.down`);
  }
  if (rows === 1) product(x, VOCAB, H, 'lm_head'); // a prefill needs the head for its last position only
  return { model: toModelBytes(g), bytes, weights };
}

/** fp32 GEMV [1, 2048] x [2048, 65536] (512 MB): the bandwidth MLAS's SGEMV gets from this machine. */
function sgemv(): { model: Uint8Array; bytes: number; weights: number } {
  const K = 65536;
  const g = new GraphBuilder('sgemv', [{ domain: '', version: 21 }]);
  const x = g.input('x', 'float32', [1, H]);
  g.output(g.op('MatMul', [x, g.initializer('w', 'float32', [H, K], new Float32Array(H * K).fill(1e-3))]), 'y');
  return { model: toModelBytes(g), bytes: H * K * 4, weights: H * K };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f1 = (x: number) => x.toFixed(1);

async function measure(rows: number, rounds: number): Promise<void> {
  const variants: { label: string; block?: number; session: OrtSession; bytes: number; weights: number }[] = [];
  for (const block of BLOCKS) {
    const { model, bytes, weights } = stepProducts(rows, block);
    variants.push({ label: `MatMulNBits, blocks of ${block}${block === Q4_EXPORT_FORMAT.blockSize ? ' (the export format)' : ''}`, block, session: (await createSession(model, SESSION)).session, bytes, weights });
  }
  if (rows === 1) {
    const { model, bytes, weights } = sgemv();
    variants.push({ label: 'fp32 GEMV over 512 MB (MLAS SGEMV, bandwidth reference)', session: (await createSession(model, { ...SESSION, config: { ...SESSION.config, 'session.disable_prepacking': '1' } })).session, bytes, weights });
  }
  const feeds = (v: (typeof variants)[number]): Record<string, OrtTensor> =>
    v.block === undefined
      ? { x: tensor('float32', new Float32Array(H).fill(1), [1, H]) }
      : { x: tensor('float32', Float32Array.from({ length: rows * H }, (_, i) => Math.sin(i)), [rows, H]), x8: tensor('float32', Float32Array.from({ length: rows * I }, (_, i) => Math.cos(i)), [rows, I]) };
  const inputs = variants.map(feeds);
  for (const [k, v] of variants.entries()) for (let w = 0; w < 2; w++) await v.session.run(inputs[k]!);
  const ms: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [k, v] of variants.entries()) {
      const t = performance.now();
      await v.session.run(inputs[k]!);
      ms[k]!.push(performance.now() - t);
    }
  }
  const ref = variants.findIndex((v) => v.block === Q4_EXPORT_FORMAT.blockSize);
  console.log(`\n${rows === 1 ? 'Batch 1 (a decode step\'s products, lm_head included)' : `${rows} rows (a prefill's products, no lm_head)`}: ${rounds} rounds, load average ${loadavg().map(f1).join(' ')}`);
  console.log(`| kernel | MB per run | ms per run (median) | ${rows === 1 ? 'GB/s of weights' : 'GOP/s (2 per multiply-add)'} | ${rows === 1 ? 'decode tok/s if nothing else ran' : 'prefill tok/s if nothing else ran'} | speed vs blocks of ${Q4_EXPORT_FORMAT.blockSize} |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [k, v] of variants.entries()) {
    const m = median(ms[k]!);
    const isStep = v.block !== undefined;
    const ratio = isStep && ref >= 0 ? `${median(ms[k]!.map((t, r) => ms[ref]![r]! / t)).toFixed(2)}x` : '';
    const rate = rows === 1 ? v.bytes / m / 1e6 : (2 * rows * v.weights) / m / 1e6;
    console.log(`| ${v.label} | ${(v.bytes / 1e6).toFixed(0)} | ${m.toFixed(2)} | ${f1(rate)} | ${isStep ? f1((rows * 1000) / m) : ''} | ${ratio} |`);
  }
  for (const v of variants) await v.session.release();
}

/** Standard normal draws (Box-Muller), or Student-t with `dof` degrees of freedom. */
function draws(n: number, seed: number, dof?: number): Float32Array {
  const next = mulberry32(seed);
  const u = () => 1 - next(); // (0, 1]: log() stays finite
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return Float32Array.from({ length: n }, () => {
    if (!dof) return normal();
    let chi2 = 0;
    for (let j = 0; j < dof; j++) chi2 += normal() ** 2;
    return normal() / Math.sqrt(chi2 / dof);
  });
}

function accuracy(): void {
  const n = 256, k = 2048;
  const samples = [{ label: 'Gaussian', w: draws(n * k, 7) }, { label: 'Student-t (5 dof)', w: draws(n * k, 7, 5) }];
  console.log(`\nRelative RMS dequantization error of [${n} x ${k}] random weights, scale rule '${Q4_EXPORT_FORMAT.scale}' (and block 32 with 'absmax7', the q4 format before issue 18)`);
  console.log(`| block size | ${samples.map((x) => x.label).join(' | ')} |`);
  console.log(`| --- | ${samples.map(() => '---').join(' | ')} |`);
  const row = (label: string, block: number, rule: typeof Q4_EXPORT_FORMAT.scale | 'absmax7') =>
    console.log(`| ${label} | ${samples.map((x) => q4RelativeError(x.w, n, k, block, rule).toFixed(4)).join(' | ')} |`);
  row('32, absmax7 (before)', 32, 'absmax7');
  for (const block of BLOCKS) row(`${block}${block === Q4_EXPORT_FORMAT.blockSize ? ' (the export format)' : ''}`, block, Q4_EXPORT_FORMAT.scale);
}

async function main(): Promise<void> {
  console.log(`Llama-3.2-1B decode-step products as com.microsoft MatMulNBits (accuracy_level 4), ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), threads ${THREADS ?? 'ORT default'}`);
  await measure(1, ROUNDS);
  await measure(128, Math.max(3, Math.round(ROUNDS / 4)));
  accuracy();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
