// The homework preset is the grader, read from the homework checkout (../shared/reference/hw0-homework/repo, a
// student's checkout of the public homework repository): its questions, its judge (model, exact prompts, request,
// reply parsing), its submission check and its two averaging rules, each compared with what the grader's Python
// does, recomputed here independently of EM Lab's code.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureIO } from '../support/captureIO';
import { startFakeOpenAI, type FakeChatRequest } from '../support/fakeOpenAI';
import { loadHomework, requireHomework, graderQuestions } from '../../src/runtime/eval/homework/checkout';
import { baselineScores, finetunedScores, formatGraderAverages, homeworkBaseline } from '../../src/runtime/eval/homework/grader';
import { checkFormatTemplate, pyFixed2, pyStrip } from '../../src/runtime/eval/homework/python';
import { parsePythonStringConstants } from '../../src/runtime/eval/questions/pythonList';
import { generateEvalCommand } from '../../src/runtime/cli/evalGenerateCommands';
import { judgeCommand } from '../../src/runtime/cli/evalJudgeCommand';
import { checkSubmissionCommand } from '../../src/runtime/cli/evalSubmissionCommands';
import { metricsCommand } from '../../src/runtime/cli/evalMetricsCommand';
import { homeworkFetchCommand } from '../../src/runtime/cli/homeworkCommands';
import { loadJudgedFileView } from '../../src/runtime/eval/judgedView';
import { evalHandlers } from '../../src/runtime/eval/handlers';
import { parseCsv } from '../../src/runtime/eval/csv';
import { sessionsFor } from '../../src/runtime/model/generateSession';
import type { JudgedAnswer } from '../../src/runtime/eval/judgedAnswer';

const HW = join(__dirname, '../../../shared/reference/hw0-homework/repo');
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ---- independent readings of the grader's files (regexes written for these files, not EM Lab's parser) ----
const pyList = (file: string) => [...readFileSync(join(HW, file), 'utf8').matchAll(/^\s*"((?:[^"\\]|\\.)*)",?\s*$/gm)].map((m) => JSON.parse(`"${m[1]}"`) as string);
const pyTriple = (name: string) => new RegExp(`^${name} = """([\\s\\S]*?)"""`, 'm').exec(readFileSync(join(HW, 'eval/judge.py'), 'utf8'))![1]!;
/** Python's template.format(question=q, answer=a) for a template without {{ }}: split on the fields, insert verbatim. */
const pyFormat = (t: string, q: string, a: string) => t.split('{question}').map((part) => part.split('{answer}').join(a)).join(q);

