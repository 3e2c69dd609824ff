// Generation on an OpenAI-compatible server that loads LoRA adapters at run time (vLLM's /v1/load_lora_adapter),
// through the REAL openai client against the fake server speaking that protocol: a checkpoint sweep registers and
// unregisters each checkpoint exactly once around its own answers, asks for samples of one question with `n`, and
// records every planned answer once with the plan's id and seed; faults, cancel and a server without `n` lose nothing.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fakeOpenAI';
import { planItems, runGeneration, type GenerationPlan, type GenerationRecord } from '../../src/runtime/eval/generationRun';
import { openAIGenerator } from '../../src/runtime/eval/generators/openaiGenerator';
import { adapterServerName, loraPathOnServer, parseLoraPathMaps } from '../../src/runtime/eval/generators/loraAdmin';
import { listCheckpoints, runSweep } from '../../src/runtime/eval/sweep';
import { DEFAULT_PROMPTS } from '../../src/runtime/eval/judge/rubrics';
import { readJsonl } from '../../src/runtime/eval/jsonl';
import { captureIO } from '../support/captureIO';
import { generateEvalCommand } from '../../src/runtime/cli/evalGenerateCommands';

const FAST_RETRY = { maxAttempts: 4, maxRateLimitRetries: 30, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 100 };

const plan: GenerationPlan = {
  sets: [{ id: 'mine', title: 'mine', source: 'test', judgePrompts: [], questions: [{ id: 'q1', paraphrases: ['First question?'] }, { id: 'q2', paraphrases: ['Second question?', 'Second, reworded?'] }] }],
  samples: 5,
  sampling: { temperature: 1, topP: 1, maxNewTokens: 20 },
  seed: 40,
};

