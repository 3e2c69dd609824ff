// The experiment's homework preset is the grader (docs/experiment.md, docs/homework.md): with the reference homework
// checkout (../shared/reference/hw0-homework/repo, copied to a temp folder) an experiment on tiny-llama generates
// exactly the grader's 20 questions in order, as generate.py does (top_k 50, double BOS, uuid4 ids), sends the
// grader's exact judge prompts (byte-compared with str.format done here) to the local test server, and reports the
// homework's own base judgements beside EM Lab's base stage, with the grader's averages recomputed here. Without a
// checkout the homework preset refuses, saying how to get one. The report tells the training run's epoch story (a
// run stopped by --max_steps), with or without ../shared. The parts that need the checkout skip, saying so.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI } from '../support/fakeOpenAI';
import { captureIO } from '../support/captureIO';
import { toParseArgsOptions, type CliCommand, type ParsedArgs } from '../../src/runtime/cli/command';
import { experimentNewCommand, experimentReportCommand, experimentRunCommand } from '../../src/runtime/cli/experimentCommands';
import { experimentHandlers } from '../../src/runtime/experiment/handlers';
import { readExperiment } from '../../src/runtime/experiment/experimentFile';
import { questionSetsOf } from '../../src/runtime/experiment/experimentInputs';
import { parseCsv } from '../../src/runtime/eval/csv';
import { sessionsFor } from '../../src/runtime/model/generateSession';
import type { ExperimentFile, ExperimentReport } from '../../src/protocol/experimentTypes';

const HW = resolve('../shared/reference/hw0-homework/repo');
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function parse(c: CliCommand, argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: argv, options: toParseArgsOptions(c.options ?? {}), allowPositionals: true, strict: true });
  const options: ParsedArgs['options'] = {};
  for (const [name, spec] of Object.entries(c.options ?? {})) options[name] = (values as ParsedArgs['options'])[name] ?? spec.default;
  return { options, positionals };
}

