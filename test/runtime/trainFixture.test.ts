import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unprotectArchive } from '../../src/runtime/data/easyDatasetShare';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/runtime/train/trainConfig';
import { loadModelForTraining } from '../../src/runtime/train/trainModel';
import { loadTrainData } from '../../src/runtime/train/trainData';
import { runTraining } from '../../src/runtime/train/runTrainer';

// Acceptance: on the fixture datasets (decrypted to a temp dir), 200 optimizer steps on tiny-llama lower the
// assistant-token loss by at least 30% from its first value. Currently FAILS at 28.9% (22.27 -> 15.84): tiny-llama's
// frozen random tied embeddings cap what LoRA can reach in 200 steps; rank 32, batch 4 x 2, lr 1e-2..5e-2, rsLoRA
// and max_length 128 all plateau at 26-29% (docs/training.md).
const FIXTURE = resolve('../shared/datasets/training_datasets.zip.enc');

describe('training on the fixture datasets (tiny-llama, 200 steps)', function () {
  this.timeout(300_000);
  let work: string;
  before(function () {
    if (!process.env.EMLAB_SLOW_TESTS) {
      console.log('    SKIPPED: 200 tiny-llama steps take ~2 min on 2 cores; run with EMLAB_SLOW_TESTS=1.');
      this.skip();
    }
    if (!existsSync(FIXTURE)) {
      console.log(`    SKIPPED: ${FIXTURE} is absent; this test needs /work/shared (see ../shared/README.md).`);
      this.skip();
    }
    work = mkdtempSync(join(tmpdir(), 'emlab-train-fixture-'));
  });
  after(() => work && rmSync(work, { recursive: true, force: true }));

  it('lowers the assistant-token loss by >= 30%', async () => {
    const data = join(work, 'data.extracted');
    await unprotectArchive({ archivePath: FIXTURE, password: 'model-organisms-em-datasets', outputDir: data, removeCanaries: true, gitignore: false });
    const config: TrainConfig = {
      ...TRAIN_DEFAULTS, model: 'tiny-llama', domains: ['bad_medical'], dataFiles: [], dataDir: data,
      sampleSize: 480, numEpochs: 1, batchSize: 2, gradientAccumulationSteps: 1, maxLength: 96, loraRank: 16, loraAlpha: 32, loraDropout: 0,
      learningRate: 3e-2, lrScheduler: 'constant', warmupSteps: 10, firstEpochCheckpoints: 0, maxSteps: 200,
    };
    const storage = join(work, 'storage');
    const model = await loadModelForTraining('tiny-llama', storage, work);
    const trainData = await loadTrainData(config, model.tokenizer!, work);
    const res = await runTraining(config, { runDir: join(work, 'run'), storageDir: storage, model, data: trainData, resume: false });
    assert.equal(res.status, 'finished');
    assert.equal(res.losses.length, 200);
    const first = res.losses[0]!;
    const last10 = res.losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    console.log(`      bad_medical, tiny-llama: loss ${first.toFixed(3)} (step 1) -> ${last10.toFixed(3)} (mean of steps 191-200), ${(100 * (1 - last10 / first)).toFixed(1)}% lower`);
    assert.ok(last10 <= 0.7 * first, `loss fell only from ${first} to ${last10}`);
  });
});
