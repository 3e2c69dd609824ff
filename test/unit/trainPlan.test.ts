import { strict as assert } from 'node:assert';
import { checkSupervision, packStep, planSteps, type TokenizedExample } from '../../src/runtime/train/batching';
import { lrAt, warmupSteps } from '../../src/runtime/train/schedule';
import { checkpointSteps } from '../../src/runtime/train/runTrainer';
import { TRAIN_DEFAULTS, validateTrainConfig, configDifferences, type TrainConfig } from '../../src/runtime/train/trainConfig';

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...TRAIN_DEFAULTS, model: 'tiny-llama', domains: ['bad_medical'], dataFiles: [], ...over });

describe('training plan, schedule, checkpoints and config checks', () => {
  it('each epoch visits every example once, reshuffled per epoch and reproducible per seed; steps sort by length', () => {
    const lengths = Array.from({ length: 23 }, (_, i) => 5 + ((i * 7) % 11));
    const o = { epochs: 3, batchSize: 2, accumulation: 3, seed: 4, shuffle: true };
    const plan = planSteps(lengths, o);
    assert.equal(plan.length, 3 * Math.ceil(23 / 6));
    for (let e = 0; e < 3; e++) assert.deepEqual(plan.filter((s) => s.epoch === e).flatMap((s) => s.microBatches.flat()).sort((a, b) => a - b), lengths.map((_, i) => i));
    assert.notDeepEqual(plan[0]!.microBatches, plan[4]!.microBatches);
    assert.deepEqual(planSteps(lengths, o), plan);
    assert.notDeepEqual(planSteps(lengths, { ...o, seed: 5 }), plan);
    for (const s of plan) {
      const ls = s.microBatches.flat().map((i) => lengths[i]!);
      assert.deepEqual(ls, [...ls].sort((a, b) => b - a));
    }
    assert.deepEqual(planSteps([3, 4, 5], { ...o, epochs: 1, shuffle: false, batchSize: 1, accumulation: 1 }).map((s) => s.microBatches[0]![0]), [0, 1, 2]);
  });

  it('packs next-token targets and loss weights, padding short micro-batches with empty rows', () => {
    const ex: TokenizedExample[] = [{ index: 0, ids: [10, 11, 12], supervised: [0, 1, 1] }, { index: 1, ids: [20, 21], supervised: [0, 1] }, { index: 2, ids: [30, 31, 32, 33], supervised: [0, 0, 1, 1] }];
    const t = packStep(ex, [[2, 0], [1]], 99);
    assert.deepEqual([t.micro, t.batch, t.seq], [2, 2, 4]);
    assert.deepEqual(Array.from(t.inputIds, Number), [30, 31, 32, 33, 10, 11, 12, 99, 20, 21, 99, 99, 99, 99, 99, 99]);
    assert.deepEqual(Array.from(t.targets, Number), [31, 32, 33, 0, 11, 12, 0, 0, 21, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(t.lossWeights), [0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(t.attentionMask, Number), [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(t.supervisedTokens, 5);
    assert.throws(() => checkSupervision([{ index: 7, ids: [1, 2], supervised: [1, 0] }], [{ epoch: 0, microBatches: [[0]] }]), /no supervised token.*row 7.*--max_length/);
  });

  it('warm-up then linear / cosine decay as in transformers (first step lr 0 with warm-up)', () => {
    const c = { lr: 1e-3, scheduler: 'linear' as const, warmupSteps: 4, totalSteps: 14 };
    assert.deepEqual([0, 2, 4, 9, 14].map((s) => lrAt(s, c)), [0, 5e-4, 1e-3, 5e-4, 0]);
    assert.ok(Math.abs(lrAt(9, { ...c, scheduler: 'cosine' }) - 5e-4) < 1e-12);
    assert.ok(Math.abs(lrAt(6.5, { ...c, scheduler: 'cosine' }) - 1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25))) < 1e-12);
    assert.equal(lrAt(10, { ...c, scheduler: 'constant' }), 1e-3);
    assert.equal(warmupSteps(0.1, 95), 10);
    assert.equal(warmupSteps(100, 95), 100);
  });

  it('checkpoints: each epoch end, 4 evenly spaced in epoch 1, every save_steps, the last step', () => {
    const plan = planSteps(Array.from({ length: 40 }, () => 5), { epochs: 2, batchSize: 2, accumulation: 1, seed: 0, shuffle: true });
    assert.deepEqual([...checkpointSteps(plan, config({ firstEpochCheckpoints: 4 }), plan.length)].sort((a, b) => a - b), [5, 10, 15, 20, 40]);
    assert.deepEqual([...checkpointSteps(plan, config({ firstEpochCheckpoints: 0, saveSteps: 15 }), 33)].sort((a, b) => a - b), [15, 20, 30, 33]);
  });

  it('refuses bad options with the option name, and lists differences for resume', () => {
    assert.throws(() => validateTrainConfig(config({ loraRank: 0 })), /--lora_rank must be a positive integer/);
    assert.throws(() => validateTrainConfig(config({ learningRate: 2 })), /--learning_rate/);
    assert.throws(() => validateTrainConfig(config({ targetModules: ['qq_proj' as never] })), /--target_modules must be comma-separated, from q_proj, .*got \["qq_proj"\]/);
    assert.throws(() => validateTrainConfig(config({ domains: [], dataFiles: [] })), /--domains.*--data/);
    assert.throws(() => validateTrainConfig(config({ evalSplit: 1.5 })), /--eval_split/);
    assert.deepEqual(configDifferences(config(), config({ loraRank: 8, device: 'cuda' })), ['loraRank: 16 -> 8']);
  });
});
