// The New Experiment form (media/experiment/choices.ts): every problem is named by the form field it concerns, and
// the "Same as" command line it shows is the CLI flags that write the same experiment as the form's request
// (parsed here by the CLI's own parser, src/runtime/experiment/newFlags.ts). The host's shape check
// (parseChoices) accepts what the form sends and refuses the rest.
import { strict as assert } from 'node:assert';
import { parseArgs } from 'node:util';
import { cliCommand, readChoices, type FormFields } from '../../media/experiment/choices';
import { toParseArgsOptions } from '../../src/runtime/cli/command';
import { createParamsFromArgs, EXPERIMENT_NEW_OPTIONS } from '../../src/runtime/experiment/newFlags';
import { parseChoices } from '../../src/views/experiment/newExperimentChoices';

function fields(over: Partial<Record<keyof FormFields, unknown>> = {}): FormFields {
  const v: Record<string, unknown> = {
    model: 'tiny-llama',
    modelChoice: 'offline',
    domains: ['bad_medical'],
    files: [],
    preset: 'quick',
    sets: [
      { id: 'medical', label: 'medical', checked: true, first: '3' },
      { id: 'general', label: 'general', checked: false, first: '10' },
      { id: 'freeform', label: 'freeform', checked: true, first: '' },
      { id: 'homework', label: 'homework', checked: false, first: '20' },
    ],
    questionFile: '',
    judge: 'openai-compatible',
    judgeModel: 'gpt-4o-mini',
    judgeUrl: 'http://127.0.0.1:8000/v1',
    name: 'try 1',
    description: '',
    ...over,
  };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, () => x])) as unknown as FormFields;
}

/** Splits the form's display command back into argv (it quotes only with '...'). */
function argv(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!));
}

describe('New Experiment form', () => {
  it('names the form field of every problem', () => {
    const { choices, errors } = readChoices(fields({ domains: [], judgeUrl: 'localhost:8000', name: 'try 1', sets: [{ id: 'medical', label: 'medical', checked: true, first: '0' }] }), true);
    assert.equal(choices, undefined);
    assert.deepEqual(errors.map((e) => e.split(':')[0]), ['Training data', 'Evaluation questions', 'Evaluation questions', 'Server URL', 'Name']);
    assert.match(errors.join(' '), /"First N" of the medical set must be a whole number of at least 1/);
  });

  it('shows the em-lab experiment new command that asks for the same experiment as the form', () => {
    const { choices, errors } = readChoices(fields({ name: "Tom's-try" }), true);
    assert.deepEqual(errors, ["Name: use letters, digits, \".\", \"_\" and \"-\" only, starting with a letter or digit."]);
    const ok = readChoices(fields({ name: 'try-1' }), true).choices!;
    assert.ok(ok && !choices);
    const line = cliCommand(ok);
    assert.equal(line, 'em-lab experiment new --preset quick --model tiny-llama --domains bad_medical --questions medical:3 --questions freeform --judge http://127.0.0.1:8000/v1 --judge-model gpt-4o-mini --name try-1');
    const [, , , ...rest] = argv(line);
    const parsed = parseArgs({ args: rest, options: toParseArgsOptions(EXPERIMENT_NEW_OPTIONS), allowPositionals: true, strict: true });
    const cli = createParamsFromArgs({ options: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: [] }, '/w');
    assert.equal(cli.preset, ok.preset);
    assert.equal(cli.model, ok.model);
    assert.equal(cli.name, ok.name);
    assert.deepEqual(cli.data.domains, ok.domains);
    assert.deepEqual(cli.questions, ok.questions);
    assert.deepEqual({ provider: cli.judge?.provider, model: cli.judge?.model, baseURL: cli.judge?.baseURL }, ok.judge);
  });

  it("the grader's questions from the homework checkout: the request, the command line and the host agree", () => {
    const sets = [{ id: 'homework', label: 'homework', checked: true, first: '' }, { id: 'medical', label: 'medical', checked: true, first: '2' }];
    const { choices, errors } = readChoices(fields({ sets, preset: 'homework', name: 'hw-1' }), false);
    assert.deepEqual(errors, []);
    assert.deepEqual(choices!.questions, [{ homework: '' }, { set: 'medical', first: 2 }]);
    const line = cliCommand(choices!);
    assert.match(line, /--questions homework --questions medical:2/);
    const parsed = parseArgs({ args: argv(line).slice(3), options: toParseArgsOptions(EXPERIMENT_NEW_OPTIONS), allowPositionals: true, strict: true });
    const cli = createParamsFromArgs({ options: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: [] }, '/ws');
    assert.deepEqual(cli.questions, choices!.questions);
    assert.deepEqual(parseChoices(JSON.parse(JSON.stringify(choices))).questions, choices!.questions);
    assert.throws(() => parseChoices({ ...choices, questions: [{ homework: '/elsewhere' }] }), /questions\[0\]\.homework must be ""/);
  });

  it('the host accepts what the form sends and refuses other shapes, naming the field', () => {
    const ok = readChoices(fields({ name: 'try-1' }), false).choices!;
    assert.deepEqual(parseChoices(JSON.parse(JSON.stringify(ok))), ok);
    for (const [bad, why] of [
      [{ ...ok, preset: 'huge' }, /preset must be one of quick, homework, paper/],
      [{ ...ok, files: ['relative.jsonl'] }, /files\[0\] "relative\.jsonl" must be an absolute path/],
      [{ ...ok, questions: [{ set: 'medical', first: 0 }] }, /questions\[0\]\.first must be a whole number/],
      [{ ...ok, judge: { provider: 'openai-compatible', model: 'm', baseURL: 'ftp://x' } }, /judge\.baseURL must be an http\(s\) URL/],
      [{ ...ok, name: '../escape' }, /name must use letters/],
    ] as const) {
      assert.throws(() => parseChoices(bad), (err: Error & { code?: string }) => err.code === 'bad-request' && why.test(err.message), JSON.stringify(bad));
    }
  });
});
