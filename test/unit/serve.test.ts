// `em-lab serve` (in-process, tiny-llama + two random adapters) answered through the REAL `openai` npm client:
// the same tokens as `em-lab generate` for the same seed (streamed and not, choice i = seed + i), two adapters served
// at once by name, OpenAI-style errors; and EM Lab's own openai-compatible generator, loading a checkpoint at run
// time, gets exactly the answers of local generation.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { captureIO, type CapturedIO } from '../support/captureIO';
import { writeRandomAdapter } from '../support/randomAdapter';
import { serveCommand } from '../../src/runtime/cli/serveCommands';
import { generateCommand } from '../../src/runtime/cli/generateCommands';
import { ModelSessions } from '../../src/runtime/model/generateSession';
import { runGeneration, type GenerationPlan } from '../../src/runtime/eval/generationRun';
import { localGenerator } from '../../src/runtime/eval/generators/localGenerator';
import { openAIGenerator } from '../../src/runtime/eval/generators/openaiGenerator';
import { adapterServerName } from '../../src/runtime/eval/generators/loraAdmin';

const PROMPT = 'How do I treat a minor burn?';

describe('em-lab serve: EM Lab\'s engine behind the OpenAI Chat Completions API', function () {
  this.timeout(180_000);
  let dir: string;
  let adapterA: string;
  let adapterB: string;
  let client: OpenAI;
  let baseURL: string;
  let stop: AbortController;
  let serving: Promise<number>;
  let serveIO: CapturedIO;

  interface Generated {
    text: string;
    deltas: string[];
    finishReason: string;
  }
  const generated = new Map<string, Promise<Generated[]>>();
  /**
   * `em-lab generate --json --prompts` in-process (its own storage folder) with `copies` copies of PROMPT: item i
   * samples with seed + i, as `em-lab generate --seed S+i` alone would. Each answer's text and token deltas.
   */
  function generate(seed: number, maxTokens: number, adapter: string | undefined, copies = 1): Promise<Generated[]> {
    const key = JSON.stringify([seed, maxTokens, adapter, copies]);
    if (!generated.has(key)) {
      generated.set(key, (async () => {
        const file = join(dir, `prompts-${copies}.txt`);
        writeFileSync(file, `${PROMPT}\n`.repeat(copies));
        const io = captureIO({ json: true, cwd: dir });
        const options = { storage: join(dir, 'storage-generate'), batch: '8', prompts: file, seed: String(seed), max_new_tokens: String(maxTokens), temperature: '1', ...(adapter ? { adapter } : {}) };
        assert.equal(await generateCommand.run({ options, positionals: [] }, io), 0, io.stderr.join('\n'));
        return Array.from({ length: copies }, (_, i) => {
          const answer = io.events.find((e) => e.event === 'answer' && e.item === i)!;
          const deltas = io.events.filter((e) => e.event === 'token' && e.item === i).map((e) => String(e.delta)).filter(Boolean);
          return { text: String(answer.text), deltas, finishReason: String(answer.finishReason) };
        });
      })());
    }
    return generated.get(key)!;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-serve-'));
    adapterA = join(dir, 'runs', 'medical', 'checkpoints', 'step-10');
    adapterB = join(dir, 'runs', 'finance', 'checkpoints', 'step-10');
    mkdirSync(adapterA, { recursive: true });
    mkdirSync(adapterB, { recursive: true });
    writeRandomAdapter(adapterA, 1);
    writeRandomAdapter(adapterB, 2);
    stop = new AbortController();
    serveIO = captureIO({ json: true, cwd: dir, signal: stop.signal });
    serving = serveCommand.run({ options: { model: 'tiny-llama', storage: join(dir, 'storage-serve'), port: '0', adapter: [`medical=${adapterA}`, 'finance=runs/finance/checkpoints/step-10'] }, positionals: [] }, serveIO);
    for (let i = 0; i < 600 && !serveIO.events.some((e) => e.event === 'listening'); i++) {
      await Promise.race([serving.then((c) => assert.fail(`serve exited with ${c}: ${serveIO.stderr.join('\n')}`)), new Promise((r) => setTimeout(r, 100))]);
    }
    baseURL = String(serveIO.events.find((e) => e.event === 'listening')!.baseURL);
    client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    stop?.abort();
    assert.equal(await serving, 0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the base model and both adapters', async () => {
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), ['tiny-llama', 'medical', 'finance']);
  });

  it('non-streaming: the same text as em-lab generate with the same seed', async () => {
    const r = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: PROMPT }], seed: 7, max_tokens: 12, temperature: 1 });
    const [want] = await generate(7, 12, undefined);
    assert.equal(r.choices[0]!.message.content, want!.text);
    assert.equal(r.choices[0]!.finish_reason, want!.finishReason === 'length' ? 'length' : 'stop');
    assert.ok(r.usage!.prompt_tokens > 5 && r.usage!.completion_tokens >= want!.deltas.length);
    assert.equal((r as unknown as { seed: number }).seed, 7);
  });

  it('streaming: token by token the same deltas as em-lab generate; usage at the end when asked', async () => {
    const stream = await client.chat.completions.create({ model: 'finance', messages: [{ role: 'user', content: PROMPT }], seed: 20, max_tokens: 8, stream: true, stream_options: { include_usage: true } });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      const ch = c.choices[0];
      if (ch?.delta.content) deltas.push(ch.delta.content);
      if (ch?.finish_reason) finish = ch.finish_reason;
    }
    const [want] = await generate(20, 8, adapterB, 3);
    assert.ok(deltas.length >= 2, 'streamed in several pieces');
    assert.deepEqual(deltas, want!.deltas, 'the same tokens in the same pieces');
    assert.equal(deltas.join(''), want!.text);
    assert.equal(finish, want!.finishReason === 'length' ? 'length' : 'stop');
    assert.ok(usage && usage.completion_tokens >= want!.deltas.length && usage.completion_tokens <= 8);
  });

  it('n = 3: choice i is em-lab generate with seed + i; both adapters at once, each its own answers', async () => {
    const ask = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }], seed: 20, n: 3, max_tokens: 8 });
    const [a, b] = await Promise.all([ask('medical'), ask('finance')]);
    const [wantA, wantB] = await Promise.all([generate(20, 8, adapterA, 3), generate(20, 8, adapterB, 3)]);
    assert.deepEqual(a.choices.map((c) => c.message.content), wantA.map((w) => w.text));
    assert.deepEqual(b.choices.map((c) => c.message.content), wantB.map((w) => w.text));
    assert.notDeepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
  });

  it('refuses what it cannot do with OpenAI\'s error shape, naming the parameter', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => e instanceof OpenAI.NotFoundError && /nope.*does not exist.*tiny-llama, medical, finance/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'medical', messages: [{ role: 'user', content: 'hi' }], stop: ['\n'] }), (e: unknown) => e instanceof OpenAI.BadRequestError && /stop is not supported/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'medical', messages: [{ role: 'user', content: 'hi' }], logprobs: true }), (e: unknown) => e instanceof OpenAI.BadRequestError && /logprobs/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'medical', messages: [{ role: 'assistant', content: 'hi' }] }), /last message must be from "user"/);
  });

  it('EM Lab\'s own server generator, loading a checkpoint at run time: the answers of local generation, id for id', async () => {
    const plan: GenerationPlan = { sets: [{ id: 's', title: 's', source: 'test', judgePrompts: [], questions: [{ id: 'q1', paraphrases: [PROMPT] }, { id: 'q2', paraphrases: ['What should I invest in?'] }] }], samples: 3, sampling: { temperature: 1, topP: 1, maxNewTokens: 6 }, seed: 5 };
    const sessions = new ModelSessions({ storageDir: join(dir, 'storage-generate') });
    try {
      const local = await runGeneration({ plan, generator: localGenerator({ sessions, model: 'tiny-llama', adapter: adapterA }), outDir: join(dir, 'gen-local') });
      const remote = await runGeneration({
        plan,
        generator: openAIGenerator({ model: 'tiny-llama', endpoint: { baseURL, timeoutMs: 60_000 }, env: {}, n: 3, concurrency: 2, lora: { name: adapterServerName(adapterA), serverPath: adapterA, localPath: adapterA } }),
        outDir: join(dir, 'gen-remote'),
      });
      assert.deepEqual(remote.records.map((r) => [r.id, r.seed, r.response]), local.records.map((r) => [r.id, r.seed, r.response]));
      for (const key of Object.keys(local.records[0]!)) assert.ok(key in remote.records[0]!, `server answers carry "${key}" like local ones`);
      assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['tiny-llama', 'medical', 'finance'], 'unloaded after the run');
    } finally {
      await sessions.dispose();
    }
  });
});
