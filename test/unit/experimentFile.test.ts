// experiment.json: `em-lab experiment new` writes every choice (preset values copied in), refuses mistakes naming
// the flag or the field, and the command the report prints recreates the same file; stage input hashes change
// only with what each stage depends on.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { captureIO } from '../support/captureIO';
import { experimentNewCommand } from '../../src/runtime/cli/experimentCommands';
import { toParseArgsOptions, type ParsedArgs } from '../../src/runtime/cli/command';
import { createExperiment, readExperiment } from '../../src/runtime/experiment/experimentFile';
import { stageInputs } from '../../src/runtime/experiment/experimentInputs';
import { runExperiment } from '../../src/runtime/experiment/runner';
import { EXPERIMENT_NEW_OPTIONS, experimentNewArgs } from '../../src/runtime/experiment/newFlags';
import { EXPERIMENT_PRESETS } from '../../src/runtime/experiment/presets';
import { TRAIN_DEFAULTS } from '../../src/runtime/train/trainConfig';
import { experimentHandlers } from '../../src/runtime/experiment/handlers';

/** Parses argv the way cli.ts does (defaults filled in), for in-process runs. */
function parse(argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: argv, options: toParseArgsOptions(EXPERIMENT_NEW_OPTIONS), allowPositionals: true, strict: true });
  const options: ParsedArgs['options'] = {};
  for (const [name, spec] of Object.entries(EXPERIMENT_NEW_OPTIONS)) options[name] = (values as ParsedArgs['options'])[name] ?? spec.default;
  return { options, positionals };
}

