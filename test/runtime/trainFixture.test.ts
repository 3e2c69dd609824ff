import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unprotectArchive } from '../../src/runtime/data/easyDatasetShare';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/runtime/train/trainConfig';
import { loadModelForTraining } from '../../src/runtime/train/trainModel';
import { loadTrainData } from '../../src/runtime/train/trainData';
import { runTraining } from '../../src/runtime/train/runTrainer';

// Acceptance (issue 4): on the fixture datasets (decrypted to a temp dir), 200 optimizer steps on tiny-llama lower the
// assistant-token loss by at least 30% from its first value (mean of the last 10 steps vs step 1, whose lr is 0).
// Measured on 2 cores: 32.3 -> 19.9 nats, 38.6% lower (another data order: 40.2%), ~20 s of training, ~30 s in all.
// tiny-llama has random weights and LoRA never touches its tied head, so the loss cannot go below what a random
// 64-wide head allows (measured by fitting the final hidden state directly: always above ln V = 11.8); the drop is
// LoRA learning to steer the final state to that floor (why its final norm is 1.5: TINY_LLAMA_FINAL_NORM).
// Hyperparameters: lr 3e-2 (a random model must move far in 200 steps; the homework's 2e-4 is for a pretrained 1B)
// with 10 warm-up steps and linear decay (the homework's schedule; a constant lr ends 2-4 points lower or higher
// depending on where the last steps' oscillation lands); batch 2 x 96 tokens and r 16 keep it fast.
// Fast enough to run by default; skips, saying so, when ../shared is absent.
const FIXTURE = resolve('../shared/datasets/training_datasets.zip.enc');

describe('training on the fixture datasets (tiny-llama, 200 steps)', function () {
  this.timeout(600_000); // ~30 s on 2 idle cores (decrypt, model and graphs, 200 steps); up to ~180 s seen at load average 15-18, so the margin is wide
  let work: string;
  before(function () {
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
      learningRate: 3e-2, lrScheduler: 'linear', warmupSteps: 10, firstEpochCheckpoints: 0, maxSteps: 200,
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
