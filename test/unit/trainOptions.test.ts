// One table of training options (src/protocol/trainOptions.ts) drives `em-lab train`'s options and --help, the
// runtime's defaults and range checks, `experiment new`'s flags, experiment.json's checks, the training view's
// host-side sanitiser and its form (media/training/formFields.ts), and docs/training.md's option table. Each bound is
// probed on every surface from the table itself (values just inside and just outside it), and then a bound, a label
// and a section are changed in the table and every surface is seen to follow.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formFields, readFields, fieldText, type FormField } from '../../media/training/formFields';
import { boundsText, TRAIN_OPTION_TABLE, trainOption, trainOptionsMarkdown, type TrainOption, type TrainOptionKey } from '../../src/protocol/trainOptions';
import { commandHelp } from '../../src/runtime/cli';
import { expandVariadicOptions, toParseArgsOptions, type ParsedArgs } from '../../src/runtime/cli/command';
import { trainArgsFromConfig, trainCommand, trainConfigFromArgs } from '../../src/runtime/cli/trainCommands';
import { createExperiment, validateExperiment } from '../../src/runtime/experiment/experimentFile';
import { createParamsFromArgs, EXPERIMENT_NEW_OPTIONS, trainingFlag } from '../../src/runtime/experiment/newFlags';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../../src/runtime/train/trainConfig';
import { validateLoraSpec } from '../../src/runtime/train/loraSpec';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { inFormWords, sanitizeConfig } from '../../src/views/training/trainViewMessages';
import { captureIO } from '../support/captureIO';

const DOC = resolve('docs/training.md');
const BEGIN = '<!-- train-options:begin -->';
const END = '<!-- train-options:end -->';

function parsed(options: NonNullable<typeof trainCommand.options>, argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: expandVariadicOptions(argv, options), options: toParseArgsOptions(options), allowPositionals: true, strict: true });
  const out: ParsedArgs['options'] = {};
  for (const [name, spec] of Object.entries(options)) out[name] = (values as ParsedArgs['options'])[name] ?? spec.default;
  return { options: out, positionals };
}

