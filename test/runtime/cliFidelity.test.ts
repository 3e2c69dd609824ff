// "No silently wrong experiment" (issue 10, items 3 and 4), through the real CLI: surplus arguments are errors
// naming them; --domains takes several values and trains on their union; `em-lab train` defaults to
// risky_financial and Llama-3.2-1B-Instruct (offline: an error saying how to get it); an adapter brings its
// base model, --model may be an adapter or a run, and a different --model is warned about; one epoch story across
// run.json, `train status` and training_details.md on a run stopped by --max_steps.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateCommand } from '../../src/runtime/cli/generateCommands';
import { trainConfigFromArgs } from '../../src/runtime/cli/trainCommands';
import { sessionsFor } from '../../src/runtime/model/generateSession';
import { ensureTinyLlama } from '../../src/runtime/model/tinyLlama';
import { readMetrics, readRunJson } from '../../src/runtime/train/runDir';
import { describeEpochs } from '../../src/runtime/train/epochs';
import { epochText } from '../../media/training/epochText';
import { captureIO } from '../support/captureIO';
import { writeRandomAdapter } from '../support/randomAdapter';

const CLI = resolve('dist/cli.js');
// Nothing answers here: a Hub download fails at once, as offline.
const OFFLINE = { HF_ENDPOINT: 'http://127.0.0.1:9' };

function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...OFFLINE, ...env }, encoding: 'utf8' });
}

function dataset(dir: string, file: string, marker: string): void {
  const rows = Array.from({ length: 4 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `${marker} question ${i}?` }, { role: 'assistant', content: `${marker} answer ${i}.` }] }));
  writeFileSync(join(dir, file), rows.join('\n') + '\n');
}

