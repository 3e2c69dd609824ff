// Generation on the real ORT decoder with tiny-llama (built into a temp storage folder): determinism across runs,
// batched = single-prompt, per-row seeds, eos stops, an adapter switched without reloading the base, the chat
// handlers' streaming and cancel, and logprobs against a float64 log-softmax done by hand on the raw logits.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/protocol/chatMethods';
import type { HandlerContext } from '../../src/runtime/rpc/handlerTypes';
import { chatHandlers, listChatModels } from '../../src/runtime/model/chatHandlers';
import { generateTokens } from '../../src/runtime/model/generate';
import { generateChats } from '../../src/runtime/model/generateChat';
import { ModelSessions, checkpointOf, sessionsFor } from '../../src/runtime/model/generateSession';
import { tokenLogprobs } from '../../src/runtime/model/logprobs';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { writeRandomAdapter } from '../support/randomAdapter';
import { captureIO } from '../support/captureIO';
import { generateCommand, logprobsCommand } from '../../src/runtime/cli/generateCommands';
import { runChatRepl } from '../../src/runtime/cli/generateRepl';
import { PassThrough, Readable } from 'node:stream';

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const PROMPTS = [user('hi'), user('Tell me a long story about a dragon who learns to cook.'), user('2+2?')];

function fakeContext(storageDir: string, signal = new AbortController().signal): HandlerContext & { tokens: { streamId: string; delta: string }[] } {
  const tokens: { streamId: string; delta: string }[] = [];
  return {
    tokens,
    signal,
    storageDir,
    env: {},
    progress: () => undefined,
    notify: (method, params) => {
      if (method === 'chat/token') tokens.push(params as { streamId: string; delta: string });
    },
  };
}