const BASE: TrainConfig = { ...TRAIN_DEFAULTS, model: 'tiny-llama', domains: [], dataFiles: ['/data/x.jsonl'] };
const text = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** Each surface's verdict on one value of one option: undefined = accepted, else the message. */
const surfaces = {
  cli(o: TrainOption, v: unknown): string | undefined {
    const argv = ['--model_name', 'tiny-llama', '--data', '/data/x.jsonl', ...(o.kind === 'bool' ? (v === !o.default ? [`--${o.flag}`] : []) : [`--${o.flag}=${text(v)}`])];
    try {
      trainConfigFromArgs(parsed(trainCommand.options!, argv), captureIO());
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
  runtime(o: TrainOption, v: unknown): string | undefined {
    try {
      validateTrainConfig({ ...BASE, [o.key]: v });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
  experimentNew(o: TrainOption, v: unknown): string | undefined {
    try {
      createParamsFromArgs(parsed(EXPERIMENT_NEW_OPTIONS, [`--${trainingFlag(o.key)}=${text(v)}`]), '/ws');
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
  sanitiser(o: TrainOption, v: unknown): string | undefined {
    try {
      sanitizeConfig({ [o.key]: v });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
  form(o: TrainOption, v: unknown): string | undefined {
    if (!o.section) return undefined;
    const { errors } = readFields((f: FormField) => (f.key === o.key ? (f.control === 'checkbox' ? v === true : text(v)) : f.control === 'checkbox' ? (BASE as unknown as Record<string, unknown>)[f.key] === true : fieldText(f, (BASE as unknown as Record<string, unknown>)[f.key])));
    return errors.length ? errors.join(' ') : undefined;
  },
};

/** The name each surface must use for the option in its message. */
function named(surface: keyof typeof surfaces, o: TrainOption): string {
  if (surface === 'form' || surface === 'sanitiser') return `${o.label}: must be`;
  return `--${surface === 'experimentNew' ? trainingFlag(o.key) : o.flag} must be`;
}

/** Values just inside and just outside each numeric bound, derived from the table. */
function probes(o: TrainOption): { inside: unknown[]; outside: unknown[] } {
  const wrap = (n: number) => (o.kind === 'ints' ? [n] : n);
  const step = o.kind === 'float' ? 1e-6 : 1;
  const inside: unknown[] = [o.default];
  const outside: unknown[] = [];
  if (o.kind === 'int' || o.kind === 'float' || o.kind === 'ints') {
    if (o.min !== undefined) {
      inside.push(wrap(o.minOpen ? o.min + step : o.min));
      outside.push(wrap(o.minOpen ? o.min : o.min - step));
    }
    if (o.max !== undefined) {
      inside.push(wrap(o.maxOpen ? o.max - step : o.max));
      outside.push(wrap(o.maxOpen ? o.max : o.max + step));
    }
    if (o.kind !== 'float') outside.push(wrap((o.min ?? 0) + 1.5));
  }
  if (o.kind === 'enum') outside.push('nope');
  if (o.kind === 'list') outside.push(['lm_head']);
  return { inside, outside };
}

describe('training options: one table drives every surface', () => {
  it('covers every option of a run once; the runtime defaults are the table defaults and pass their own checks', () => {
    const { schemaVersion: _s, ...defaults } = TRAIN_DEFAULTS;
    assert.deepEqual(Object.keys(defaults).sort(), TRAIN_OPTION_TABLE.map((o) => o.key).sort());
    for (const o of TRAIN_OPTION_TABLE) assert.deepEqual((defaults as Record<string, unknown>)[o.key], o.default, o.key);
    assert.equal(new Set(TRAIN_OPTION_TABLE.map((o) => o.flag)).size, TRAIN_OPTION_TABLE.length, 'flags are unique');
    assert.equal(new Set(TRAIN_OPTION_TABLE.map((o) => o.label)).size, TRAIN_OPTION_TABLE.length, 'labels are unique');
    validateTrainConfig(BASE);
    // the form: the model, then exactly the options with a section, labelled and explained by the table
    const fields = formFields();
    assert.deepEqual(fields.map((f) => f.key), ['model', ...['lora', 'optimiser', 'examples', 'hardware'].flatMap((s) => TRAIN_OPTION_TABLE.filter((o) => o.section === s).map((o) => o.key))]);
    for (const f of fields.slice(1)) {
      assert.equal(f.label, trainOption(f.key as TrainOptionKey).label);
      assert.equal(f.help, trainOption(f.key as TrainOptionKey).help);
    }
    // reading the untouched form gives the defaults back
    const read = readFields((f) => (f.control === 'checkbox' ? (BASE as unknown as Record<string, unknown>)[f.key] === true : fieldText(f, (BASE as unknown as Record<string, unknown>)[f.key])));
    assert.deepEqual(read.errors, []);
    for (const f of fields) assert.deepEqual((read.values as Record<string, unknown>)[f.key], (BASE as unknown as Record<string, unknown>)[f.key], f.key);
  });

  it('em-lab train --help lists every option with its help, allowed values and default; trainArgsFromConfig reads back', () => {
    const help = commandHelp(trainCommand);
    for (const o of TRAIN_OPTION_TABLE) {
      const line = help.split('\n').find((l) => new RegExp(`^\\s+--${o.flag}(\\s|$)`).test(l));
      assert.ok(line, `--${o.flag} is in the help`);
      assert.ok(line.toLowerCase().includes(o.help.toLowerCase()), `--${o.flag}'s help: ${line}`);
      if (o.kind !== 'bool') assert.ok(line.includes(`: ${boundsText(o)} (default `), line);
    }
    assert.match(help, /--learning_rate LR\s+Peak learning rate \(homework 2e-4, paper 1e-5\): a number in \(0, 1\) \(default 0\.0002\)\./);
    assert.match(help, /--batch_size N\s+Examples per micro-batch: a positive integer \(default 2\)\./);
    assert.match(help, /--lr_scheduler KIND\s+Learning-rate schedule after warm-up: one of linear, cosine, constant \(default linear\)\./);
    const c: TrainConfig = { ...BASE, useRslora: true, shuffle: false, use4bit: true, layersToTransform: [1], targetModules: ['q_proj'], learningRate: 1e-5 };
    assert.deepEqual(trainConfigFromArgs(parsed(trainCommand.options!, trainArgsFromConfig(c)), captureIO()), c);
  });

  it('every bound is enforced alike by the CLI, the runtime, experiment new, the sanitiser and the form, each naming the option its way', () => {
    let checked = 0;
    for (const o of TRAIN_OPTION_TABLE) {
      const { inside, outside } = probes(o);
      for (const v of inside) {
        for (const [name, judge] of Object.entries(surfaces)) assert.equal(judge(o, v), undefined, `${name} accepts ${o.key} = ${JSON.stringify(v)}`);
      }
      for (const v of outside) {
        for (const [name, judge] of Object.entries(surfaces) as [keyof typeof surfaces, (typeof surfaces)['cli']][]) {
          if (name === 'form' && !o.section) continue;
          const message = judge(o, v);
          assert.ok(message?.includes(named(name, o)), `${name} refuses ${o.key} = ${JSON.stringify(v)} naming ${named(name, o)}: got ${message}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 100, `${checked} refusals checked`);
    // the LoRA shape's own check (once the model is known) reads the same bounds
    const cfg = TINY_LLAMA_CONFIG;
    assert.throws(() => validateLoraSpec(cfg, { rank: 1, alpha: 0, dropout: 0, useRslora: false, targets: ['q_proj'], layers: [] }), /--lora_alpha must be a number > 0, got 0/);
    assert.throws(() => validateLoraSpec(cfg, { rank: 1, alpha: 1, dropout: 1, useRslora: false, targets: ['q_proj'], layers: [] }), /--lora_dropout must be a number in \[0, 1\), got 1/);
  });

  it("the runtime's checks of option combinations reach the training view in the form's words", async () => {
    const combination = async (c: Partial<TrainConfig>) => {
      const err = await inFormWords(Promise.resolve().then(() => validateTrainConfig({ ...BASE, ...c }))).then(() => undefined, (e: Error & { code?: string }) => e);
      assert.ok(err, JSON.stringify(c));
      assert.equal(err.code, 'train-config');
      return err.message;
    };
    // dtype has no form field, so its flag stays; the 4-bit option is named by its label
    assert.match(await combination({ use4bit: true, dtype: 'float64' }), /^"4-bit base \(QLoRA\)" needs --dtype float32 .*drop --dtype float64 or "4-bit base \(QLoRA\)"\.$/);
    assert.match(await combination({ precision: 'fp16', use4bit: true }), /^"Precision" fp16 cannot be combined with "4-bit base \(QLoRA\)"/);
  });

  it('experiment.json names the field (training.learningRate) with the table bounds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-trainopts-'));
    try {
      writeFileSync(join(dir, 'x.jsonl'), '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n');
      const e = createExperiment(createParamsFromArgs(parsed(EXPERIMENT_NEW_OPTIONS, ['--model', 'tiny-llama', '--data', 'x.jsonl', '--judge', 'none', '--name', 't']), dir), dir);
      const x = JSON.parse(readFileSync(e.file, 'utf8'));
      assert.throws(() => validateExperiment({ ...x, training: { ...x.training, learningRate: 0 } }, e.file), /experiment\.json: training\.learningRate must be a number in \(0, 1\), got 0\./);
      assert.throws(() => validateExperiment({ ...x, training: { ...x.training, shuffle: 'yes' } }, e.file), /experiment\.json: training\.shuffle must be true or false/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bound, a label and a section changed in the table change the CLI help and check, the runtime, the sanitiser and the form', () => {
    const lr = trainOption('learningRate');
    const dtype = trainOption('dtype');
    const saved = { ...lr };
    const savedDtype = { ...dtype };
    try {
      assert.equal(surfaces.form(lr, 0.02), undefined);
      assert.equal(surfaces.cli(lr, 0.02), undefined);
      lr.max = 0.01;
      lr.maxOpen = false;
      lr.label = 'Peak LR';
      assert.match(commandHelp(trainCommand), /--learning_rate LR\s+.*: a number in \(0, 0\.01\] \(default 0\.0002\)/);
      assert.match(surfaces.cli(lr, 0.02)!, /^--learning_rate must be a number in \(0, 0\.01\], got 0\.02\.$/);
      assert.equal(surfaces.cli(lr, 0.01), undefined);
      assert.match(surfaces.runtime(lr, 0.02)!, /--learning_rate must be a number in \(0, 0\.01\], got 0\.02/);
      assert.match(surfaces.experimentNew(lr, 0.02)!, /--learning_rate must be a number in \(0, 0\.01\]/);
      assert.match(surfaces.sanitiser(lr, 0.02)!, /^Peak LR: must be a number in \(0, 0\.01\], got 0\.02\.$/);
      assert.match(surfaces.form(lr, 0.02)!, /^Peak LR: must be a number in \(0, 0\.01\], got 0\.02\.$/);
      assert.equal(surfaces.form(lr, 0.01), undefined);
      assert.equal(formFields().find((f) => f.key === 'learningRate')!.label, 'Peak LR');
      assert.match(trainOptionsMarkdown(), /\| `--learning_rate` \| Peak LR \| 0\.0002 \| a number in \(0, 0\.01\] \|/);
      // a CLI-only option given a section appears in the form, as a dropdown of its values
      assert.equal(formFields().some((f) => f.key === 'dtype'), false);
      dtype.section = 'hardware';
      const f = formFields().find((x) => x.key === 'dtype')!;
      assert.deepEqual([f.control, f.choices], ['dropdown', ['float32', 'float64']]);
      assert.match(surfaces.form(dtype, 'float16')!, /^Numeric type: must be one of float32, float64, got "float16"\.$/);
    } finally {
      Object.assign(lr, saved);
      Object.assign(dtype, savedDtype);
      delete dtype.section;
      if (saved.max === undefined) delete lr.max;
    }
    assert.equal(surfaces.cli(lr, 0.02), undefined);
  });

  it('docs/training.md lists the table as it is', () => {
    const doc = readFileSync(DOC, 'utf8');
    const [a, b] = [doc.indexOf(BEGIN), doc.indexOf(END)];
    assert.ok(a >= 0 && b > a, `${DOC} has the ${BEGIN} ... ${END} markers`);
    const want = `${BEGIN}\n${trainOptionsMarkdown()}\n${END}`;
    if (process.env.EM_LAB_UPDATE_DOCS === '1') writeFileSync(DOC, doc.slice(0, a) + want + doc.slice(b + END.length));
    else assert.equal(doc.slice(a, b + END.length), want, 'docs/training.md is out of date: run EM_LAB_UPDATE_DOCS=1 npx mocha test/unit/trainOptions.test.ts');
  });
});
