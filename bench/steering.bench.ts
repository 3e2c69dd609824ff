// What the steering/ablation inputs cost when they are off (zero feeds, residualHooks.ts), and when on.
//
// Method. Two exports of the same random weights in one process: the LoRA graph with the hooks (what EM Lab ships)
// and without (`residualHooks: false`, the graph before issue 16). Each measurement alternates the graphs run by
// run (A B A B ...), so machine load hits both alike; medians of the runs after two warm-ups each. Cases:
//  - prefill: 128 tokens, batch 1, num_logits_to_keep 1 (as generation does);
//  - decode b1 / b8: single-token steps with a 64-token KV cache;
// for tiny-llama and for Llama-3.2-1B's per-layer shapes cut to EMLAB_BENCH_1B_LAYERS layers (default 2; random
// weights, hidden 2048, vocab 128256). Columns: time per run without hooks, with hooks off (zero feeds), with
// steering + ablation on, and the ratios. Run under the machine-wide lock: flock /tmp/em-lab-heavy.lock npm run bench steering
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, type KvCache, type ResidualIntervention } from '../src/runtime/model/decoder';
import { writeDecoderExport } from '../src/runtime/model/decoderExport';
import { parseLlamaConfig, toHfConfigJson, type LlamaConfig } from '../src/runtime/model/llamaConfig';
import { tinyLlamaWeights, TINY_LLAMA_CONFIG } from '../src/runtime/model/tinyLlama';
import { LLAMA_3_2_1B_CONFIG } from '../test/support/llama1bConfig';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function exportPair(cfg: LlamaConfig, root: string): Promise<{ hooked: Decoder; plain: Decoder }> {
  const open = async (name: string, residualHooks: boolean) => {
    const dir = join(root, name);
    writeDecoderExport(cfg, tinyLlamaWeights(cfg), dir, { maxPositions: 256, residualHooks });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfigJson(cfg)));
    return Decoder.open(dir);
  };
  return { hooked: await open('hooked', true), plain: await open('plain', false) };
}

type Run = (d: Decoder, iv?: ResidualIntervention) => Promise<unknown>;

/** Alternates plain / hooked-off / hooked-on runs; returns the three medians in ms. */
async function race(pair: { hooked: Decoder; plain: Decoder }, run: Run, iv: ResidualIntervention, n: number): Promise<[number, number, number]> {
  const variants: [Decoder, ResidualIntervention | undefined][] = [[pair.plain, undefined], [pair.hooked, undefined], [pair.hooked, iv]];
  const times: number[][] = [[], [], []];
  for (let i = 0; i < n + 2; i++) {
    for (const [k, [d, x]] of variants.entries()) {
      const t = performance.now();
      await run(d, x);
      if (i >= 2) times[k]!.push(performance.now() - t);
    }
  }
  return times.map(median) as [number, number, number];
}

function cases(cfg: LlamaConfig): { name: string; run: Run; n: number }[] {
  const ids = (b: number, s: number) => BigInt64Array.from({ length: b * s }, (_, i) => BigInt(1000 + (i % 500)));
  const ones = (n: number) => new BigInt64Array(n).fill(1n);
  const positions = (b: number, s: number, from = 0) => BigInt64Array.from({ length: b * s }, (_, i) => BigInt(from + (i % s)));
  const caches = new Map<string, KvCache>();
  const cacheFor = async (d: Decoder, b: number) => {
    const key = `${d.dir}:${b}`;
    let c = caches.get(key);
    if (!c) {
      c = (await d.forward({ inputIds: ids(b, 64), batch: b, seq: 64, attentionMask: ones(b * 64), positionIds: positions(b, 64), logitsToKeep: 1 })).presents;
      caches.set(key, c);
    }
    return c;
  };
  const decode = (b: number): Run => async (d, iv) => {
    const past = await cacheFor(d, b);
    await d.forward({ inputIds: ids(b, 1), batch: b, seq: 1, attentionMask: ones(b * 65), positionIds: positions(b, 1, 64), past }, undefined, iv ? { intervention: iv } : {});
  };
  const big = cfg.hiddenSize > 1000;
  return [
    { name: 'prefill 128, b1', run: (d, iv) => d.forward({ inputIds: ids(1, 128), batch: 1, seq: 128, attentionMask: ones(128), positionIds: positions(1, 128), logitsToKeep: 1 }, undefined, iv ? { intervention: iv } : {}), n: big ? 7 : 25 },
    { name: 'decode b1', run: decode(1), n: big ? 15 : 60 },
    { name: 'decode b8', run: decode(8), n: big ? 9 : 40 },
  ];
}

async function main(): Promise<void> {
  const layers = Number(process.env.EMLAB_BENCH_1B_LAYERS ?? 2);
  const models: [string, LlamaConfig][] = [
    ['tiny-llama', TINY_LLAMA_CONFIG],
    [`Llama-3.2-1B shapes, ${layers} layers`, { ...parseLlamaConfig(LLAMA_3_2_1B_CONFIG), numLayers: layers }],
  ];
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('| model | case | no hooks ms | hooks off ms | off / none | steer+ablate ms | on / none |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, cfg] of models) {
    const root = mkdtempSync(join(tmpdir(), 'emlab-bench-steer-'));
    try {
      const pair = await exportPair(cfg, root);
      const u = new Float32Array(cfg.hiddenSize).fill(1 / Math.sqrt(cfg.hiddenSize));
      const iv: ResidualIntervention = { steer: { layer: 0, vector: u.map((x) => 4 * x) }, ablate: u };
      for (const c of cases(cfg)) {
        const [none, off, on] = await race(pair, c.run, iv, c.n);
        console.log(`| ${label} | ${c.name} | ${none.toFixed(2)} | ${off.toFixed(2)} | ${(off / none).toFixed(3)} | ${on.toFixed(2)} | ${(on / none).toFixed(3)} |`);
      }
      await pair.hooked.dispose();
      await pair.plain.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
