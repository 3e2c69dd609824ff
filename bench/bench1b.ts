// The random-weight model with Llama-3.2-1B's exact shapes that the model and peer benches share: weights from
// tinyLlamaWeights(cfg, 1), exported once per dtype into $TMPDIR/emlab-bench-1b (kept for reruns; rebuilt when the
// export schema changes). EMLAB_BENCH_1B_LAYERS=n keeps n of the 16 layers (same per-layer shapes, a cheaper check).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPORT_SCHEMA_VERSION, Q4_EXPORT_FORMAT, suffixFor, writeDecoderExport, type ExportDType, type ExportManifest, type ExportOptions } from '../src/runtime/model/decoderExport';
import { parseLlamaConfig, toHfConfigJson, type LlamaConfig } from '../src/runtime/model/llamaConfig';
import type { LlamaWeights } from '../src/runtime/model/llamaGraph';
import { tinyLlamaWeights } from '../src/runtime/model/tinyLlama';
import { LLAMA_3_2_1B_CONFIG } from '../test/support/llama1bConfig';

export interface Bench1b {
  cfg: LlamaConfig;
  weights: LlamaWeights;
  /** Export folder (config.json + onnx/). */
  dir: string;
  label: string;
}

export function bench1b(): Bench1b {
  const layers = Number(process.env.EMLAB_BENCH_1B_LAYERS ?? 16);
  const cfg = { ...parseLlamaConfig(LLAMA_3_2_1B_CONFIG), numLayers: layers };
  return {
    cfg,
    weights: tinyLlamaWeights(cfg, 1),
    dir: join(tmpdir(), layers === 16 ? 'emlab-bench-1b' : `emlab-bench-1b-L${layers}`),
    label: layers === 16 ? 'Llama-3.2-1B shapes (random)' : `Llama-3.2-1B shapes, ${layers} of 16 layers`,
  };
}

/** Export options a bench compares (defaults: what the app exports); each variant gets its own folder. */
export type BenchExportOptions = Pick<ExportOptions, 'fuseProjections' | 'q4BlockSize' | 'q4Scale'>;

export function benchExportDir(b: Bench1b, o: BenchExportOptions = {}): string {
  return `${b.dir}${o.fuseProjections === false ? '-unfused' : ''}${o.q4BlockSize ? `-block${o.q4BlockSize}` : ''}${o.q4Scale ? `-${o.q4Scale}` : ''}`;
}

/** Writes the export for `dtype` unless an up-to-date one is there; returns its folder and the seconds it took (null: cached). */
export function ensureBench1bExport(b: Bench1b, dtype: ExportDType, o: BenchExportOptions = {}): { dir: string; buildS: number | null } {
  const dir = benchExportDir(b, o);
  const stamp = 'random-1b-v1';
  const manifest = join(dir, 'onnx', `export${suffixFor(dtype)}.json`);
  const m = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as ExportManifest) : undefined;
  // q4: the block format too (a manifest without one is block 32 from before Q4_EXPORT_FORMAT)
  const formatOk = dtype !== 'q4' || ((m?.q4BlockSize ?? 32) === (o.q4BlockSize ?? Q4_EXPORT_FORMAT.blockSize) && (m?.q4Scale ?? 'absmax7') === (o.q4Scale ?? Q4_EXPORT_FORMAT.scale));
  if (m?.schemaVersion === EXPORT_SCHEMA_VERSION && m.sourceStamp === stamp && formatOk) return { dir, buildS: null };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfigJson(b.cfg)));
  const t = performance.now();
  writeDecoderExport(b.cfg, b.weights, dir, { dtype, stamp, ...o });
  return { dir, buildS: (performance.now() - t) / 1000 };
}