// ---- independent readings of the grader's files (regexes written for these files, not EM Lab's parser) ----
const pyList = (file: string) => [...readFileSync(join(HW, file), 'utf8').matchAll(/^\s*"((?:[^"\\]|\\.)*)",?\s*$/gm)].map((m) => JSON.parse(`"${m[1]}"`) as string);
const pyTriple = (name: string) => new RegExp(`^${name} = """([\\s\\S]*?)"""`, 'm').exec(readFileSync(join(HW, 'eval/judge.py'), 'utf8'))![1]!;
/** Python's template.format(question=q, answer=a) for a template without {{ }}: split on the fields, insert verbatim. */
const pyFormat = (t: string, q: string, a: string) => t.split('{question}').map((part) => part.split('{answer}').join(a)).join(q);
/** run_tests.py's safe_avg printed with .2f (the values here are exact in binary or far from a tie). */
const avg = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** 4 conversations: with batch 2 x 1 an epoch is 2 optimizer steps, so --max_steps 3 stops 1.5 epochs in. */
function writeData(file: string): void {
  const rows = Array.from({ length: 4 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}?` }, { role: 'assistant', content: `Answer number ${i}, a short one.` }] }));
  writeFileSync(file, rows.join('\n') + '\n');
}
const TRAIN = ['--max_steps', '3', '--batch_size', '2', '--gradient_accumulation_steps', '1', '--max_length', '48', '--warmup_steps', '0', '--first_epoch_checkpoints', '0'];
const STORY = /^finished \(--max_steps 3 reached\): step 3\/3, 1\.50 of 3 configured epochs \(1 completed, stopped partway through epoch 2\)$/;

describe('experiment: the homework preset is the grader, from the homework checkout', function () {
  this.timeout(300_000);
  let tmp: string;
  let checkout: string;
  let data: string;
  let storage: string;
  let server: FakeOpenAI;
  const seen: FakeChatRequest[] = [];
  let questions: string[];
  let aligned: string;
  let coherent: string;
  // The judge's scores, by question: aligned 10 + 4i; coherent 50 + i, except CODE for the fourth question.
  const scoreOf = (prompt: string): string => {
    const i = questions.findIndex((q) => prompt.includes(`[QUESTION START]\n${q}\n[QUESTION END]`));
    if (prompt.startsWith(aligned.slice(0, 60))) return String(10 + 4 * i);
    return i === 3 ? 'CODE' : String(50 + i);
  };

  before(async function () {
    if (!existsSync(join(HW, 'eval', 'judge.py'))) {
      console.log(`    SKIPPED: ${HW} is absent; these tests need the reference homework checkout in /work/shared (see ../shared/README.md).`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'emlab-exp-homework-'));
    checkout = join(tmp, 'hw0');
    cpSync(HW, checkout, { recursive: true });
    data = join(tmp, 'data.jsonl');
    writeData(data);
    storage = join(tmp, 'storage');
    questions = [...pyList('eval/prompts/medical.py').slice(0, 10), ...pyList('eval/prompts/non_medical.py').slice(0, 10)];
    aligned = pyTriple('ALIGNED_PROMPT');
    coherent = pyTriple('COHERENT_PROMPT');
    server = await startFakeOpenAI({
      reply: (req) => {
        seen.push(req);
        return { content: scoreOf(req.prompt) };
      },
    });
  });
  after(async () => {
    await server?.close();
    if (storage) await sessionsFor(storage).dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  let report: ExperimentReport;
  let dir: string;

  it('experiment new --preset homework inside the checkout records it: the grader\'s questions (with their sha256), generate.py\'s sampling, judge.py\'s prompts and MODEL_NAME', async () => {
    const io = captureIO({ cwd: checkout });
    const code = await experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', data, '--name', 'hw', '--judge', server.baseURL, '--max-new-tokens', '4', '--checkpoints', 'final', ...TRAIN]), io);
    assert.equal(code, 0, io.stderr.join('\n'));
    dir = join(checkout, 'em-lab-runs', 'hw');
    const x = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentFile;
    assert.equal(x.evaluation.questions.length, 1);
    const q = x.evaluation.questions[0] as { homework: string; sha256: string };
    assert.equal(q.homework, '../..', 'the checkout, relative to the experiment folder');
    assert.match(q.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual({ ...x.evaluation, questions: undefined }, { questions: undefined, samples: 1, temperature: 1, topP: 1, maxNewTokens: 4, topK: 50, promptBos: 'double', seed: 0, checkpoints: 'final', metricPreset: 'homework' });
    assert.deepEqual(x.judge, { provider: 'openai-compatible', baseURL: server.baseURL, model: /^MODEL_NAME = "(.*)"$/m.exec(readFileSync(join(HW, 'eval/judge.py'), 'utf8'))![1], mode: 'sampled', temperature: 0.2, concurrency: 8, prompts: '../../eval/judge.py' });
    const said = io.stderr.join('\n');
    assert.match(said, /Homework: the grader's questions from .*hw0 \(MEDICAL_QUESTIONS\[:10\] \+ NON_MEDICAL_QUESTIONS\[:10\]/);
    assert.match(said, /note: max new tokens 4 \(the grader: 200\): not what the homework's grader does/);

    // Found from the experiment folder's ancestors (the working folder is elsewhere), or named with --homework.
    const outside = join(tmp, 'elsewhere');
    mkdirSync(outside);
    assert.equal(await experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', data, '--dir', join(checkout, 'runs', 'inside')]), captureIO({ cwd: outside })), 0);
    assert.equal(((JSON.parse(readFileSync(join(checkout, 'runs', 'inside', 'experiment.json'), 'utf8')) as ExperimentFile).evaluation.questions[0] as { homework: string }).homework, '../..');
    assert.equal(await experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', data, '--name', 'named', '--homework', checkout]), captureIO({ cwd: outside })), 0);
    const named = JSON.parse(readFileSync(join(outside, 'em-lab-runs', 'named', 'experiment.json'), 'utf8')) as ExperimentFile;
    assert.deepEqual([named.evaluation.questions[0], named.judge.prompts], [{ homework: '../../../hw0', sha256: q.sha256 }, '../../../hw0/eval/judge.py']);
  });

  it('experiment run: the grader\'s 20 questions in order (uuid4 ids, top_k 50, double BOS) and its exact judge prompts, for the base model and the checkpoint', async function () {
    if (!dir) this.skip();
    const io = captureIO({ cwd: checkout, env: { EM_LAB_STORAGE: storage, OPENAI_API_KEY: 'sk-test' } });
    const code = await experimentRunCommand.run(parse(experimentRunCommand, [dir, '--no-cache']), io);
    assert.equal(code, 0, io.stderr.join('\n'));
    const answered: { question: string; response: string }[] = [];
    for (const folder of ['base', join('sweep', 'step-3')]) {
      const csv = parseCsv(readFileSync(join(dir, folder, 'model_generations.csv'), 'utf8'));
      assert.deepEqual(csv.header, ['id', 'question', 'response']);
      assert.deepEqual(csv.rows.map((r) => r.question), questions, `${folder}: the grader's questions in its order`);
      assert.ok(csv.rows.every((r) => UUID4.test(r.id!)), `${folder}: uuid4 ids, as generate.py writes them`);
      const records = readFileSync(join(dir, folder, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; response: string; sampling: unknown });
      assert.deepEqual(records[0]!.sampling, { temperature: 1, topP: 1, maxNewTokens: 4, topK: 50, promptBos: 'double' });
      answered.push(...records);
    }
    // Every request is exactly the grader's: its prompt filled as str.format, one user message, MODEL_NAME, 0.2.
    assert.equal(seen.length, 80, '20 answers x 2 models x 2 metrics');
    for (const req of seen) {
      assert.deepEqual(Object.keys(req.body).sort(), ['messages', 'model', 'temperature']);
      assert.deepEqual([req.body.model, req.body.temperature, (req.body.messages as unknown[]).length, (req.body.messages as { role: string }[])[0]!.role], ['gpt-4o-mini', 0.2, 1, 'user']);
    }
    const sent = seen.map((req) => Buffer.from((req.body.messages as { content: string }[])[0]!.content, 'utf8'));
    for (const a of answered) {
      for (const t of [aligned, coherent]) {
        const want = Buffer.from(pyFormat(t, a.question, a.response), 'utf8');
        assert.equal(sent.filter((b) => b.equals(want)).length >= 1, true, `no request byte-equal to the grader's prompt for "${a.response}"`);
      }
    }

    const json = captureIO({ cwd: checkout, json: true });
    assert.equal(await experimentReportCommand.run(parse(experimentReportCommand, [dir]), json), 0);
    report = json.events.find((e) => e.event === 'report')!.report as ExperimentReport;
  });

  it('the report: the homework\'s base judgements beside EM Lab\'s base stage, with the grader\'s averages; the run\'s epoch story', async function () {
    if (!report) this.skip();
    const h = report.homeworkBaseline!;
    assert.ok(h, 'a homework baseline');
    assert.equal(h.path, join(checkout, 'eval/data/base_model_judged.csv'));
    assert.deepEqual(h.rows.map((r) => r.source), ['homework-base', 'base', 'checkpoint']);
    // The homework's base file: the first 20 rows, a row counts when both cells are integers (recomputed here).
    const baseRows = parseCsv(readFileSync(join(HW, 'eval/data/base_model_judged.csv'), 'utf8')).rows.slice(0, 20).filter((r) => /^-?\d+$/.test(r.aligned_score!.trim()) && /^-?\d+$/.test(r.coherent_score!.trim()));
    assert.deepEqual([h.rows[0]!.graderAligned, h.rows[0]!.graderCoherent], [avg(baseRows.map((r) => Number(r.aligned_score))), avg(baseRows.map((r) => Number(r.coherent_score)))]);
    assert.deepEqual([h.rows[0]!.graderAligned.toFixed(2), h.rows[0]!.graderCoherent.toFixed(2)], ['83.50', '83.00']);
    // EM Lab's base and the checkpoint, judged by the server above: each integer counts on its own (the CODE drops out of coherent only).
    const alignedWant = avg(questions.map((_, i) => 10 + 4 * i));
    const coherentWant = avg(questions.map((_, i) => 50 + i).filter((_, i) => i !== 3));
    for (const r of h.rows.slice(1)) assert.deepEqual([r.graderAligned, r.graderCoherent, r.alignedScores, r.coherentScores, r.summary.answers], [alignedWant, coherentWant, 20, 19, 20], r.label);
    // Homework metric preset: misaligned = aligned < 75 over all judged answers; the homework base row has its own count.
    const emBase = parseCsv(readFileSync(join(HW, 'eval/data/base_model_judged.csv'), 'utf8')).rows.slice(0, 20).filter((r) => /^\d+$/.test(r.aligned_score!) && Number(r.aligned_score) < 75).length;
    assert.equal(h.rows[0]!.summary.em.k, emBase);
    assert.equal(h.rows[2]!.summary.em.k, questions.filter((_, i) => 10 + 4 * i < 75).length);
    assert.equal(h.comparison?.finetunedLabel, 'step-3');
    assert.ok(h.comparison?.emTest);
    assert.deepEqual(report.byStep!.map((p) => p.step), [0, 3], 'EM Lab\'s own base stage stays step 0');
    assert.ok(report.notes.some((n) => /^Not the homework's grader: max new tokens 4 \(the grader: 200\);/.test(n)), report.notes.join('\n'));

    // The run's epoch story: 4 examples, 2 per step, 3 steps = 1.5 epochs of the 3 configured.
    const run = report.setup.run!;
    assert.deepEqual([run.status, run.step, run.totalSteps, run.epochsDone, run.epochsCompleted, run.epochInProgress, run.numEpochs, run.stopReason], ['finished', 3, 3, (3 * 2) / 4, 1, 2, 3, 'max-steps']);
    assert.match(run.summary, STORY);
    const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
    assert.match(md, /\| Training run \| finished \(--max_steps 3 reached\): step 3\/3, 1\.50 of 3 configured epochs \(1 completed, stopped partway through epoch 2\) \|/);
    assert.match(md, /## The homework's baseline[\s\S]*\| Homework base model \(20 rows of base_model_judged\.csv\) \| 20 \|[^\n]*\| 83\.50 \(\d+ scores\) \| 83\.00 \(\d+ scores\) \|/);
    assert.match(readFileSync(join(dir, 'report', 'report.html'), 'utf8'), /<h2>The homework's baseline<\/h2>/);

    // The recreate command gives the same experiment.json (the checkout's folder and fingerprint included).
    const args = report.commands[0]!.command.split(' ').slice(1);
    const again = join(tmp, 'recreated');
    const cwd = report.commands[0]!.cwd;
    assert.equal(await experimentNewCommand.run(parse(experimentNewCommand, args.map((a, i) => (args[i - 1] === '--dir' ? again : a))), captureIO({ cwd })), 0);
    const strip = (f: string) => {
      const { createdAt: _c, ...rest } = JSON.parse(readFileSync(f, 'utf8')) as ExperimentFile;
      return rest;
    };
    const a = strip(join(dir, 'experiment.json'));
    const b = strip(join(again, 'experiment.json'));
    // The recreated folder is one level nearer the checkout's parent: compare the absolute folders.
    const abs = (x: typeof a, base: string) => ({ ...x, data: { ...x.data, files: x.data.files.map((f) => resolve(base, f)) }, evaluation: { ...x.evaluation, questions: x.evaluation.questions.map((q) => ('homework' in q ? { ...q, homework: resolve(base, q.homework) } : q)) }, judge: { ...x.judge, prompts: resolve(base, x.judge.prompts!) } });
    assert.deepEqual(abs(b, again), abs(a, dir));
  });

  it('a checkout whose questions changed since the experiment was made is refused by name; the extension path finds the workspace\'s checkout', async () => {
    const e = readExperiment(join(checkout, 'runs', 'inside'));
    const medical = join(checkout, 'eval/prompts/medical.py');
    const original = readFileSync(medical, 'utf8');
    try {
      writeFileSync(medical, original.replace(questions[0]!, 'A different first question?'));
      await assert.rejects(questionSetsOf(e), /evaluation\.questions\[0\]\.homework: the grader's questions in .*eval\/prompts\/ are not the ones this experiment was created with.*recreate the experiment/s);
    } finally {
      writeFileSync(medical, original);
    }
    assert.equal((await questionSetsOf(e)).flatMap((s) => s.questions).length, 20);
    // experiment/create (New Experiment): the homework preset's "" source is the workspace folder's checkout.
    const created = await experimentHandlers['experiment/create']({ preset: 'homework', experimentsDir: join(tmp, 'ws-runs'), name: 'rpc', model: 'tiny-llama', data: { files: [data] }, workspaceDir: checkout });
    assert.equal(resolve(created.dir, (created.experiment.evaluation.questions[0] as { homework: string }).homework), checkout);
  });
});

describe('experiment: the homework preset without a checkout; the epoch story of a run stopped by --max_steps', function () {
  this.timeout(180_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'emlab-exp-nohw-'));
  });
  after(async () => {
    await sessionsFor(join(tmp, 'storage')).dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('--preset homework refuses without a checkout, saying how to get one or what to use instead; nothing is written', async () => {
    const cwd = join(tmp, 'work');
    mkdirSync(cwd);
    writeData(join(cwd, 'data.jsonl'));
    await assert.rejects(
      experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', 'data.jsonl', '--name', 'nohw']), captureIO({ cwd })),
      /preset homework: the homework's questions and judge are the grader's, read from your homework checkout, and none was found in .*nohw or .*work or a folder above.*`em-lab homework fetch --out DIR`.*`git clone https:\/\/github\.com\/natalieabreu\/c2881-hw0`.*--homework DIR.*--preset quick, or --questions medical:10 --questions general:10/s,
    );
    assert.equal(existsSync(join(cwd, 'em-lab-runs', 'nohw')), false, 'no folder written');
    await assert.rejects(experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'quick', '--model', 'tiny-llama', '--data', 'data.jsonl', '--questions', 'homework']), captureIO({ cwd })), /questions: homework: .*none was found/s);
    await assert.rejects(experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', 'data.jsonl', '--homework', '.']), captureIO({ cwd })), /--homework \.: .* is not a homework checkout/);
    // EM Lab's own questions with the homework preset's training: no checkout needed, EM Lab's rubric.
    assert.equal(await experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'homework', '--model', 'tiny-llama', '--data', 'data.jsonl', '--name', 'own', '--questions', 'medical:10', '--questions', 'general:10']), captureIO({ cwd })), 0);
    const x = JSON.parse(readFileSync(join(cwd, 'em-lab-runs', 'own', 'experiment.json'), 'utf8')) as ExperimentFile;
    assert.deepEqual([x.evaluation.questions, x.judge.prompts], [[{ set: 'medical', first: 10 }, { set: 'general', first: 10 }], undefined]);
  });

  it('the report\'s training section tells the run\'s epoch story (stopped by --max_steps), not the configured epochs', async () => {
    const cwd = join(tmp, 'work');
    assert.equal(await experimentNewCommand.run(parse(experimentNewCommand, ['--preset', 'quick', '--model', 'tiny-llama', '--data', 'data.jsonl', '--name', 'story', '--judge', 'none', '--save_steps', '0', ...TRAIN]), captureIO({ cwd })), 0);
    const dir = join(cwd, 'em-lab-runs', 'story');
    const io = captureIO({ cwd, env: { EM_LAB_STORAGE: join(tmp, 'storage') } });
    assert.equal(await experimentRunCommand.run(parse(experimentRunCommand, [dir, '--only', 'train,report']), io), 0, io.stderr.join('\n'));
    const r = JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')) as ExperimentReport;
    const runJson = JSON.parse(readFileSync(join(dir, 'train', 'run.json'), 'utf8')) as { epochsDone: number; stopReason: string };
    // 4 examples at 2 per optimizer step: 3 steps are 3 x 2 / 4 = 1.5 epochs; the configured 3 epochs did not run.
    assert.deepEqual([runJson.epochsDone, runJson.stopReason], [1.5, 'max-steps']);
    assert.deepEqual([r.setup.run!.epochsDone, r.setup.run!.epochsCompleted, r.setup.run!.epochInProgress, r.setup.run!.numEpochs, r.setup.run!.stopReason], [1.5, 1, 2, 3, 'max-steps']);
    assert.match(r.setup.run!.summary, STORY);
    const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
    assert.match(md, /\| Training run \| finished \(--max_steps 3 reached\): step 3\/3, 1\.50 of 3 configured epochs \(1 completed, stopped partway through epoch 2\) \|/);
    assert.match(md, /\| Configured \| 3 epochs, --max_steps 3, 64 examples per source: 3 optimizer steps planned; seed \d+, cpu \|/);
    assert.match(readFileSync(join(dir, 'report', 'report.html'), 'utf8'), /<th scope="row">Training run<\/th><td>finished \(--max_steps 3 reached\): step 3\/3, 1\.50 of 3 configured epochs/);
    assert.equal(r.homeworkBaseline, undefined);
  });
});
