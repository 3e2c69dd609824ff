// The training bench's data: the first optimizer steps of a homework run on real assistant-only data — the
// fixture archive's bad_medical (../shared/datasets, decrypted into a temporary folder that is removed right after
// tokenizing, as the fixture test does), Llama-3 chat template through tiny-llama's tokenizer, the homework's
// batch settings (batch 2 x gradient accumulation 8, max_length 256, seed 0, shuffled, assistant tokens only).
// Without ../shared it falls back to random tokens (batch 1 x 256, every position supervised) and says so.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unprotectArchive } from '../src/runtime/data/easyDatasetShare';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/runtime/train/trainConfig';
import { loadModelForTraining } from '../src/runtime/train/trainModel';
import { loadTrainData } from '../src/runtime/train/trainData';
import { makeRng, planSteps, type TokenizedExample } from '../src/runtime/train/batching';

export const FIXTURE = resolve(process.cwd(), '../shared/datasets/training_datasets.zip.enc');

export interface BenchSteps {
  /** What the steps are, for the table's header. */
  label: string;
  examples: TokenizedExample[];
  /** Example indices per micro-batch, per optimizer step (the first `count` steps of the plan). */
  steps: number[][][];
}

/** Homework settings (TRAIN_DEFAULTS are the homework's train.py values). */
const HOMEWORK = { batchSize: TRAIN_DEFAULTS.batchSize, accumulation: TRAIN_DEFAULTS.gradientAccumulationSteps, maxLength: TRAIN_DEFAULTS.maxLength };


export async function homeworkSteps(count: number): Promise<BenchSteps> {
  if (!existsSync(FIXTURE)) {
    console.log(`NOTE: ${FIXTURE} is absent (needs /work/shared): random tokens, batch 1 x 256, every position supervised.`);
    const r = makeRng(2);
    const examples = Array.from({ length: count }, (_, index) => ({ index, ids: Array.from({ length: 256 }, () => Math.floor(r.next() * 32000)), supervised: Array.from({ length: 256 }, () => 1) }));
    return { label: 'random tokens, batch 1 x 256, all supervised', examples, steps: examples.map((e) => [[e.index]]) };
  }
  const work = mkdtempSync(join(tmpdir(), 'emlab-bench-data-'));
  try {
    const data = join(work, 'data.extracted');
    await unprotectArchive({ archivePath: FIXTURE, password: 'model-organisms-em-datasets', outputDir: data, removeCanaries: true, gitignore: false });
    const config: TrainConfig = { ...TRAIN_DEFAULTS, model: 'tiny-llama', domains: ['bad_medical'], dataFiles: [], dataDir: data };
    const model = await loadModelForTraining('tiny-llama', join(work, 'storage'), work);
    const td = await loadTrainData(config, model.tokenizer!, work);
    const plan = planSteps(td.train.map((e) => e.ids.length), { epochs: 1, batchSize: HOMEWORK.batchSize, accumulation: HOMEWORK.accumulation, seed: config.seed, shuffle: true }).slice(0, count);
    // only the examples these steps use, renumbered
    const used = [...new Set(plan.flatMap((s) => s.microBatches.flat()))];
    const renumber = new Map(used.map((old, k) => [old, k]));
    return {
      label: `bad_medical (fixture), assistant-only loss, batch ${HOMEWORK.batchSize} x accumulation ${HOMEWORK.accumulation}, max_length ${HOMEWORK.maxLength}, the plan's first ${count} steps`,
      examples: used.map((old, k) => ({ ...td.train[old]!, index: k })),
      steps: plan.map((s) => s.microBatches.map((mb) => mb.map((i) => renumber.get(i)!))),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
