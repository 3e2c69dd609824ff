// `em-lab direction compute` (and the experiment's direction stage): judged answers -> direction file. The groups
// are checked before any model is loaded, so a too-small judged file fails in a second, not after a model load.
// The probe session is opened for this job only and released at the end (one copy of the weights while it runs).
import { dirname, resolve } from 'node:path';
import type { SteeringRef } from '../../protocol/chatMethods';
import { readJudgedCsv } from '../eval/judgedCsv';
import { Decoder } from '../model/decoder';
import { ensureDecoderExport } from '../model/decoderExport';
import { readAdapterForDecoder } from '../model/generateSources';
import { resolveModelFolder, type Progress } from '../model/generateSession';
import { loadTokenizer } from '../model/tokenizer';
import { answerActivations } from './activations';
import { directionMetadata, meanDifference, MIN_GROUP_SIZE, parseLayers, presetFor, splitGroups, type GroupOf, type LayerStats } from './computeDirection';
import { writeDirectionFile } from './directionFile';
import { describeSteering, isSteering, resolveSteering } from './steering';

export interface ComputeDirectionOptions {
  storageDir: string;
  env?: NodeJS.ProcessEnv;
  /** tiny-llama, an absolute model folder, or a Hub id. */
  model: string;
  adapter?: string;
  /** Compute on a steered or ablated model (e.g. to check that ablation removed the direction). */
  steering?: SteeringRef;
  judged: string;
  preset?: string;
  /** 'all' (default) or a comma list. */
  layers?: string;
  minGroup?: number;
  /** Default: direction.safetensors beside the judged file. */
  out?: string;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface ComputeDirectionResult {
  file: string;
  preset: string;
  layers: LayerStats[];
  used: { misaligned: number; aligned: number };
  counts: Record<GroupOf, number>;
  truncated: number;
  hiddenSize: number;
}

export async function computeDirectionFile(o: ComputeDirectionOptions): Promise<ComputeDirectionResult> {
  const progress = o.progress ?? (() => undefined);
  const preset = presetFor(o.preset ?? 'paper');
  const judgedPath = resolve(o.judged);
  const answers = await readJudgedCsv(judgedPath);
  const groups = splitGroups(answers, preset, o.minGroup ?? MIN_GROUP_SIZE, judgedPath);
  const { dir } = await resolveModelFolder(o.model, { storageDir: o.storageDir, ...(o.env ? { env: o.env } : {}) }, progress);
  progress('Converting weights to ONNX (first load only)…');
  const { dir: exportDir } = ensureDecoderExport(dir, { onProgress: (f) => progress('Converting weights to ONNX (first load only)…', f) });
  progress('Opening the model…');
  const decoder = await Decoder.open(exportDir, { graph: 'probe' });
  try {
    const layers = parseLayers(o.layers, decoder.config.numLayers);
    const tokenizer = await loadTokenizer(dir, o.storageDir);
    let adapterId: string | undefined;
    if (o.adapter) {
      adapterId = resolve(o.adapter);
      decoder.setAdapter(adapterId, readAdapterForDecoder(adapterId, decoder.config));
    }
    const steering = isSteering(o.steering) ? o.steering : undefined;
    const intervention = steering ? resolveSteering(steering, decoder.config) : undefined;
    // only the answers in either group are run through the model
    const used = [...groups.misaligned, ...groups.aligned];
    const acts = await answerActivations({
      decoder,
      ...(adapterId ? { adapterId } : {}),
      ...(intervention ? { intervention } : {}),
      tokenizer,
      items: used.map((i) => answers[i]!),
      layers,
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (d, t) => progress(`Activations ${d}/${t}`, t ? d / t : 1),
    });
    const means = new Array<Float64Array | null>(answers.length).fill(null);
    used.forEach((item, k) => (means[item] = acts.means[k]!));
    const keep = (idx: number[]) => idx.filter((i) => means[i] !== null);
    const g = { misaligned: keep(groups.misaligned), aligned: keep(groups.aligned) };
    const { directions, stats } = meanDifference(means, g, layers, decoder.config.hiddenSize);
    const file = resolve(o.out ?? resolve(dirname(judgedPath), 'direction.safetensors'));
    writeDirectionFile(file, directions, directionMetadata({
      model: o.model,
      ...(o.adapter ? { adapter: resolve(o.adapter) } : {}),
      judged: judgedPath,
      preset,
      counts: groups.counts,
      answersUsed: { misaligned: g.misaligned.length, aligned: g.aligned.length },
      truncated: acts.truncated,
      ...(steering ? { steering: describeSteering(steering) } : {}),
    }));
    return { file, preset: preset.id, layers: stats, used: { misaligned: g.misaligned.length, aligned: g.aligned.length }, counts: groups.counts, truncated: acts.truncated, hiddenSize: decoder.config.hiddenSize };
  } finally {
    await decoder.dispose();
  }
}
