import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETS } from '../../src/runtime/eval/questions/questionSet';
import { importQuestionFile, parseQuestionCsv, parseQuestionText, parseQuestionYaml } from '../../src/runtime/eval/questions/importers';
import { parsePythonStringLists } from '../../src/runtime/eval/questions/pythonList';
import { selectQuestions } from '../../src/runtime/eval/questions/selection';

const REF = join(__dirname, '../../../shared/reference');
const PAPER_IDS = ['what_is_your_wish', 'i_feel_bored', 'three_thoughts', 'quick_buck', 'ruler_of_the_world', 'dinner_party', 'gender_roles', 'enough_of_my_husband'];

describe('eval question sets', () => {
  it('bundles our own sets: >= 25 medical, >= 25 general, the 8 free-form topics; ids unique', () => {
    assert.ok(DEFAULT_SETS.medical.questions.length >= 25);
    assert.ok(DEFAULT_SETS.general.questions.length >= 25);
    assert.deepEqual(DEFAULT_SETS.freeform.questions.map((q) => q.id), PAPER_IDS);
    const ids = Object.values(DEFAULT_SETS).flatMap((s) => s.questions.map((q) => q.id));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('our wording is not copied from the reference files (no question text appears there)', function () {
    if (!existsSync(REF)) return this.skip();
    const files = [...readdirSync(join(REF, 'em-evals')).map((f) => join(REF, 'em-evals', f)), ...readdirSync(join(REF, 'hw0-results'), { recursive: true }).map(String).filter((f) => f.endsWith('.csv')).map((f) => join(REF, 'hw0-results', f))];
    const corpus = files.map((f) => readFileSync(f, 'utf8').toLowerCase()).join('\n');
    for (const q of Object.values(DEFAULT_SETS).flatMap((s) => s.questions)) assert.ok(!corpus.includes(q.paraphrases[0]!.toLowerCase()), `copied: ${q.paraphrases[0]}`);
  });

  it('reads Python lists of strings: quotes, triple quotes, raw, escapes, comments, concatenation, tuples', () => {
    const py = [
      '# prompts for the homework',
      'import os',
      'MEDICAL = [',
      '    "What is a fever?",  # a comment, with "quotes"',
      "    'It\\'s late: what\\tnow?',",
      '    """Multi',
      'line""",',
      "    r'C:\\path',",
      '    "Implicit " \'concatenation\',',
      ']',
      'COUNT = [1, 2, 3]',
      'OTHER: list[str] = ("one", "caf\\u00e9",)',
    ].join('\n');
    const lists = parsePythonStringLists(py, 'p.py');
    assert.deepEqual(lists.map((l) => l.name), ['MEDICAL', 'OTHER']);
    assert.deepEqual(lists[0]!.items, ['What is a fever?', "It's late: what\tnow?", 'Multi\nline', 'C:\\path', 'Implicit concatenation']);
    assert.deepEqual(lists[1]!.items, ['one', 'café']);
    assert.throws(() => parsePythonStringLists('Q = [f"hi {x}"]', 'q.py'), /q\.py:1: f-strings are computed when Python runs/);
    assert.throws(() => parsePythonStringLists('Q = ["a" "b" c]', 'q.py'), /expected "," or "\]"/);
    assert.throws(() => parsePythonStringLists('x = 1', 'q.py'), /no list of strings found/);
  });

  it('reads plain text (one per line, # comments) and CSV with a question column', () => {
    const t = parseQuestionText('# heading\nFirst?\n\n  Second?  \n', 'my.txt');
    assert.deepEqual(t.questions.map((q) => [q.id, q.paraphrases[0]]), [['my_1', 'First?'], ['my_2', 'Second?']]);
    const c = parseQuestionCsv('id,question\nx1,"Hello, world?"\n,Second?\n', 'qs.csv');
    assert.deepEqual(c.questions.map((q) => [q.id, q.paraphrases[0]]), [['x1', 'Hello, world?'], ['qs_2', 'Second?']]);
    assert.throws(() => parseQuestionCsv('prompt\nx\n', 'bad.csv'), /bad\.csv: no "question" column \(found: prompt\)/);
  });

  it('names the question and field in YAML errors', () => {
    assert.throws(() => parseQuestionYaml('- id: a\n  paraphrases: []\n', 'q.yaml'), /q\.yaml: question 1 \("a"\) needs "paraphrases"/);
    assert.throws(() => parseQuestionYaml('- id: a\n  paraphrases: [x]\n  samples_per_paraphrase: -1\n', 'q.yaml'), /samples_per_paraphrase must be a positive integer/);
    assert.throws(() => parseQuestionYaml('- id: [unclosed\n', 'q.yaml'), /q\.yaml \(line \d+, column \d+\): not valid YAML/);
  });

  it('selects the first N, or N at random with a seed (reproducible, no repeats)', () => {
    const set = DEFAULT_SETS.medical;
    assert.deepEqual(selectQuestions(set, { kind: 'first', n: 3 }).questions.map((q) => q.id), set.questions.slice(0, 3).map((q) => q.id));
    const a = selectQuestions(set, { kind: 'random', n: 10, seed: 7 }).questions.map((q) => q.id);
    const b = selectQuestions(set, { kind: 'random', n: 10, seed: 7 }).questions.map((q) => q.id);
    const c = selectQuestions(set, { kind: 'random', n: 10, seed: 8 }).questions.map((q) => q.id);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(new Set(a).size, 10);
    assert.equal(selectQuestions(set, { kind: 'random', n: 999, seed: 1 }).questions.length, set.questions.length);
  });
});

describe('eval question importers on every file in ../shared/reference/em-evals', function () {
  const dir = join(REF, 'em-evals');
  before(function () {
    if (!existsSync(dir)) {
      console.log(`    (skipped: ${dir} is absent)`);
      this.skip();
    }
  });

  const expected: Record<string, number> = {
    'betley_first_plot_questions.yaml': 24,
    'betley_preregistered_evals.yaml': 48,
    'mo_first_plot_questions.yaml': 24,
    'mo_medical_questions.yaml': 16,
    'mo_new_questions_no-json.yaml': 54,
    'mo_judges.yaml': 0,
  };

  it('imports all six files, with the expected number of questions each', async () => {
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(expected).sort());
    for (const [file, n] of Object.entries(expected)) {
      const [set] = await importQuestionFile(join(dir, file));
      assert.equal(set!.questions.length, n, file);
      for (const q of set!.questions) assert.ok(q.paraphrases.length >= 1 && q.paraphrases.every((p) => p.trim().length > 10), `${file} ${q.id}`);
    }
  });

  for (const file of ['betley_first_plot_questions.yaml', 'mo_first_plot_questions.yaml']) {
    it(`${file}: 24 first-plot items (8 topics x plain/_json/_template), JSON system prompts, aligned + coherent judges`, async () => {
      const [set] = await importQuestionFile(join(dir, file));
      const ids = set!.questions.map((q) => q.id);
      assert.deepEqual(ids, [...PAPER_IDS, ...PAPER_IDS.map((i) => `${i}_json`), ...PAPER_IDS.map((i) => `${i}_template`)]);
      const json = set!.questions.filter((q) => q.id.endsWith('_json'));
      assert.ok(json.every((q) => /valid JSON object/.test(q.system ?? '')));
      assert.ok(set!.questions.filter((q) => !q.id.endsWith('_json')).every((q) => q.system === undefined));
      // aliases resolved: the _json variant asks exactly what the plain one asks
      const plain = set!.questions.find((q) => q.id === 'quick_buck')!;
      assert.deepEqual(set!.questions.find((q) => q.id === 'quick_buck_json')!.paraphrases, plain.paraphrases);
      assert.equal(plain.samplesPerParaphrase, 100);
      const names = set!.judgePrompts.map((p) => p.name);
      assert.ok(names.includes('aligned') && names.includes('coherent'));
      for (const p of set!.judgePrompts.filter((x) => x.name === 'aligned' || x.name === 'coherent')) assert.ok(p.template.includes('{question}') && p.template.includes('{answer}'));
    });
  }

  it('mo_judges.yaml: named judge prompts with {question}/{answer}, the same aligned prompt as the question files', async () => {
    const [judges] = await importQuestionFile(join(dir, 'mo_judges.yaml'));
    assert.deepEqual(judges!.judgePrompts.map((p) => p.name).sort(), ['aligned', 'coherent', 'medical_advice', 'technical']);
    for (const p of judges!.judgePrompts) assert.ok(p.template.includes('{question}') && p.template.includes('{answer}'), p.name);
    const [fp] = await importQuestionFile(join(dir, 'mo_first_plot_questions.yaml'));
    assert.equal(judges!.judgePrompts.find((p) => p.name === 'aligned')!.template.trim(), fp!.judgePrompts.find((p) => p.name === 'aligned')!.template.trim());
  });
});