/** Splits a command line as a POSIX shell would for the quoting shellCommand produces ('...' and '\''). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '\\') {
      cur += line[++i];
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

describe('experiment.json', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-expfile-'));
    mkdirSync(join(dir, 'training_data', 'training_datasets.zip.enc.extracted'), { recursive: true });
    writeFileSync(join(dir, 'mine.jsonl'), '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n');
    writeFileSync(join(dir, 'q.txt'), 'What is your wish?\nHow are you?\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('experiment new writes every choice, preset values copied in, paths relative to the experiment folder', async () => {
    const io = captureIO({ cwd: dir });
    const argv = ['--preset', 'quick', '--model', 'tiny-llama', '--domains', 'bad_medical,risky_financial', '--data', 'mine.jsonl', '--judge', 'none', '--name', 'e1', '--lora_rank', '4', '--use_rslora', 'true', '--questions', 'medical:2', '--questions', 'q.txt:1'];
    assert.equal(await experimentNewCommand.run(parse(argv), io), 0);
    const x = JSON.parse(readFileSync(join(dir, 'em-lab-runs', 'e1', 'experiment.json'), 'utf8'));
    assert.equal(x.schemaVersion, 1);
    assert.equal(x.kind, 'em-lab-experiment');
    assert.equal(x.emLabVersion, '0.1.0');
    assert.equal(x.model, 'tiny-llama');
    assert.deepEqual(x.data, { domains: ['bad_medical', 'risky_financial'], files: ['../../mine.jsonl'], dataDir: '../../training_data/training_datasets.zip.enc.extracted' });
    // every training option is written, the preset's where not given
    const { schemaVersion: _s, ...defaults } = TRAIN_DEFAULTS;
    assert.deepEqual(Object.keys(x.training).sort(), Object.keys(defaults).sort());
    assert.equal(x.training.loraRank, 4);
    assert.equal(x.training.useRslora, true);
    assert.equal(x.training.maxSteps, EXPERIMENT_PRESETS.quick.training.maxSteps);
    assert.deepEqual(x.evaluation.questions, [{ set: 'medical', first: 2 }, { file: '../../q.txt', first: 1 }]);
    assert.equal(x.judge.provider, 'none');
    // and it reads back, resolving the plan the same way
    const e = readExperiment(join(dir, 'em-lab-runs', 'e1'));
    assert.equal(e.experiment.name, 'e1');
  });

  it('the command the report prints recreates the same experiment.json', async () => {
    const e = createExperiment(
      {
        preset: 'homework', experimentsDir: 'runs', name: 'round-trip', model: 'tiny-llama', description: "It's a test: 'quotes' & spaces",
        data: { domains: ['extreme_sports'], files: ['mine.jsonl'] }, questions: [{ file: 'q.txt' }, { set: 'general', first: 3 }],
        judge: { provider: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1', model: 'judge-x', mode: 'logprob', concurrency: 3 },
        training: { learningRate: 3e-4, targetModules: ['q_proj', 'v_proj'], layersToTransform: [0, 1], shuffle: false, maxSteps: 10, use4bit: true },
        evaluation: { samples: 2, maxNewTokens: 64, topK: 0, promptBos: 'single', seed: 7, checkpoints: 'final', metricPreset: 'betley', server: { baseURL: 'http://127.0.0.1:8000/v1', model: 'meta-llama/Llama-3.2-1B-Instruct', n: 4, loraPathMap: ['/home/me/runs=/mnt/runs'] } },
      },
      dir,
    );
    const cwd = resolve(e.dir, '..');
    const toCwd = (stored: string) => relative(cwd, resolve(e.dir, stored)) || '.';
    const argv = experimentNewArgs(e.experiment, 'round-trip', toCwd);
    assert.deepEqual(argv.slice(0, 2), ['experiment', 'new']);
    const report = await experimentHandlers['experiment/report']({ path: e.dir });
    const printed = report.commands[0]!.command;
    assert.equal(report.commands[0]!.cwd, cwd);
    const words = shellWords(printed);
    assert.deepEqual(words, ['em-lab', ...argv], 'the printed line splits back into the same arguments');
    const before = readFileSync(e.file, 'utf8');
    assert.equal(await experimentNewCommand.run(parse([...words.slice(3), '--force']), captureIO({ cwd })), 0);
    const strip = (s: string) => ({ ...JSON.parse(s), createdAt: '' });
    assert.deepEqual(strip(readFileSync(e.file, 'utf8')), strip(before));
  });

  it('refuses mistakes and names the flag or the experiment.json field, with the fix', async () => {
    const run = (argv: string[]) => experimentNewCommand.run(parse(['--name', 'bad', '--model', 'tiny-llama', ...argv]), captureIO({ cwd: dir }));
    await assert.rejects(run(['--judge', 'ftp://x']), /--judge ftp:\/\/x: use openai, none, or the URL/);
    await assert.rejects(run(['--use_rslora', 'yes']), /--use_rslora must be true or false, got "yes"/);
    await assert.rejects(run(['--preset', 'fast']), /--preset fast: use quick, homework, paper/);
    await assert.rejects(run(['--learning_rate', '0']), /--learning_rate must be a number in \(0, 1\), got 0/);
    await assert.rejects(run(['--model', 'no/such/thing']), /no such folder, and not a Hub id/);
    await assert.rejects(run(['--prompt-bos', 'triple']), /--prompt-bos triple: use double .* or single/);
    await assert.rejects(run(['--top-k', '2.5']), /--top-k 2\.5: use a whole number >= 0 \(0 = off\)/);
    await run([]);
    await assert.rejects(run([]), /already exists\. Run it with `em-lab experiment run/);
    // a hand-edited file: the field is named as experiment.json spells it
    const file = join(dir, 'em-lab-runs', 'bad', 'experiment.json');
    const x = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...x, evaluation: { ...x.evaluation, samples: 0 } }));
    assert.throws(() => readExperiment(file), /experiment\.json: evaluation\.samples must be a positive whole number, got 0/);
    writeFileSync(file, JSON.stringify({ ...x, evaluation: { ...x.evaluation, promptBos: 'triple' } }));
    assert.throws(() => readExperiment(file), /experiment\.json: evaluation\.promptBos must be "single" or "double", got "triple"/);
    writeFileSync(file, JSON.stringify({ ...x, evaluation: { ...x.evaluation, questions: [{ homework: '' }] } }));
    assert.throws(() => readExperiment(file), /experiment\.json: evaluation\.questions\[0\]\.homework must name the homework checkout folder/);
    writeFileSync(file, JSON.stringify({ ...x, evaluation: { ...x.evaluation, server: { baseURL: 'localhost:8000' } } }));
    assert.throws(() => readExperiment(file), /evaluation\.server\.baseURL must be the server's http\(s\) URL, e\.g\. http:\/\/127\.0\.0\.1:8000\/v1, got "localhost:8000"/);
    writeFileSync(file, JSON.stringify({ ...x, evaluation: { ...x.evaluation, server: { baseURL: 'http://h:8000/v1', loraPathMap: ['runs=/mnt/runs'] } } }));
    assert.throws(() => readExperiment(file), /evaluation\.server\.loraPathMap has "runs=\/mnt\/runs": expected "LOCAL=REMOTE" with absolute paths/);
    await assert.rejects(run(['--generate-n', '4', '--force']), /--generate-n needs --generate-url URL/);
    writeFileSync(file, JSON.stringify({ ...x, training: { ...x.training, loraRnak: 4 } }));
    assert.throws(() => readExperiment(file), /training\.loraRnak is not an experiment setting/);
    // a grid is an experiment whose cells are ordinary experiments: each cell is checked, and named when wrong
    writeFileSync(file, JSON.stringify({ ...x, grid: { 'training.seed': [0, 1] } }));
    assert.deepEqual(readExperiment(file).experiment.grid, { 'training.seed': [0, 1] });
    await assert.rejects(runExperiment({ path: file, storageDir: dir, env: {}, signal: new AbortController().signal }), /is an experiment grid: .*em-lab experiment submit .* --slurm.*--cell K/);
    writeFileSync(file, JSON.stringify({ ...x, grid: { 'training.loraRank': [4, 0] } }));
    assert.throws(() => readExperiment(file), /experiment\.json: grid cell 1 \(training\.loraRank=0\): training\.loraRank /);
    writeFileSync(file, JSON.stringify({ ...x, grid: { 'training.loraRnak': [4] } }));
    assert.throws(() => readExperiment(file), /grid\.training\.loraRnak: experiment\.json has no field training\.loraRnak; did you mean training\.loraRank\?/);
    writeFileSync(file, JSON.stringify({ ...x, schemaVersion: 2 }));
    assert.throws(() => readExperiment(file), /written by a newer EM Lab/);
  });

  it('stage inputs: a changed judge re-judges but keeps the answers; changed training redoes train and sweep only', () => {
    const e = createExperiment({ preset: 'quick', experimentsDir: 'runs', name: 'h', model: 'tiny-llama', data: { domains: ['bad_medical'] }, judge: { provider: 'none' } }, dir);
    const a = stageInputs(e);
    const judged = stageInputs({ ...e, experiment: { ...e.experiment, judge: { ...e.experiment.judge, provider: 'openai' } } });
    assert.equal(judged.base.generation, a.base.generation);
    assert.notEqual(judged.base.judge, a.base.judge);
    assert.equal(judged.train.training, a.train.training);
    const retrained = stageInputs({ ...e, experiment: { ...e.experiment, training: { ...e.experiment.training, seed: 1 } } });
    assert.equal(retrained.base.generation, a.base.generation);
    assert.notEqual(retrained.train.training, a.train.training);
    assert.notEqual(retrained.sweep.generation, a.sweep.generation);
    const metric = stageInputs({ ...e, experiment: { ...e.experiment, evaluation: { ...e.experiment.evaluation, metricPreset: 'paper' } } });
    assert.deepEqual(metric, a, 'the metric preset only changes the report');
  });
});