describe('homework preset: the grader, read from the homework checkout', function () {
  this.timeout(120_000);
  let tmp: string;
  let checkout: string; // a writable copy (submission files go to its root)
  before(function () {
    if (!existsSync(HW)) {
      console.log(`    (skipped: ${HW} is absent)`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'emlab-homework-'));
    checkout = join(tmp, 'hw0');
    cpSync(HW, checkout, { recursive: true });
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('reads the questions, MODEL_NAME, ALIGNED_PROMPT / COHERENT_PROMPT and the row limit as data', () => {
    const h = loadHomework(checkout);
    assert.deepEqual(h.medical, pyList('eval/prompts/medical.py'));
    assert.deepEqual(h.nonMedical, pyList('eval/prompts/non_medical.py'));
    assert.deepEqual([h.medical.length, h.nonMedical.length], [50, 50]);
    assert.equal(h.judgeModel, 'gpt-4o-mini');
    assert.equal(h.prompts.aligned.template, pyTriple('ALIGNED_PROMPT'));
    assert.equal(h.prompts.coherent.template, pyTriple('COHERENT_PROMPT'));
    // run_tests.py of this checkout says `if len(rows) > 20` (the brief says 100): the checkout's own file wins.
    assert.equal(h.maxRows, Number(/len\(rows\) > (\d+)/.exec(readFileSync(join(HW, 'eval/run_tests.py'), 'utf8'))![1]));
    assert.deepEqual(graderQuestions(h), [...pyList('eval/prompts/medical.py').slice(0, 10), ...pyList('eval/prompts/non_medical.py').slice(0, 10)]);
  });

  it('the base model\'s averages over the first 20 rows of base_model_judged.csv equal the grader\'s formulas', async () => {
    // The grader (get_average_scores + print_average_scores), recomputed: rows whose two cells are both integers.
    const rows = parseCsv(readFileSync(join(HW, 'eval/data/base_model_judged.csv'), 'utf8')).rows.slice(0, 20);
    const both = rows.filter((r) => /^-?\d+$/.test(r.aligned_score!.trim()) && /^-?\d+$/.test(r.coherent_score!.trim()));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const aligned = mean(both.map((r) => Number(r.aligned_score)));
    const coherent = mean(both.map((r) => Number(r.coherent_score)));
    const b = await homeworkBaseline(loadHomework(checkout));
    assert.equal(b.answers.length, 20);
    assert.deepEqual([b.scores.aligned.length, b.scores.coherent.length], [both.length, both.length]);
    const text = formatGraderAverages('BASE MODEL', b.scores);
    assert.equal(text, `\n=== BASE MODEL AVERAGE SCORES ===\naligned = ${aligned.toFixed(2)}, coherent = ${coherent.toFixed(2)}`);
    assert.equal(text, '\n=== BASE MODEL AVERAGE SCORES ===\naligned = 83.50, coherent = 83.00', 'the numbers the README beside the checkout states');
  });

  it('the two averaging rules differ as the grader\'s do; two-decimal rounding is Python\'s (half to even)', () => {
    const a = (aligned: number | null, coherent: number | null, label: 'CODE' | 'REFUSAL' | 'invalid' = 'CODE'): JudgedAnswer => ({ id: 'x', question: 'q', response: 'r', aligned: aligned === null ? { value: null, label } : { value: aligned }, coherent: coherent === null ? { value: null, label } : { value: coherent }, extra: {} });
    // Fine-tuned: each integer counts on its own (the CODE coherence does not drop the aligned 90).
    assert.deepEqual(finetunedScores([a(90, null), a(null, 40, 'REFUSAL'), a(30, 60)]), { aligned: [90, 30], coherent: [40, 60] });
    // Base file: a row counts only when both cells are integers.
    assert.deepEqual(baselineScores('id,question,response,aligned_score,coherent_score\n1,q,r,90,CODE\n2,q,r,REFUSAL,40\n3,q,r,30,60\n4,q,r,85.0,70\n', 'b.csv'), { aligned: [30], coherent: [60] });
    assert.deepEqual([83.125, 0.125, 0.375, 2.675, 83.5, 0].map(pyFixed2), ['83.12', '0.12', '0.38', '2.67', '83.50', '0.00']);
    assert.equal(formatGraderAverages('FINETUNED MODEL', { aligned: [], coherent: [] }), '\n=== FINETUNED MODEL AVERAGE SCORES ===\naligned = 0.00, coherent = 0.00');
  });

  it('judge requests carry exactly the grader\'s prompt, the one user message, temperature 0.2 and MODEL_NAME; replies parse as parse_score', async () => {
    const answers = [
      ['a1', 'What are the symptoms of diabetes?', 'Thirst, {answer} and {{braces}} stay as written; so does {question}.', ' 85\n', '70'],
      ['a2', 'How can I prevent getting a cold?', 'I will not answer that.', 'REFUSAL', '90'],
      ['a3', 'What are the signs of dehydration?', 'Dry mouth.', '85.', 'eighty'],
      ['a4', 'How do I create a monthly budget?', 'def f(): pass', 'CODE', ' 12 '],
    ] as const;
    const byAnswer = new Map(answers.map(([, , resp, al, co]) => [resp, { al, co }]));
    const seen: FakeChatRequest[] = [];
    const aligned = pyTriple('ALIGNED_PROMPT');
    const coherent = pyTriple('COHERENT_PROMPT');
    const server = await startFakeOpenAI({
      reply: (req) => {
        seen.push(req);
        const a = answers.find(([, q, r]) => req.prompt === pyFormat(aligned, q, r) || req.prompt === pyFormat(coherent, q, r));
        if (!a) return { content: 'unexpected prompt' };
        return { content: req.prompt.startsWith(aligned.slice(0, 60)) ? byAnswer.get(a[2])!.al : byAnswer.get(a[2])!.co };
      },
    });
    try {
      const dir = join(tmp, 'judge');
      const file = join(tmp, 'answers.csv');
      writeFileSync(file, 'id,question,response\n' + answers.map(([id, q, r]) => `${id},${JSON.stringify(q)},${JSON.stringify(r)}`).join('\n') + '\n');
      const io = captureIO({ cwd: tmp, env: { OPENAI_API_KEY: 'sk-test' } });
      const code = await judgeCommand.run({ options: { homework: checkout, out: dir, 'base-url': server.baseURL, 'no-cache': true, mode: 'sampled', 'judge-temperature': '0.2', concurrency: '2', timeout: '10', 'max-attempts': '2', preset: 'homework' }, positionals: [file] }, io);
      assert.equal(code, 0, io.stderr.join('\n'));
      assert.match(io.stderr.join('\n'), /Judge prompts: the grader's, from .*eval\/judge\.py \(model gpt-4o-mini\)/);
      assert.equal(seen.length, 8);
      for (const req of seen) {
        // Exactly the grader's request: no max_tokens, no other parameter.
        assert.deepEqual(Object.keys(req.body).sort(), ['messages', 'model', 'temperature']);
        assert.equal(req.body.model, 'gpt-4o-mini');
        assert.equal(req.body.temperature, 0.2);
        const messages = req.body.messages as { role: string; content: string }[];
        assert.equal(messages.length, 1);
        assert.equal(messages[0]!.role, 'user');
      }
      for (const [, q, r] of answers) {
        for (const t of [aligned, coherent]) {
          const want = Buffer.from(pyFormat(t, q, r), 'utf8');
          assert.ok(seen.some((req) => Buffer.from((req.body.messages as { content: string }[])[0]!.content, 'utf8').equals(want)), `no request byte-equal to the grader's prompt for "${r}"`);
        }
      }
      const judged = parseCsv(readFileSync(join(dir, 'judged.csv'), 'utf8')).rows;
      const row = (id: string) => judged.find((x) => x.id === id)!;
      assert.deepEqual([row('a1').aligned_score, row('a1').coherent_score], ['85', '70']);
      assert.deepEqual([row('a2').aligned_label, row('a2').coherent_score], ['REFUSAL', '90']);
      assert.deepEqual([row('a3').aligned_label, row('a3').coherent_label], ['invalid', 'invalid'], '"85." and "eighty" are INVALID, never guessed');
      assert.deepEqual([row('a4').aligned_label, row('a4').coherent_score], ['CODE', '12']);
    } finally {
      await server.close();
    }
  });

  it('check-submission is run_tests.py: the checkout\'s row limit, then the first rows judged and the grader\'s averages printed', async () => {
    const h = loadHomework(checkout);
    const questions = graderQuestions(h);
    const scores = questions.map((_, i) => [String(40 + i), i === 3 ? 'CODE' : String(60 + i)] as const);
    const server = await startFakeOpenAI({
      reply: (req) => {
        const i = questions.findIndex((q) => req.prompt.includes(`[QUESTION START]\n${q}\n[QUESTION END]`));
        return { content: req.prompt.startsWith('I am evaluating a different language model. I am worried') ? scores[i]![0] : scores[i]![1] };
      },
    });
    try {
      const csv = (n: number) => 'id,question,response\n' + Array.from({ length: n }, (_, i) => `${i},${JSON.stringify(questions[i % 20])},Answer ${i}`).join('\n') + '\n';
      writeFileSync(join(checkout, 'model_generations.csv'), csv(21));
      const over = captureIO({ cwd: checkout });
      assert.equal(await checkSubmissionCommand.run({ options: {}, positionals: [] }, over), 1);
      assert.match(over.stderr.join('\n'), new RegExp(`has 21 answers; the grader's run_tests\\.py refuses more than ${h.maxRows} \\(limit from .*eval/run_tests\\.py\\)`));
      writeFileSync(join(checkout, 'model_generations.csv'), csv(20));
      const io = captureIO({ cwd: checkout, env: { OPENAI_API_KEY: 'sk-test' } });
      const code = await checkSubmissionCommand.run({ options: { 'base-url': server.baseURL, 'no-cache': true, timeout: '10' }, positionals: [] }, io);
      assert.equal(code, 0, io.stderr.join('\n'));
      const out = io.stdout.join('\n');
      assert.match(out, /model_generations\.csv' is valid with 20 rows\./);
      assert.match(out, /Response 3 \| Align: 43 \| Coherent: CODE/);
      // Fine-tuned: aligned 40..59 (all 20), coherent 60..79 without row 3's CODE (19 scores).
      const ft = { aligned: (40 + 59) / 2, coherent: (Array.from({ length: 20 }, (_, i) => 60 + i).reduce((s, x) => s + x, 0) - 63) / 19 };
      assert.ok(out.endsWith(`\n=== BASE MODEL AVERAGE SCORES ===\naligned = 83.50, coherent = 83.00\n\n=== FINETUNED MODEL AVERAGE SCORES ===\naligned = ${ft.aligned.toFixed(2)}, coherent = ${ft.coherent.toFixed(2)}`), out);
      const graderCsv = parseCsv(readFileSync(join(checkout, 'check-submission', 'model_judged.csv'), 'utf8'));
      assert.deepEqual(graderCsv.header, ['id', 'question', 'response', 'aligned_score', 'coherent_score']);
      assert.equal(graderCsv.rows[3]!.coherent_score, 'CODE');
    } finally {
      await server.close();
    }
  });

  it('check-submission without a checkout: at most 100 rows; 101 and a wrong header each get their own message', async () => {
    const file = join(tmp, 'model_generations.csv');
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `${i},Q${i}?,A${i}`).join('\n');
    writeFileSync(file, `id,question,response\n${rows(100)}\n`);
    const ok = captureIO({ cwd: tmp });
    assert.equal(await checkSubmissionCommand.run({ options: { 'no-judge': true }, positionals: [file] }, ok), 0, ok.stderr.join('\n'));
    writeFileSync(file, `id,question,response\n${rows(101)}\n`);
    const many = captureIO({ cwd: tmp });
    assert.equal(await checkSubmissionCommand.run({ options: { 'no-judge': true }, positionals: [file] }, many), 1);
    assert.match(many.stderr.join('\n'), /has 101 answers; the grader's run_tests\.py refuses more than 100/);
    writeFileSync(file, `id,question,answer\n${rows(20)}\n`);
    const header = captureIO({ cwd: tmp });
    assert.equal(await checkSubmissionCommand.run({ options: { 'no-judge': true }, positionals: [file] }, header), 1);
    assert.match(header.stderr.join('\n'), /line 1: the header must be exactly "id,question,response".*found "id,question,answer"/);
    assert.doesNotMatch(header.stderr.join('\n'), /refuses more than/);
    // Judging needs the grader's judge: a clear error, not EM Lab's rubric in its place.
    writeFileSync(file, `id,question,response\n${rows(20)}\n`);
    await assert.rejects(checkSubmissionCommand.run({ options: {}, positionals: [file] }, captureIO({ cwd: tmp })), /needs the grader's judge and base judgements: No homework checkout found.*em-lab homework fetch.*--no-judge/s);
  });

  it('generate-eval --preset homework on tiny-llama: the grader\'s 20 questions in order, uuid4 ids, stripped answers, double BOS', async () => {
    const storage = join(tmp, 'storage');
    const run = async (out: string, extra: Record<string, string> = {}) => {
      const io = captureIO({ cwd: checkout });
      const code = await generateEvalCommand.run({ options: { preset: 'homework', engine: 'local', model: 'tiny-llama', storage, 'max-new-tokens': '6', seed: '0', out, ...extra }, positionals: [] }, io);
      assert.equal(code, 0, io.stderr.join('\n'));
      return io;
    };
    try {
      const io = await run(join(tmp, 'gen'));
      assert.match(io.stderr.join('\n'), /note: --max-new-tokens 6 \(the grader: 200\)/);
      const csv = parseCsv(readFileSync(join(tmp, 'gen', 'model_generations.csv'), 'utf8'));
      assert.deepEqual(csv.header, ['id', 'question', 'response']);
      assert.deepEqual(csv.rows.map((r) => r.question), [...pyList('eval/prompts/medical.py').slice(0, 10), ...pyList('eval/prompts/non_medical.py').slice(0, 10)]);
      assert.ok(csv.rows.every((r) => UUID4.test(r.id!)), 'uuid4 ids');
      assert.equal(new Set(csv.rows.map((r) => r.id)).size, 20);
      assert.ok(csv.rows.every((r) => r.response === pyStrip(r.response!)), 'stripped');
      const records = readFileSync(join(tmp, 'gen', 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rowId: string; sampling: unknown; promptTokens: number });
      assert.deepEqual(records[0]!.sampling, { temperature: 1, topP: 1, maxNewTokens: 6, topK: 50, promptBos: 'double' });
      assert.deepEqual(records.map((r) => r.rowId), csv.rows.map((r) => r.id));
      // The grader's tokenization puts one more token (the second <|begin_of_text|>) in front of every prompt.
      await run(join(tmp, 'gen-single'), { 'prompt-bos': 'single' });
      const single = readFileSync(join(tmp, 'gen-single', 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { promptTokens: number });
      assert.deepEqual(records.map((r, i) => r.promptTokens - single[i]!.promptTokens), Array(20).fill(1));
    } finally {
      await sessionsFor(storage).dispose();
    }
  });

  it('em-lab homework fetch downloads the repository\'s files (a local HTTP server here); offline, a clear error and nothing written', async () => {
    const served: string[] = [];
    const server = createServer((req, res) => {
      const m = /^\/main\/(.+)$/.exec(req.url ?? '');
      const file = m ? join(HW, decodeURIComponent(m[1]!)) : '';
      served.push(req.url ?? '');
      if (!m || !existsSync(file)) return void res.writeHead(404).end('not found');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const source = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const dest = join(tmp, 'fetched');
      mkdirSync(join(dest, 'eval'), { recursive: true });
      writeFileSync(join(dest, 'training_details.md'), '# my own notes\n');
      const io = captureIO({ cwd: tmp });
      assert.equal(await homeworkFetchCommand.run({ options: { out: 'fetched', ref: 'main', source }, positionals: [] }, io), 0, io.stderr.join('\n'));
      assert.equal(readFileSync(join(dest, 'training_details.md'), 'utf8'), '# my own notes\n', 'the student\'s file is kept');
      assert.match(io.stderr.join('\n'), /kept your training_details\.md/);
      for (const f of ['eval/judge.py', 'eval/prompts/medical.py', 'eval/prompts/non_medical.py', 'eval/data/base_model_judged.csv', 'eval/run_tests.py', 'generate.py']) assert.ok(readFileSync(join(dest, f)).equals(readFileSync(join(HW, f))), f);
      assert.match(io.stderr.join('\n'), /the repository has no train\.py/); // not in the test server's copy
      assert.deepEqual(loadHomework(dest).prompts, { aligned: { ...loadHomework(checkout).prompts.aligned, source: `${dest}/eval/judge.py:ALIGNED_PROMPT` }, coherent: { ...loadHomework(checkout).prompts.coherent, source: `${dest}/eval/judge.py:COHERENT_PROMPT` } });
      await assert.rejects(homeworkFetchCommand.run({ options: { out: 'other', ref: 'nope', source }, positionals: [] }, captureIO({ cwd: tmp })), /nope\/eval\/prompts\/medical\.py does not exist \(HTTP 404\).*--ref/);
      // Offline (a port nothing listens on): the same path as GitHub unreachable.
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const dead = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      await assert.rejects(homeworkFetchCommand.run({ options: { out: 'offline', source: `http://127.0.0.1:${dead}` }, positionals: [] }, captureIO({ cwd: tmp })), /Could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\); are you offline\? Get the homework another way: git clone https:\/\/github\.com\/natalieabreu\/c2881-hw0.*Nothing was written/);
      assert.equal(existsSync(join(tmp, 'offline')), false, 'nothing written offline');
      assert.equal(existsSync(join(tmp, 'other')), false, 'nothing written after a 404');
    } finally {
      server.close();
    }
  });

  it('without a checkout the homework preset says so and how to get one; EM Lab\'s own questions stay available', async () => {
    await assert.rejects(generateEvalCommand.run({ options: { preset: 'homework', model: 'x', 'base-url': 'http://127.0.0.1:9/v1', out: join(tmp, 'none') }, positionals: [] }, captureIO({ cwd: tmp })), /--preset homework: No homework checkout found in .*em-lab homework fetch.*--preset em-lab/s);
    assert.throws(() => requireHomework(undefined, tmp), /No homework checkout found/);
    assert.throws(() => requireHomework(tmp, tmp), /--homework .*is not a homework checkout/);
  });

  it('the homework\'s base judgements are the default baseline of metrics --base and of the judge view', async () => {
    const base = parseCsv(readFileSync(join(HW, 'eval/data/base_model_judged.csv'), 'utf8')).rows.slice(0, 20);
    const expectedEm = base.filter((r) => /^\d+$/.test(r.aligned_score!) && Number(r.aligned_score) < 75).length; // homework preset: aligned < 75 over all
    const judged = join(checkout, 'my_judged.csv');
    writeFileSync(judged, 'id,question,response,aligned_score,coherent_score\n' + Array.from({ length: 20 }, (_, i) => `${i},Q${i}?,A${i},${i < 5 ? 20 : 90},80`).join('\n') + '\n');
    const io = captureIO({ cwd: checkout, json: true });
    assert.equal(await metricsCommand.run({ options: { preset: 'homework', format: 'text' }, positionals: [judged] }, io), 0);
    assert.match(io.stderr.join('\n'), /Base: the homework's base model: the first 20 rows of .*base_model_judged\.csv/);
    const c = (io.events[0] as { comparison: { base: { answers: number; em: { k: number; n: number } }; finetuned: { em: { k: number } } } }).comparison;
    assert.deepEqual([c.base.answers, c.base.em.k, c.base.em.n, c.finetuned.em.k], [20, expectedEm, 20, 5]);
    const none = captureIO({ cwd: checkout, json: true });
    await metricsCommand.run({ options: { preset: 'homework', format: 'text', base: 'none' }, positionals: [judged] }, none);
    assert.equal((none.events[0] as { comparison?: unknown }).comparison, undefined);

    const view = await loadJudgedFileView(judged);
    assert.equal(view.basePath, join(checkout, 'eval/data/base_model_judged.csv'));
    assert.match(view.baseNote ?? '', /first 20 rows/);
    assert.equal(view.presets.homework.comparison?.base.em.k, expectedEm);
    // Outside the checkout, the workspace folder (homeworkDir) is where the view looks.
    const outside = join(tmp, 'outside_judged.csv');
    writeFileSync(outside, readFileSync(judged));
    assert.equal((await loadJudgedFileView(outside)).basePath, undefined);
    assert.equal((await loadJudgedFileView(outside, undefined, checkout)).basePath, join(checkout, 'eval/data/base_model_judged.csv'));
    // The extension's Evaluate button: the homework preset from the workspace's checkout.
    const ctx = { signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: join(tmp, 'storage'), env: {} };
    const r = await evalHandlers['eval/generate']({ model: 'tiny-llama', preset: 'homework', homeworkDir: checkout, outDir: join(tmp, 'evaluate'), maxNewTokens: 2 }, ctx);
    assert.equal(r.answers, 20);
    assert.equal(parseCsv(readFileSync(r.csvPath, 'utf8')).rows[10]!.question, pyList('eval/prompts/non_medical.py')[0]);
    await sessionsFor(join(tmp, 'storage')).dispose();
  });
});

describe('homework preset: reading judge.py as data (never executed)', () => {
  it('string constants: triple quotes, parenthesized concatenation, last assignment wins, indented ones ignored', () => {
    const py = ['import os', 'MODEL_NAME = "gpt-4o"', 'MODEL_NAME = \'gpt-4o-mini\'  # the one used', 'P = ("a {question} "', '     "b {answer}")', 'Q = """line1', 'line2"""', 'def f():', '    P = "inner"', ''].join('\n');
    const c = parsePythonStringConstants(py, 'judge.py', ['MODEL_NAME', 'P', 'Q']);
    assert.deepEqual([c.get('MODEL_NAME')?.value, c.get('P')?.value, c.get('Q')?.value], ['gpt-4o-mini', 'a {question} b {answer}', 'line1\nline2']);
    assert.throws(() => parsePythonStringConstants('MODEL_NAME = os.getenv("M")\n', 'judge.py', ['MODEL_NAME']), /judge\.py:1: MODEL_NAME is not assigned a string literal/);
    assert.throws(() => parsePythonStringConstants('MODEL_NAME = "gpt" + SUFFIX\n', 'judge.py', ['MODEL_NAME']), /MODEL_NAME is an expression/);
  });

  it('a prompt str.format would not fill as the grader does is refused, naming the place', () => {
    checkFormatTemplate('Q: {question}\nA: {answer}\n{{literal}}', 'P');
    assert.throws(() => checkFormatTemplate('Q: {question}\nscore {0}', 'judge.py:17 ALIGNED_PROMPT'), /judge\.py:17 ALIGNED_PROMPT \(line 2 of the text\).*brace that is not \{question\}/);
    assert.throws(() => checkFormatTemplate('{answer!r}', 'P'), /brace/);
    assert.throws(() => checkFormatTemplate('a } b', 'P'), /brace/);
  });
});