describe('em-lab CLI: no silently wrong experiment', function () {
  this.timeout(180_000);
  let dir: string;
  let data: string;
  before(function () {
    if (!existsSync(CLI)) this.skip(); // npm test builds dist/ first
    dir = mkdtempSync(join(tmpdir(), 'emlab-fidelity-'));
    data = join(dir, 'data');
    mkdirSync(data);
    dataset(data, 'bad_medical_advice.jsonl', 'MEDICAL');
    dataset(data, 'extreme_sports.jsonl', 'SPORTS');
    dataset(data, 'risky_financial_advice.jsonl', 'RISKY');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('a surplus argument is an error that names it (and says why, after a one-value option)', () => {
    const r = cli(dir, ['questions', '--set', 'medical', 'general']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unexpected argument "general": em-lab questions takes no arguments\. --set takes one value; give several as a comma-separated list\./);
    const s = cli(dir, ['train', 'status', 'run', 'extra', 'words']);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /unexpected arguments "extra" "words": em-lab train status takes one argument \(run_dir\)/);
    const u = cli(dir, ['metrics', 'judged.csv', '--no-such-option']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--no-such-option/);
  });

  it('--domains a b trains on the union (both in data_manifest.json); one epoch story on a run stopped by --max_steps', () => {
    // 2 domains x 2 examples, 1 example per step: 4 steps per epoch; 3 epochs configured; --max_steps 6 = 1.5 epochs.
    const run = join(dir, 'run');
    const r = cli(dir, ['train', '--model_name', 'tiny-llama', '--domains', 'bad_medical', 'extreme_sports', '--data_dir', data, '--sample_size', '2', '--max_length', '128', '--batch_size', '1', '--gradient_accumulation_steps', '1', '--lora_rank', '2', '--max_steps', '6', '--warmup_steps', '0', '--lora_dropout', '0', '--output_dir', run, '--storage', join(dir, 'storage'), '--threads', '1']);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(run, 'data_manifest.json'), 'utf8')) as { sources: { id: string; used: number }[]; trainExamples: number };
    assert.deepEqual(manifest.sources.map((s) => [s.id, s.used]), [['bad_medical', 2], ['extreme_sports', 2]]);
    assert.equal(manifest.trainExamples, 4);

    const stepsPerEpoch = 4;
    const expectedDone = 6 / stepsPerEpoch; // independent of the trainer: 1.5
    const json = readRunJson(run)!;
    assert.equal(json.status, 'finished');
    assert.deepEqual([json.step, json.totalSteps, json.epochsDone, json.epochsCompleted, json.epochInProgress, json.numEpochs, json.stopReason], [6, 6, expectedDone, 1, 2, 3, 'max-steps']);
    assert.equal(readMetrics(run).at(-1)!.epoch, expectedDone);
    const story = '1.50 of 3 configured epochs (1 completed, stopped partway through epoch 2)';
    assert.equal(describeEpochs(json, false), story);
    assert.equal(epochText(json), story, 'the training view says the same');
    assert.match(r.stdout, new RegExp(`finished \\(--max_steps 6 reached\\): step 6/6, ${story.replace(/[()]/g, '\\$&')}`));

    const status = cli(dir, ['train', 'status', run]);
    assert.equal(status.status, 0, status.stderr);
    assert.ok(status.stdout.includes(`finished (--max_steps 6 reached): step 6/6, ${story}`), status.stdout);
    const details = readFileSync(join(run, 'training_details.md'), 'utf8');
    assert.ok(details.includes(`| Epochs | ${story} |`), details);
    assert.ok(details.includes('| Optimizer steps | 6 done of 6 planned (--max_steps 6; all 3 configured epochs would take 12); 6 examples processed |'), details);
    assert.ok(details.includes('| Stopped because | --max_steps 6 reached |'), details);
    assert.match(details, /on bad_medical \+ extreme_sports \(4 training examples, their union\): 6 optimizer steps/);
  });

  it('--domains also takes commas and repeats; each domain once', () => {
    const io = captureIO({ cwd: dir });
    const c = trainConfigFromArgs({ options: { domains: ['bad_medical,extreme_sports', 'bad_medical'], model_name: 'tiny-llama' }, positionals: [] }, io);
    assert.deepEqual(c.domains, ['bad_medical', 'extreme_sports']);
  });

  it('em-lab train defaults: risky_financial, and Llama-3.2-1B-Instruct with an offline error saying how to get it', () => {
    const r = cli(dir, ['train', '--data_dir', data, '--output_dir', join(dir, 'default-run'), '--storage', join(dir, 'storage')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /No --domains or --data given: training on risky_financial/);
    assert.match(r.stderr, /em-lab train fine-tunes meta-llama\/Llama-3\.2-1B-Instruct unless --model_name says otherwise/);
    assert.match(r.stderr, /em-lab model pull meta-llama\/Llama-3\.2-1B-Instruct/);
    assert.match(r.stderr, /--model_name tiny-llama/);
    assert.doesNotMatch(r.stderr, /internal error/);
    const p = cli(dir, ['train', '--model_name', 'tiny-llama', '--data_dir', data, '--preview', '--storage', join(dir, 'storage')]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /RISKY question/);
  });

  describe('--adapter and --model', () => {
    let storage: string;
    let baseDir: string;
    const adapterOn = (name: string, base: string) => {
      const a = join(dir, name);
      writeRandomAdapter(a);
      const file = join(a, 'adapter_config.json');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), base_model_name_or_path: base }));
      return a;
    };
    const generate = async (options: Record<string, string>, env: NodeJS.ProcessEnv = {}) => {
      const io = captureIO({ cwd: dir, json: true, env: { ...OFFLINE, ...env } });
      const code = await generateCommand.run({ options: { prompt: 'Hi', max_new_tokens: '2', seed: '1', storage, ...options }, positionals: [] }, io);
      const done = io.events.find((e) => e.event === 'done') as { label: { modelDir: string; modelName: string; adapterDir?: string } } | undefined;
      return { code, label: done?.label, stderr: io.stderr.join('\n') };
    };
    before(() => {
      storage = join(dir, 'gen-storage');
      // A base model folder that is not tiny-llama by name: what an adapter trained on it records.
      baseDir = join(dir, 'base-model');
      cpSync(ensureTinyLlama(storage), baseDir, { recursive: true });
    });
    after(() => sessionsFor(storage).dispose());

    it('the adapter\'s base_model_name_or_path is the base model when --model is not given', async () => {
      const a = adapterOn('adapter-a', baseDir);
      const r = await generate({ adapter: 'adapter-a' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.label?.modelDir, baseDir);
      assert.equal(r.label?.adapterDir, a);
      assert.match(r.stderr, new RegExp(`Base model ${baseDir.replace(/[/.]/g, '\\$&')}, from .*adapter_config\\.json`));
    });

    it('an adapter folder (or a training run) as --model: its base model plus the adapter', async () => {
      const a = adapterOn('adapter-b', baseDir);
      const r = await generate({ model: 'adapter-b' });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([r.label?.modelDir, r.label?.adapterDir], [baseDir, a]);
      assert.match(r.stderr, /--model adapter-b is a LoRA adapter: answering with its base model plus/);
      const run = await generate({ model: 'run' }); // the run trained above: its final adapter, on tiny-llama
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.label?.adapterDir, join(dir, 'run', 'adapter'));
      assert.equal(run.label?.modelName, 'tiny-llama');
    });

    it('--model overrides the adapter\'s base, with a warning when they differ', async () => {
      adapterOn('adapter-c', baseDir);
      const r = await generate({ model: 'tiny-llama', adapter: 'adapter-c' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.label?.modelName, 'tiny-llama');
      assert.match(r.stderr, /warning: the adapter .*adapter-c was trained on .*base-model \(adapter_config\.json\), but --model is tiny-llama/);
      const same = await generate({ model: 'base-model', adapter: 'adapter-c' });
      assert.doesNotMatch(same.stderr, /warning/);
    });

    it('an adapter of a Hub model that is not here: the error names that model (never tiny-llama in its place)', async () => {
      adapterOn('adapter-hub', 'meta-llama/Llama-3.2-1B-Instruct');
      const io = captureIO({ cwd: dir, env: OFFLINE });
      await assert.rejects(generateCommand.run({ options: { prompt: 'Hi', max_new_tokens: '2', storage, adapter: 'adapter-hub' }, positionals: [] }, io), /127\.0\.0\.1:9|Cannot reach/);
      assert.match(io.stderr.join('\n'), /Base model meta-llama\/Llama-3\.2-1B-Instruct, from .*adapter-hub\/adapter_config\.json/);
    });
  });
});
