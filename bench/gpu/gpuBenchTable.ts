// The one table bench/gpu.sh prints: reads every phase's JSON (or its .err reason) from the results folder, so a
// failed phase shows why instead of hiding the others.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { peakTflops } from './gpuBenchShape';

type Json = Record<string, unknown>;

function readJson(dir: string, name: string): Json | undefined {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

function reason(dir: string, name: string): string {
  const file = join(dir, `${name}.err`);
  if (!existsSync(file)) return 'did not run';
  const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  const last = (lines[lines.length - 1] ?? 'no output').slice(0, 110);
  return last.startsWith('skipped') ? last : `FAILED: ${last}`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmt = (v: number | undefined, digits = 1, unit = '') => (v === undefined ? '-' : `${v.toFixed(digits)}${unit}`);

export function printTable(dir: string): void {
  const env = readJson(dir, 'env') ?? {};
  const gpu = String(env.gpu ?? 'unknown GPU');
  const peak = num(env.peakTflops) ?? peakTflops(gpu);
  const setup = readJson(dir, 'cuda-setup');
  const probe = readJson(dir, 'probe');
  const em = readJson(dir, 'emlab-train');
  const dec = readJson(dir, 'emlab-decode');
  const peft = readJson(dir, 'peft');
  const memEm = num(readJson(dir, 'mem-emlab-train')?.peakMiB);
  const memPeft = num(readJson(dir, 'mem-peft')?.peakMiB);

  const emTps = num(em?.tokensPerSecond);
  const peftTps = num(peft?.tokensPerSecond);
  const flops = num(em?.flopsPerToken) ?? num(peft?.flopsPerToken);
  const tflops = (tps: number | undefined) => (tps !== undefined && flops !== undefined ? (tps * flops) / 1e12 : undefined);
  const mfu = (tps: number | undefined) => {
    const t = tflops(tps);
    return t !== undefined && peak ? (100 * t) / peak : undefined;
  };
  const emLosses = (em?.losses as number[] | undefined) ?? [];
  const peftLosses = (peft?.losses as number[] | undefined) ?? [];
  const pairs = Math.min(emLosses.length, peftLosses.length);
  let worstRel: number | undefined;
  for (let k = 0; k < pairs; k++) {
    const rel = Math.abs(emLosses[k]! - peftLosses[k]!) / Math.abs(peftLosses[k]!);
    worstRel = Math.max(worstRel ?? 0, rel);
  }
  const ratio = emTps !== undefined && peftTps !== undefined ? emTps / peftTps : undefined;

  const rows: [string, string, string, string][] = [
    ['device', gpu, String(peft?.torch ?? '-'), peak ? `peak ${peak} dense fp16/bf16 TFLOP/s` : 'peak unknown'],
    ['CUDA EP', setup ? `${setup.installedFrom ?? '?'} (ORT ${setup.version ?? '?'}, CUDA ${setup.cudaMajor ?? '?'})` : reason(dir, 'cuda-setup'), '-', probe ? (probe.available ? 'probe session ran on CUDA' : `probe: ${String(probe.reason).slice(0, 120)}`) : reason(dir, 'probe')],
    ['train precision', String(em?.precision ?? '-'), String(peft?.precision ?? '-'), 'frozen weights half, LoRA + AdamW fp32'],
    ['train device', em ? `${em.device}${em.fallbackReason ? ` (fallback: ${String(em.fallbackReason).slice(0, 80)})` : ''}` : reason(dir, 'emlab-train'), peft ? String(peft.device) : reason(dir, 'peft'), ''],
    ['nodes on CPU', readJson(dir, 'ep-assignment') ? (readJson(dir, 'ep-assignment')!.cpuNodes ? 'some (ORT warned; see emlab-train.log)' : 'none') : '-', '-', 'CUDA EP kernels missing for a dtype/op'],
    ['train tokens/s', fmt(emTps, 0), fmt(peftTps, 0), ratio !== undefined ? `EM Lab / PEFT = ${ratio.toFixed(2)}x (target >= 1.0x)` : ''],
    ['achieved TFLOP/s', fmt(tflops(emTps)), fmt(tflops(peftTps)), flops ? `${(flops / 1e9).toFixed(2)} GFLOP per token (4N + 6·LoRA + attention)` : ''],
    ['MFU', fmt(mfu(emTps), 1, '%'), fmt(mfu(peftTps), 1, '%'), 'target >= 40%'],
    ['GPU memory peak (nvidia-smi)', fmt(memEm, 0, ' MiB'), fmt(memPeft, 0, ' MiB'), peft?.maxAllocatedMiB ? `torch max allocated ${fmt(num(peft.maxAllocatedMiB), 0, ' MiB')}` : ''],
    ['graph build + session', em ? `${fmt(num(em.buildSeconds))} s + ${fmt(num(em.sessionSeconds))} s` : '-', peft ? `${fmt(num(peft.loadSeconds))} s load` : '-', ''],
    ['loss step 1 / last', emLosses.length ? `${emLosses[0]!.toFixed(4)} / ${emLosses[emLosses.length - 1]!.toFixed(4)}` : '-', peftLosses.length ? `${peftLosses[0]!.toFixed(4)} / ${peftLosses[peftLosses.length - 1]!.toFixed(4)}` : '-', `${pairs} steps compared`],
    ['grad norm step 1', fmt(num((em?.gradNorms as number[] | undefined)?.[0]), 4), fmt(num((peft?.gradNorms as number[] | undefined)?.[0]), 4), 'before clipping; same weights, adapter, batch'],
    ['loss max rel diff', worstRel !== undefined ? `${(100 * worstRel).toFixed(3)}%` : '-', '', 'target <= 1%'],
    ['decode tokens/s (batch 1)', dec ? `${fmt(num(dec.decodeTokensPerSecond))} on ${dec.device}` : reason(dir, 'emlab-decode'), peft?.decodeTokensPerSecond ? fmt(num(peft.decodeTokensPerSecond)) : peft ? '-' : reason(dir, 'peft'), 'greedy, LoRA r16 active, fp16'],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), ['metric', 'EM Lab', 'PyTorch + PEFT', 'note'][c]!.length));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    [line(['metric', 'EM Lab', 'PyTorch + PEFT', 'note']), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n') + '\n',
  );
  if (pairs) {
    process.stdout.write(`losses EM Lab: ${emLosses.map((l) => l.toFixed(4)).join(' ')}\nlosses PEFT:   ${peftLosses.map((l) => l.toFixed(4)).join(' ')}\n`);
  }
}