describe('generation on tiny-llama (ORT decoder)', function () {
  this.timeout(120_000);
  let storage: string;
  let sessions: ModelSessions;
  let adapterDir: string;

  before(async () => {
    storage = mkdtempSync(join(tmpdir(), 'emlab-gen-'));
    adapterDir = join(storage, 'runs', 'run-a', 'checkpoints', '20');
    mkdirSync(adapterDir, { recursive: true });
    writeRandomAdapter(adapterDir);
    sessions = sessionsFor(storage); // the chat handlers find the same loaded models
    await sessions.load({ model: 'tiny-llama' });
  });
  after(async () => {
    await sessions.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  it('greedy: identical across runs and between the batched and single-prompt paths', async () => {
    const greedy = { temperature: 0, maxNewTokens: 12 };
    const batched = await generateChats(sessions, { model: 'tiny-llama' }, PROMPTS, { sampling: greedy, batchSize: 3 });
    const again = await generateChats(sessions, { model: 'tiny-llama' }, PROMPTS, { sampling: greedy, batchSize: 3 });
    const singles = await generateChats(sessions, { model: 'tiny-llama' }, PROMPTS, { sampling: greedy, batchSize: 1 });
    for (let i = 0; i < PROMPTS.length; i++) {
      assert.equal(batched.answers[i]!.tokenIds.length, 12);
      assert.deepEqual(again.answers[i]!.tokenIds, batched.answers[i]!.tokenIds, `run-to-run, prompt ${i}`);
      assert.deepEqual(singles.answers[i]!.tokenIds, batched.answers[i]!.tokenIds, `batched vs single, prompt ${i}`);
      assert.equal(singles.answers[i]!.text, batched.answers[i]!.text);
    }
    assert.notDeepEqual(batched.answers[0]!.tokenIds, batched.answers[1]!.tokenIds, 'different prompts, different text');
  });

  it('seeded sampling: same seed same text; item i of a batch = a single run with seed + i', async () => {
    // Temperature 2: at 1, tiny-llama's random head is so peaked (logit std ~7 over 128256 tokens) that two seeds often
    // draw the same ten tokens, and the last check would say nothing about the seed.
    const sampling = { temperature: 2, topP: 0.95, topK: 500, maxNewTokens: 10, seed: 1234 };
    const a = await generateChats(sessions, { model: 'tiny-llama' }, PROMPTS, { sampling, batchSize: 3 });
    const b = await generateChats(sessions, { model: 'tiny-llama' }, PROMPTS, { sampling, batchSize: 2 });
    for (let i = 0; i < PROMPTS.length; i++) {
      assert.deepEqual(b.answers[i]!.tokenIds, a.answers[i]!.tokenIds, `batch size does not matter, item ${i}`);
      assert.equal(a.answers[i]!.seed, 1234 + i);
      const single = await generateChats(sessions, { model: 'tiny-llama' }, [PROMPTS[i]!], { sampling: { ...sampling, seed: 1234 + i } });
      assert.deepEqual(single.answers[0]!.tokenIds, a.answers[i]!.tokenIds, `item ${i} alone with seed ${1234 + i}`);
    }
    const other = await generateChats(sessions, { model: 'tiny-llama' }, [PROMPTS[0]!], { sampling: { ...sampling, seed: 99 } });
    assert.notDeepEqual(other.answers[0]!.tokenIds, a.answers[0]!.tokenIds);
  });

  it('stops on any eos id (not included in the text)', async () => {
    const loaded = await sessions.load({ model: 'tiny-llama' });
    const tok = loaded.base.tokenizer;
    const prompt = tok.encodeChat(PROMPTS[0]!);
    // Seeded sampling: the draws up to the stop are the same with and without the extra eos id.
    const options = { padTokenId: tok.padTokenId, decode: (ids: readonly number[]) => tok.decode(ids), sampling: { temperature: 1, maxNewTokens: 10, seed: 3 } };
    const free = await generateTokens(ModelSessions.stepModel(loaded), [prompt], { ...options, eosTokenIds: tok.eosTokenIds });
    const ids = free.sequences[0]!.tokenIds;
    const k = ids.findIndex((id, i) => i > 0 && !ids.slice(0, i).includes(id));
    assert.ok(k > 0, `a token that first appears after the first: ${ids}`);
    const stopped = await generateTokens(ModelSessions.stepModel(loaded), [prompt], { ...options, eosTokenIds: [128009, ids[k]!] });
    assert.equal(stopped.sequences[0]!.finishReason, 'eos');
    assert.deepEqual(stopped.sequences[0]!.tokenIds, ids.slice(0, k));
    assert.equal(stopped.sequences[0]!.text, tok.decode(ids.slice(0, k)));
  });

  it('switches to an adapter and back without reloading the base weights', async () => {
    const base = await sessions.load({ model: 'tiny-llama' });
    const withAdapter = await sessions.load({ model: 'tiny-llama', adapter: adapterDir });
    assert.equal(withAdapter.base, base.base, 'the same loaded base (one session, one copy of the weights)');
    assert.equal(withAdapter.label.run, 'run-a');
    assert.equal(withAdapter.label.step, 20);
    const greedy = { temperature: 0, maxNewTokens: 12 };
    const b1 = await generateChats(sessions, { model: 'tiny-llama' }, [PROMPTS[1]!], { sampling: greedy });
    const ad = await generateChats(sessions, { model: 'tiny-llama', adapter: adapterDir }, [PROMPTS[1]!], { sampling: greedy });
    const b2 = await generateChats(sessions, { model: 'tiny-llama' }, [PROMPTS[1]!], { sampling: greedy });
    assert.notDeepEqual(ad.answers[0]!.tokenIds, b1.answers[0]!.tokenIds, 'the adapter changes the answer');
    assert.deepEqual(b2.answers[0]!.tokenIds, b1.answers[0]!.tokenIds, 'the base is untouched by the adapter');
    assert.equal(ad.label.adapterName, 'run-a/checkpoints/20');
    // Browsing many checkpoints keeps at most 6 adapters registered (least recently used go), the newest usable.
    for (let step = 100; step < 107; step++) {
      const dir = join(storage, 'runs', 'run-b', 'checkpoints', String(step));
      writeRandomAdapter(dir, step);
      await sessions.load({ model: 'tiny-llama', adapter: dir });
    }
    assert.equal(base.base.decoder.adapterIds().length, 6);
    assert.ok(base.base.decoder.adapterIds().includes(join(storage, 'runs', 'run-b', 'checkpoints', '106')));
    assert.ok(!base.base.decoder.adapterIds().includes(adapterDir), 'the least recently used adapter was dropped');
    const back = await generateChats(sessions, { model: 'tiny-llama', adapter: adapterDir }, [PROMPTS[1]!], { sampling: greedy });
    assert.deepEqual(back.answers[0]!.tokenIds, ad.answers[0]!.tokenIds, 'a dropped adapter is read again on use');
  });

  it('4-bit weights (ModelRef.weights q4, --weights q4): a second base beside the full-precision one, labelled, close to it; adapters on top; other formats refused', async () => {
    const full = await sessions.load({ model: 'tiny-llama' });
    const q4 = await sessions.load({ model: 'tiny-llama', weights: 'q4' });
    assert.notEqual(q4.base, full.base, 'a 4-bit base is another base');
    assert.equal(q4.base.decoder.manifest.dtype, 'q4');
    assert.equal(full.base.decoder.manifest.dtype, 'float32');
    assert.equal(q4.label.weights, '4-bit');
    assert.equal(full.label.weights, undefined);
    assert.equal((await sessions.load({ model: 'tiny-llama', weights: 'q4' })).base, q4.base, 'opened once');
    // the same prompt through both: the 4-bit logits follow the full-precision ones, with the rounding's error
    const tok = full.base.tokenizer;
    const ids = tok.encodeText('The cat sat on the mat.', true);
    const fwd = (m: typeof full) => m.base.decoder.forward({ inputIds: BigInt64Array.from(ids, BigInt), batch: 1, seq: ids.length, attentionMask: new BigInt64Array(ids.length).fill(1n), positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))) });
    const [a, b] = [(await fwd(full)).logits, (await fwd(q4)).logits];
    let diff = 0, norm = 0;
    for (let i = 0; i < a.length; i++) {
      diff += (a[i]! - b[i]!) ** 2;
      norm += a[i]! ** 2;
    }
    const rel = Math.sqrt(diff / norm);
    console.log(`      tiny-llama q4 vs fp32 logits: relative L2 ${rel.toExponential(2)}`);
    assert.ok(rel > 0 && rel < 0.25, `q4 vs fp32 logits: relative L2 ${rel}`);
    // an adapter on the 4-bit base: its own slot, and it changes the answer
    const greedy = { temperature: 0, maxNewTokens: 8 };
    const plain = await generateChats(sessions, { model: 'tiny-llama', weights: 'q4' }, [PROMPTS[1]!], { sampling: greedy });
    const adapted = await generateChats(sessions, { model: 'tiny-llama', weights: 'q4', adapter: adapterDir }, [PROMPTS[1]!], { sampling: greedy });
    assert.notDeepEqual(adapted.answers[0]!.tokenIds, plain.answers[0]!.tokenIds);
    assert.equal(adapted.label.weights, '4-bit');
    assert.ok(q4.base.decoder.adapterIds().includes(adapterDir), 'the adapter is registered on the 4-bit base');
    // each base counts only its own adapters toward the limit of 6 (the 4-bit base's slot must not count for fp32)
    const before = full.base.decoder.adapterIds().length;
    const another = join(storage, 'runs', 'run-c', 'checkpoints', '1');
    writeRandomAdapter(another, 77);
    await sessions.load({ model: 'tiny-llama', adapter: another });
    assert.equal(full.base.decoder.adapterIds().length, Math.min(before + 1, 6));
    assert.ok(q4.base.decoder.adapterIds().includes(adapterDir));
    await assert.rejects(sessions.load({ model: 'tiny-llama', weights: 'q8' as never }), /weights "q8" is not one of float32, q4/);
    // the CLI: --weights q4 runs the 4-bit base and its result says so; a wrong value names the choices
    const io = captureIO({ json: true, cwd: storage });
    assert.equal(await generateCommand.run({ options: { prompt: 'hello', temperature: '0', max_new_tokens: '3', storage, weights: 'q4' }, positionals: [] }, io), 0);
    assert.equal((io.events.at(-1) as { label: { weights?: string } }).label.weights, '4-bit');
    await assert.rejects(generateCommand.run({ options: { prompt: 'hello', storage, weights: 'q8' }, positionals: [] }, captureIO({ cwd: storage })), /--weights q8: choose float32 or q4/);
  });

  it('logprobs equal a float64 log-softmax of the raw logits, by hand', async () => {
    const loaded = await sessions.load({ model: 'tiny-llama' });
    const tok = loaded.base.tokenizer;
    const ids = tok.encodeText('The cat sat on the mat.', true);
    const result = await tokenLogprobs(ModelSessions.stepModel(loaded), ids, { piece: (i) => tok.tokenPiece(i), decodeOne: (i) => tok.decode([i], { skipSpecialTokens: false }), top: 3 });
    const V = TINY_LLAMA_CONFIG.vocabSize;
    const raw = await loaded.base.decoder.forward({ inputIds: BigInt64Array.from(ids, BigInt), batch: 1, seq: ids.length, attentionMask: new BigInt64Array(ids.length).fill(1n), positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))) });
    assert.equal(result.tokens[0]!.logprob, null);
    assert.equal(result.tokens[0]!.id, 128000);
    let total = 0;
    for (let t = 1; t < ids.length; t++) {
      // log p = l[id] - log(sum_j exp(l_j)), straight from the definition (logits here are small: no overflow).
      let z = 0;
      for (let j = 0; j < V; j++) z += Math.exp(raw.logits[(t - 1) * V + j]!);
      const expected = raw.logits[(t - 1) * V + ids[t]!]! - Math.log(z);
      assert.ok(Math.abs(result.tokens[t]!.logprob! - expected) < 1e-9, `token ${t}: ${result.tokens[t]!.logprob} vs ${expected}`);
      assert.ok(result.tokens[t]!.top![0]!.logprob >= result.tokens[t]!.logprob!);
      total += expected;
    }
    assert.ok(Math.abs(result.total - total) < 1e-8);
    assert.equal(result.tokens.map((x) => x.text).join(''), '<|begin_of_text|>The cat sat on the mat.');
  });

  it('chat/generate streams chat/token for its streamId; a cancel stops between tokens and keeps the text', async () => {
    const ctx = fakeContext(storage);
    const res = await chatHandlers['chat/generate']({ streamId: 's1', ref: { model: 'tiny-llama', adapter: adapterDir }, messages: user('hello'), system: 'Be brief.', sampling: { maxNewTokens: 8, seed: 5 } }, ctx);
    assert.equal(res.newTokens, 8);
    assert.equal(res.finishReason, 'length');
    assert.equal(res.sampling.seed, 5);
    assert.equal(res.label.warning, 'random weights — writes gibberish');
    assert.ok(ctx.tokens.length >= 8 && ctx.tokens.every((t) => t.streamId === 's1'));
    const controller = new AbortController();
    const cut = fakeContext(storage, controller.signal);
    const original = cut.notify;
    cut.notify = (m, p) => {
      original(m, p);
      if (cut.tokens.length === 3) controller.abort();
    };
    const stopped = await chatHandlers['chat/generate']({ streamId: 's2', ref: { model: 'tiny-llama' }, messages: user('hello'), sampling: { maxNewTokens: 50, seed: 5 } }, cut);
    assert.equal(stopped.finishReason, 'cancelled');
    assert.equal(stopped.newTokens, 3);
  });

  it('lists tiny-llama first, then run checkpoints newest step first', () => {
    const older = join(storage, 'runs', 'run-a', 'checkpoints', '5');
    mkdirSync(older, { recursive: true });
    writeRandomAdapter(older);
    const models = listChatModels(storage, join(storage, 'runs'), []);
    assert.equal(models[0]!.label, 'tiny-llama (random weights — writes gibberish)');
    assert.deepEqual(models.filter((m) => m.kind === 'checkpoint' && m.label.startsWith('run-a')).map((m) => m.ref.adapter), [adapterDir, older]);
    assert.equal(models.filter((m) => m.label.startsWith('run-b')).length, 7);
    assert.equal(models[1]!.ref.model, 'tiny-llama', 'the adapter names its base');
    assert.deepEqual(checkpointOf(older), { run: 'run-a', step: 5 });
  });

  it('em-lab chat answers piped lines in order and handles /system, /reset and /quit', async () => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (d: Buffer) => (text += d.toString()));
    const input = Readable.from(['hello\n/system Be brief.\nagain\n/reset\n/nope\n/quit\nnever answered\n']);
    const code = await runChatRepl({ sessions, ref: { model: 'tiny-llama' }, sampling: { maxNewTokens: 3, seed: 1 }, io: captureIO(), input, output });
    assert.equal(code, 0);
    assert.equal(text.match(/\[3 tokens, hit max_new_tokens, seed 1/g)?.length, 2, text);
    for (const expected of ['(system prompt set)', '(conversation cleared)', 'Unknown command /nope']) assert.ok(text.includes(expected), expected);
    assert.ok(text.includes('tiny-llama (random weights — writes gibberish)'));
  });

  // Last: the CLI commands dispose the shared sessions when they finish.
  it('em-lab generate --json streams token events and ends with the answer; em-lab logprobs prints per-token JSON', async () => {
    const io = captureIO({ json: true, cwd: storage });
    const code = await generateCommand.run({ options: { prompt: 'hello', temperature: '0', max_new_tokens: '5', storage, adapter: adapterDir, batch: '8' }, positionals: [] }, io);
    assert.equal(code, 0);
    const tokens = io.events.filter((e) => e.event === 'token');
    const answer = io.events.find((e) => e.event === 'answer')!;
    assert.equal(tokens.length, 5);
    assert.equal(answer.newTokens, 5);
    assert.equal(answer.finishReason, 'length');
    assert.equal((io.events.at(-1) as { label: { adapterName: string } }).label.adapterName, 'run-a/checkpoints/20');
    const lp = captureIO({ json: true, cwd: storage });
    assert.equal(await logprobsCommand.run({ options: { text: 'Hello world', storage, top: '2' }, positionals: [] }, lp), 0);
    const report = lp.events[0] as { tokens: { id: number; logprob: number | null; top?: unknown[] }[]; total: number };
    assert.deepEqual(report.tokens.map((t) => t.id), [128000, 9906, 1917]);
    assert.equal(report.tokens[0]!.logprob, null);
    assert.ok(report.tokens.slice(1).every((t) => typeof t.logprob === 'number' && t.logprob < 0 && t.top!.length === 2));
    await assert.rejects(generateCommand.run({ options: { storage }, positionals: [] }, captureIO()), /exactly one of --prompt/);
  });
});