function writeCheckpoint(run: string, step: number): string {
  const dir = join(run, 'checkpoints', `step-${step}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ r: 4, lora_alpha: 8, peft_type: 'LORA', target_modules: ['q_proj'] }));
  writeFileSync(join(dir, 'adapter_model.safetensors'), `weights of step ${step}`);
  return dir;
}

/** Every planned answer exactly once, in the plan's order, with its own seed, and the text the server gave that seed. */
function checkAnswers(records: GenerationRecord[], servedAs: string): void {
  const items = planItems(plan);
  assert.deepEqual(records.map((r) => r.id), items.map((i) => i.id));
  for (const [i, r] of records.entries()) {
    assert.equal(r.seed, items[i]!.seed);
    assert.equal(r.response, `A fake answer from ${servedAs} with seed ${r.seed} to: ${r.question}`, `answer ${r.id} is the one its own seed gives`);
  }
}

describe('generation on an OpenAI-compatible server with run-time LoRA adapters', function () {
  this.timeout(30_000);
  let dir: string;
  let server: FakeOpenAI;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emlab-srvgen-'))));
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sweep registers and unregisters each checkpoint once, around exactly its own answers, with n per request', async () => {
    server = await startFakeOpenAI({ lora: { baseModels: ['base-m', 'judge-m'] } });
    const run = join(dir, 'run');
    const paths = [10, 20, 30].map((s) => writeCheckpoint(run, s));
    const checkpoints = [{ label: 'base', step: 0 }, ...(await listCheckpoints(run))];
    const events: string[] = [];
    const r = await runSweep({
      checkpoints,
      plan,
      outDir: join(run, 'sweep'),
      judge: { model: 'judge-m', mode: 'sampled', temperature: 0.2, prompts: DEFAULT_PROMPTS, endpoint: { baseURL: server.baseURL, timeoutMs: 5000 }, concurrency: 4, retry: FAST_RETRY, env: {} },
      generatorFor: (cp) =>
        openAIGenerator({
          model: 'base-m',
          endpoint: { baseURL: server.baseURL, timeoutMs: 5000 },
          env: {},
          concurrency: 3,
          n: 4,
          retry: FAST_RETRY,
          ...(cp.path ? { lora: { name: adapterServerName(cp.path), serverPath: cp.path, localPath: cp.path } } : {}),
          checkpoint: cp.label,
          step: cp.step,
          onLora: (e, a) => events.push(`${e} ${a.name}`),
        }),
    });
    assert.equal(r.failed, 0);
    const names = paths.map((p) => adapterServerName(p));
    assert.equal(new Set(names).size, 3);
    // Load k, (its answers), unload k, in checkpoint order; nothing left loaded; no request for a model not loaded.
    assert.deepEqual(
      server.stats.loraCalls.map((c) => `${c.op} ${c.name} ${c.status}`),
      names.flatMap((n) => [`load ${n} 200`, `unload ${n} 200`]),
    );
    assert.deepEqual(events, names.flatMap((n) => [`loaded ${n}`, `unloaded ${n}`]));
    assert.deepEqual(server.stats.loraCalls.filter((c) => c.op === 'load').map((c) => c.path), paths);
    assert.equal(server.loraLoaded().size, 0);
    assert.equal(server.stats.unknownModel, 0, 'every chat went to a model loaded at that moment');
    const perModel = planItems(plan).length; // 3 prompts x 5 samples
    for (const [i, cp] of checkpoints.entries()) {
      const servedAs = i === 0 ? 'base-m' : names[i - 1]!;
      // 3 prompts x 5 samples with n <= 4: 2 requests per prompt (4 + 1), 15 answers.
      assert.equal(server.stats.chatsByModel.get(servedAs), 6, servedAs);
      assert.equal(server.stats.choicesByModel.get(servedAs), perModel);
      const records = await readJsonl<GenerationRecord>(join(run, 'sweep', i === 0 ? 'base' : `step-${cp.step}`, 'generations.jsonl'));
      checkAnswers(records.sort((a, b) => a.seed - b.seed), servedAs);
      const first = records.find((x) => x.id === 'q1_s1')!;
      assert.deepEqual(first.request, { seed: 40, n: 4, choice: 1 }, 'sample 1 was choice 1 of the request seeded 40');
      if (i > 0) assert.deepEqual(first.generator, { kind: 'openai-compatible', model: 'base-m', endpoint: server.baseURL, adapter: paths[i - 1], servedAs, checkpoint: cp.label, step: cp.step });
    }
    assert.equal(r.judged.length, 4 * perModel);
  });

  it('a server that ignores n is detected: one answer per request from then on, nothing lost or repeated', async () => {
    server = await startFakeOpenAI({ lora: { baseModels: ['base-m'] }, supportsN: false });
    const g = openAIGenerator({ model: 'base-m', endpoint: { baseURL: server.baseURL, timeoutMs: 5000 }, env: {}, concurrency: 1, n: 4, retry: FAST_RETRY });
    const r = await runGeneration({ plan, generator: g, outDir: dir });
    checkAnswers(r.records, 'base-m');
    assert.equal(server.stats.chatsByModel.get('base-m'), 15, 'the first request (n=4) gave one answer; then 14 single ones');
  });

  it('500s are retried, a group that keeps failing is reported and redone on rerun; cancel still unloads; no duplicates', async () => {
    let failQ2 = true;
    server = await startFakeOpenAI({
      lora: { baseModels: ['base-m'] },
      fault: (req, attempt) => (req.prompt === 'First question?' && attempt === 0 ? 'server-error' : req.prompt === 'Second, reworded?' && failQ2 ? 'server-error' : undefined),
    });
    const ckpt = writeCheckpoint(join(dir, 'run'), 7);
    const lora = { name: adapterServerName(ckpt), serverPath: ckpt, localPath: ckpt };
    const make = () => openAIGenerator({ model: 'base-m', endpoint: { baseURL: server.baseURL, timeoutMs: 5000 }, env: {}, concurrency: 2, n: 5, retry: FAST_RETRY, lora });
    const first = await runGeneration({ plan, generator: make(), outDir: join(dir, 'out') });
    assert.deepEqual([...new Set(first.failed.map((f) => f.id.replace(/_s\d$/, '')))], ['q2_p1']);
    assert.equal(first.failed.length, 5);
    assert.match(first.failed[0]!.error, /500/);
    // A run cancelled while its requests are in flight unloads too, and keeps what arrived.
    failQ2 = false;
    const controller = new AbortController();
    await assert.rejects(runGeneration({ plan, generator: make(), outDir: join(dir, 'out'), signal: controller.signal, onProgress: (d) => d > 10 && controller.abort() }), /cancelled/i);
    assert.equal(server.loraLoaded().size, 0, 'unloaded after the cancel');
    const second = await runGeneration({ plan, generator: make(), outDir: join(dir, 'out') });
    assert.ok(second.fromRunFile >= 11 && second.fromRunFile <= 15, String(second.fromRunFile));
    assert.equal(second.failed.length, 0);
    const all = await readJsonl<GenerationRecord>(join(dir, 'out', 'generations.jsonl'));
    assert.equal(all.length, 15, 'each answer recorded once');
    checkAnswers(second.records, lora.name);
    const ops = server.stats.loraCalls.map((c) => c.op);
    assert.equal(ops.filter((o) => o === 'load').length, ops.filter((o) => o === 'unload').length);
    assert.equal(server.loraLoaded().size, 0);
  });

  it('an adapter left registered by an interrupted run is reused under its name, then unloaded', async () => {
    server = await startFakeOpenAI({ lora: { baseModels: ['base-m'] } });
    const ckpt = writeCheckpoint(join(dir, 'run'), 3);
    const name = adapterServerName(ckpt);
    await fetch(`${server.baseURL}/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: name, lora_path: ckpt }) });
    const events: string[] = [];
    const g = openAIGenerator({ model: 'base-m', endpoint: { baseURL: server.baseURL, timeoutMs: 5000 }, env: {}, retry: FAST_RETRY, lora: { name, serverPath: ckpt, localPath: ckpt }, onLora: (e) => events.push(e) });
    checkAnswers((await runGeneration({ plan, generator: g, outDir: dir })).records, name);
    assert.deepEqual(events, ['was-loaded', 'unloaded']);
    // Retrained weights at the same path get another name, so a server never answers with stale weights.
    writeFileSync(join(ckpt, 'adapter_model.safetensors'), 'retrained weights, longer than before');
    assert.notEqual(adapterServerName(ckpt), name);
  });

  it('em-lab generate-eval --adapter with --base-url: loaded, answered, unloaded; a server without the endpoint gets a clear message', async () => {
    server = await startFakeOpenAI({ lora: { baseModels: ['base-m'] } });
    const ckpt = writeCheckpoint(join(dir, 'run'), 5);
    const io = captureIO({ cwd: dir });
    const options = { 'base-url': server.baseURL, model: 'base-m', adapter: 'run/checkpoints/step-5', questions: undefined, set: 'general', first: '2', samples: '3', n: '3', 'lora-path-map': ['run=/srv/runs/run'], out: 'eval', seed: '0' };
    assert.equal(await generateEvalCommand.run({ options, positionals: [] }, io), 0, io.stderr.join('\n'));
    assert.deepEqual(server.stats.loraCalls.map((c) => [c.op, c.path ?? '']), [['load', '/srv/runs/run/checkpoints/step-5'], ['unload', '']]);
    assert.equal(server.stats.choicesByModel.get(adapterServerName(ckpt)), 6);
    assert.equal(readFileSync(join(dir, 'eval', 'model_generations.csv'), 'utf8').trim().split('\n').length, 7);

    const plain = await startFakeOpenAI({});
    try {
      const io2 = captureIO({ cwd: dir });
      await assert.rejects(generateEvalCommand.run({ options: { ...options, 'base-url': plain.baseURL, out: 'eval2' }, positionals: [] }, io2), /load_lora_adapter \(HTTP 404\)\. Start vLLM with --enable-lora .*VLLM_ALLOW_RUNTIME_LORA_UPDATING=True/);
    } finally {
      await plain.close();
    }
  });

  it('maps local adapter folders to the server\'s paths', () => {
    const maps = parseLoraPathMaps(['/home/me/runs=/mnt/runs/']);
    assert.equal(loraPathOnServer('/home/me/runs/a/checkpoints/step-5', maps), '/mnt/runs/a/checkpoints/step-5');
    assert.equal(loraPathOnServer('/home/me/runsX/a', maps), '/home/me/runsX/a');
    assert.throws(() => parseLoraPathMaps(['nothing']), /--lora-path-map nothing: expected LOCAL=REMOTE/);
  });
});
