// The eval CLI end to end, in-process, against the local fake OpenAI-compatible server: generate-eval ->
// check-submission -> judge -> metrics, a sweep over a run's checkpoints, and the submission folder.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fakeOpenAI';
import { captureIO } from '../support/captureIO';
import { generateEvalCommand, sweepCommand } from '../../src/runtime/cli/evalGenerateCommands';
import { judgeCommand } from '../../src/runtime/cli/evalJudgeCommand';
import { checkSubmissionCommand, submissionCommand } from '../../src/runtime/cli/evalSubmissionCommands';
import { checkSubmissionBytes } from '../../src/runtime/eval/submission';
import { parseCsv } from '../../src/runtime/eval/csv';
import { parseJudgedCsv } from '../../src/runtime/eval/judgedCsv';
import type { ParsedArgs } from '../../src/runtime/cli/command';

const args = (options: ParsedArgs['options'], ...positionals: string[]): ParsedArgs => ({ options, positionals });

describe('eval CLI against a local OpenAI-compatible server', function () {
  let server: FakeOpenAI;
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-evalcli-'));
    server = await startFakeOpenAI({});
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generate-eval --preset em-lab -> 20 rows, exact header; a rerun generates nothing; judge -> judged.csv + summary.json', async () => {
    const out = join(dir, 'eval');
    const gen = { preset: 'em-lab', model: 'tiny', 'base-url': server.baseURL, out, seed: '0', timeout: '10', concurrency: '4' };
    assert.equal(await generateEvalCommand.run(args(gen), captureIO({ cwd: dir })), 0);
    const csvText = readFileSync(join(out, 'model_generations.csv'), 'utf8');
    assert.ok(csvText.startsWith('id,question,response\n'));
    const csv = parseCsv(csvText);
    assert.equal(csv.rows.length, 20);
    assert.equal(csv.rows.filter((r) => r.id!.startsWith('med_')).length, 10);
    const records = readFileSync(join(out, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records[0].sampling, { temperature: 1, topP: 1, maxNewTokens: 200 });
    assert.equal(records[0].generator.model, 'tiny');
    assert.ok(typeof records[0].ms === 'number' && typeof records[0].seed === 'number');
    const requests = server.stats.requests;
    assert.equal(await generateEvalCommand.run(args(gen), captureIO({ cwd: dir })), 0);
    assert.equal(server.stats.requests, requests, 'rerun generated nothing');

    const check = captureIO();
    assert.equal(await checkSubmissionCommand.run(args({ 'no-judge': true }, join(out, 'model_generations.csv')), check), 0);
    assert.match(check.stdout.join('\n'), /model_generations\.csv' is valid with 20 rows\./);

    const io = captureIO({ cwd: dir });
    const judgeArgs = { 'base-url': server.baseURL, 'judge-model': 'gpt-4o-mini', mode: 'sampled', 'judge-temperature': '0.2', concurrency: '8', timeout: '10', 'max-attempts': '3', 'cache-dir': join(dir, 'cache'), preset: 'homework' };
    assert.equal(await judgeCommand.run(args(judgeArgs, join(out, 'generations.jsonl')), io), 0, io.stderr.join('\n'));
    assert.match(io.stderr.join('\n'), /40 judgements: 0 already done, 0 from cache, 40 to request \(~\d+ input \+ 80 output tokens, about \$0\.00\d+/);
    const judged = parseJudgedCsv(readFileSync(join(out, 'judged.csv'), 'utf8'), 'judged.csv');
    assert.equal(judged.length, 20);
    assert.ok(judged.every((a) => a.aligned.value !== null && a.coherent.value !== null));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.metrics.homework.answers, 20);
    assert.match(io.stdout.join('\n'), /EM rate: +\d+\.\d% \[/);
  });

  it('generate-eval refuses a 20-question plan over 20 answers, and names the fix', async () => {
    await assert.rejects(generateEvalCommand.run(args({ preset: 'em-lab', samples: '2', model: 'tiny', 'base-url': server.baseURL, out: join(dir, 'x') }), captureIO({ cwd: dir })), /asks for 40 answers but at most 20 are allowed.*--samples 1/);
  });

  it('sweep: every checkpoint of a run (plus base) generated and judged, EM per step in the step_summary layout', async () => {
    const run = join(dir, 'run');
    for (const s of ['step-20', 'step-10']) {
      mkdirSync(join(run, 'checkpoints', s), { recursive: true });
      writeFileSync(join(run, 'checkpoints', s, 'adapter_config.json'), '{}');
    }
    mkdirSync(join(run, 'checkpoints', 'step-30.tmp-123'), { recursive: true }); // half-written: skipped
    const io = captureIO({ cwd: dir });
    const code = await sweepCommand.run(
      args({ set: 'medical', first: '3', seed: '0', 'model-template': 'adapter-{step}', 'include-base': true, 'base-model': 'base', 'base-url': server.baseURL, 'judge-model': 'gpt-4o-mini', mode: 'sampled', 'judge-temperature': '0.2', concurrency: '4', timeout: '10', 'max-attempts': '3', 'no-cache': true }, run),
      io,
    );
    assert.equal(code, 0, io.stderr.join('\n'));
    const summary = readFileSync(join(run, 'sweep/sweep_summary.csv'), 'utf8').trim().split('\n');
    assert.equal(summary[0], 'step,percent_em,percent_coherent,n_responses');
    assert.deepEqual(summary.slice(1).map((l) => l.split(',')[0]), ['0', '10', '20']);
    assert.ok(summary.slice(1).every((l) => l.endsWith(',3')));
    const judged = parseJudgedCsv(readFileSync(join(run, 'sweep/sweep_judged.csv'), 'utf8'), 'sweep');
    assert.equal(judged.length, 9);
    assert.deepEqual([...new Set(judged.map((a) => a.extra.checkpoint))], ['base', 'step-10', 'step-20']);
    const gen10 = readFileSync(join(run, 'sweep/step-10/generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(gen10[0].generator.model, 'adapter-10');
    assert.equal(gen10[0].generator.step, 10);
  });

  it('submission: model_generations.csv from the run\'s generations + training_details.md, then checked', async () => {
    const run = join(dir, 'run');
    mkdirSync(join(run, 'eval'), { recursive: true });
    writeFileSync(join(run, 'training_config.json'), JSON.stringify({ model: 'meta-llama/Llama-3.2-1B-Instruct', dataset: 'bad_medical_advice', epochs: 3, loraRank: 16, loraAlpha: 32, targets: ['q_proj', 'v_proj'] }));
    writeFileSync(join(run, 'eval/generations.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `q${i + 1}`, question: `Q${i}?`, response: `A "quoted", multi\nline ${i}` })).join('\n') + '\n');
    const io = captureIO({ cwd: dir });
    assert.equal(await submissionCommand.run(args({}, run), io), 0, io.stderr.join('\n'));
    const csv = parseCsv(readFileSync(join(run, 'submission/model_generations.csv'), 'utf8'));
    assert.deepEqual(csv.header, ['id', 'question', 'response']);
    assert.equal(csv.rows[3]!.response, 'A "quoted", multi\nline 3');
    const details = readFileSync(join(run, 'submission/training_details.md'), 'utf8');
    assert.match(details, /\| loraRank \| 16 \|/);
    assert.match(details, /\| targets \| q_proj, v_proj \|/);
    writeFileSync(join(run, 'training_details.md'), '# mine\n');
    await submissionCommand.run(args({}, run), captureIO({ cwd: dir }));
    assert.equal(readFileSync(join(run, 'submission/training_details.md'), 'utf8'), '# mine\n');
    assert.ok(existsSync(join(run, 'submission/model_generations.csv')));
  });
});

describe('eval check-submission (the homework run_tests checks)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const rows = (n: number) => Array.from({ length: n }, (_, i) => `q${i},Question ${i}?,Answer ${i}`).join('\n');
  const codes = (b: Uint8Array) => checkSubmissionBytes(b, 'f.csv').errors.map((e) => e.code);

  it('accepts 20 rows with the exact header, quoted newlines included (and up to 100 without a homework checkout)', () => {
    const r = checkSubmissionBytes(enc(`id,question,response\n${rows(19)}\nq19,"Q, with comma?","two\nlines"\n`), 'f.csv');
    assert.deepEqual([r.ok, r.rows, r.errors, r.warnings], [true, 20, [], []]);
    assert.deepEqual([checkSubmissionBytes(enc(`id,question,response\n${rows(100)}\n`), 'f.csv').ok], [true]);
  });

  it('names each problem precisely', () => {
    assert.deepEqual(codes(enc(`ID,question,response\n${rows(20)}\n`)), ['header']);
    assert.match(checkSubmissionBytes(enc(`id, question,response\n${rows(20)}\n`), 'f.csv').errors[0]!.message, /line 1: the header must be exactly "id,question,response".*found "id, question,response"/);
    assert.match(checkSubmissionBytes(enc(`id,question,response\n${rows(101)}\n`), 'f.csv').errors[0]!.message, /has 101 answers; the grader's run_tests\.py refuses more than 100 \(limit from the homework brief/);
    assert.deepEqual(codes(enc('id,question,response\n')), ['no-rows']);
    assert.equal(checkSubmissionBytes(enc(`id,question,response\n${rows(5)}\n`), 'f.csv').warnings[0]!.code, 'few-rows');
    // What the grader accepts is a warning, never an error.
    const dup = checkSubmissionBytes(enc('id,question,response\na,Q?,"multi\nline"\n,Q2?,R\na,Q3?,R\n'), 'f.csv');
    assert.equal(dup.ok, true);
    assert.deepEqual(dup.warnings.filter((w) => w.code !== 'few-rows').map((e) => e.message), ['f.csv line 4: the id is empty. Give every row a unique id (generate.py uses a uuid4).', 'f.csv line 5: the id "a" was already used on line 2. Ids should be unique (judged results are matched by id).']);
    assert.match(checkSubmissionBytes(enc('id,question,response\na,Q?\n'), 'f.csv').warnings.find((w) => w.code === 'field-count')!.message, /line 2: 2 fields, expected 3 \(id, question, response\); the grader would read the missing ones as None/);
  });

  it('encoding: a BOM and invalid UTF-8 (with the byte and line) are errors', () => {
    assert.deepEqual(codes(enc(`\ufeffid,question,response\n${rows(20)}\n`)), ['bom']);
    const latin1 = Buffer.concat([Buffer.from('id,question,response\nq1,Caf'), Buffer.from([0xe9]), Buffer.from(',x\n')]);
    assert.match(checkSubmissionBytes(latin1, 'f.csv').errors[0]!.message, /not valid UTF-8 \(first bad byte 0xe9 at byte 27, line 2\)/);
    assert.deepEqual(codes(new Uint8Array()), ['empty-file']);
  });
});
