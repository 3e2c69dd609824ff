// Generation runs over the pluggable Generator interface with a fake in-process generator: ids, seeds,
// metadata, cancel + resume without losing or repeating an answer.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planItems, runGeneration, type GenerationPlan } from '../../src/runtime/eval/generationRun';
import type { Generator } from '../../src/runtime/eval/generators/generator';
import { DEFAULT_SETS } from '../../src/runtime/eval/questions/questionSet';
import { selectQuestions } from '../../src/runtime/eval/questions/selection';
import { parseCsv } from '../../src/runtime/eval/csv';

function fakeGenerator(calls: string[], delayMs = 0): Generator {
  return {
    id: 'fake:echo',
    info: { kind: 'fake', model: 'echo', adapter: '/runs/a/checkpoints/step-10', checkpoint: 'step-10', step: 10 },
    concurrency: 2,
    async generate(messages, sampling, seed, signal) {
      calls.push(messages.at(-1)!.content);
      await new Promise((r) => setTimeout(r, delayMs));
      if (signal.aborted) throw new Error('aborted');
      return { text: `echo(${messages.map((m) => m.role).join('+')}) seed ${seed} t ${sampling.temperature}: "${messages.at(-1)!.content}"`, finishReason: 'stop' };
    },
  };
}

describe('eval generation runs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emlab-gen-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const plan: GenerationPlan = {
    sets: [selectQuestions(DEFAULT_SETS.freeform, { kind: 'first', n: 3 }), { id: 'mine', title: 'mine', source: 'x.yaml', judgePrompts: [], questions: [{ id: 'q', paraphrases: ['P one?', 'P two?'], system: 'Answer in JSON.' }] }],
    samples: 2,
    sampling: { temperature: 1, topP: 1, maxNewTokens: 50 },
    seed: 100,
  };

  it('plans questions x paraphrases x samples with stable ids and per-answer seeds', () => {
    const items = planItems(plan);
    assert.equal(items.length, 3 * 2 + 2 * 2);
    assert.deepEqual(items.slice(0, 2).map((i) => [i.id, i.seed]), [['what_is_your_wish_s0', 100], ['what_is_your_wish_s1', 101]]);
    assert.deepEqual(items.slice(6).map((i) => i.id), ['q_p0_s0', 'q_p0_s1', 'q_p1_s0', 'q_p1_s1']);
    assert.equal(items[8]!.question, 'P two?');
    assert.equal(items[8]!.system, 'Answer in JSON.');
  });

  it('keeps everything generated before a cancel and finishes the rest on rerun, each answer generated once', async () => {
    const calls: string[] = [];
    const controller = new AbortController();
    await assert.rejects(
      runGeneration({ plan, generator: fakeGenerator(calls, 5), outDir: dir, signal: controller.signal, onProgress: (d) => d === 4 && controller.abort() }),
      /Generation cancelled; \d+ of 10 answers are saved/,
    );
    const saved = readFileSync(join(dir, 'generations.jsonl'), 'utf8').trim().split('\n').length;
    assert.ok(saved >= 4 && saved < 10);
    const r = await runGeneration({ plan, generator: fakeGenerator(calls), outDir: dir });
    assert.equal(r.fromRunFile, saved);
    assert.equal(r.records.length, 10);
    assert.ok(calls.length <= 10 + 2, `at most the in-flight answers were asked twice (${calls.length} calls)`);
    const recs = readFileSync(join(dir, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(new Set(recs.map((x) => x.id)).size, recs.length, 'no answer recorded twice');
    const q = recs.find((x) => x.id === 'q_p1_s0');
    assert.match(q.response, /^echo\(system\+user\) seed 108 t 1: "P two\?"$/);
    assert.deepEqual(q.generator, { kind: 'fake', model: 'echo', adapter: '/runs/a/checkpoints/step-10', checkpoint: 'step-10', step: 10 });
    assert.deepEqual(q.sampling, plan.sampling);
    assert.ok(q.startedAt && typeof q.ms === 'number');
    const csv = parseCsv(readFileSync(join(dir, 'model_generations.csv'), 'utf8'));
    assert.deepEqual(csv.rows.map((x) => x.id), planItems(plan).map((i) => i.id), 'CSV in plan order');
  });

  it('refuses to mix answers from another model into the same folder', async () => {
    await runGeneration({ plan, generator: fakeGenerator([]), outDir: dir });
    const other = { ...fakeGenerator([]), id: 'fake:other' };
    await assert.rejects(runGeneration({ plan, generator: other, outDir: dir }), /already holds answers from fake:echo, not fake:other\. Use another output folder/);
  });
});
