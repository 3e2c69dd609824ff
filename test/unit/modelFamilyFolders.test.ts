import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { Decoder } from '../../src/runtime/model/decoder';
import { ensureDecoderExport } from '../../src/runtime/model/decoderExport';
import { generateChats } from '../../src/runtime/model/generateChat';
import { ModelSessions } from '../../src/runtime/model/generateSession';
import { tokenLogprobs } from '../../src/runtime/model/logprobs';
import { mergeAdapterIntoFolder } from '../../src/runtime/model/merge';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { readPeftAdapter } from '../../src/runtime/model/peft';
import { loadTokenizer } from '../../src/runtime/model/tokenizer';
import { writeFamilyFolder, writeRank1Adapter, type FamilyFolder } from '../support/familyFolders';
import { gemma3ReferenceForward } from '../support/gemma3Reference';
import { referenceForward } from '../support/llamaReference';

// Model folders as the Hub ships Qwen2.5 and Gemma 3 (sharded bf16 safetensors with an index, each family's
// tokenizer files and chat template, the multimodal gemma3 layout), generated here: loading, export, logits vs the
// float64 references, chat templates through Transformers.js, generation with a rank-1 adapter, logprobs, merge.
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

describe('Qwen2 and Gemma 3 model folders (sharded bf16, tokenizers, chat templates)', function () {
  this.timeout(180000);
  let root: string;
  let qwen: FamilyFolder;
  let gemma: FamilyFolder;
  let sessions: ModelSessions;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'emlab-fam-'));
    qwen = writeFamilyFolder(join(root, 'qwen'), 'qwen2', { shards: 3 });
    gemma = writeFamilyFolder(join(root, 'gemma'), 'gemma3');
    sessions = new ModelSessions({ storageDir: join(root, 'store') });
  });
  after(async () => {
    await sessions.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  for (const which of ['qwen', 'gemma'] as const) {
    it(`${which}: the exported decoder's logits equal the float64 reference on the stored bf16 weights`, async () => {
      const f = which === 'qwen' ? qwen : gemma;
      const folder = openModelFolder(f.dir);
      assert.equal(folder.config.family, which === 'qwen' ? 'qwen2' : 'gemma3');
      folder.checkpoint.close();
      ensureDecoderExport(f.dir);
      const dec = await Decoder.open(f.dir);
      const tokens = [2, 40, 71, 9, 300 % f.cfg.vocabSize, 17, 88, 120];
      const ref = (which === 'qwen' ? referenceForward : gemma3ReferenceForward)(f.cfg, f.weights, tokens);
      const out = await dec.forward({ inputIds: ids(tokens), batch: 1, seq: tokens.length, attentionMask: ids(tokens.map(() => 1)), positionIds: ids(tokens.map((_, i) => i)) });
      const V = f.cfg.vocabSize;
      let worst = 0, scale = 0;
      for (let t = 0; t < tokens.length; t++) for (let v = 0; v < V; v++) {
        worst = Math.max(worst, Math.abs(out.logits[t * V + v]! - ref[t]![v]!));
        scale = Math.max(scale, Math.abs(ref[t]![v]!));
      }
      assert.ok(worst / scale <= 1e-4, `relative diff ${worst / scale}`);
      await dec.dispose();
    });
  }

  for (const which of ['qwen', 'gemma'] as const) {
    it(`${which}: the 4-bit (q4) export runs and stays close to fp32`, async () => {
      const f = which === 'qwen' ? qwen : gemma;
      ensureDecoderExport(f.dir, { dtype: 'q4', q4AccuracyLevel: 0 });
      const tokens = [2, 40, 71, 9, 30, 17];
      const feeds = { inputIds: ids(tokens), batch: 1, seq: tokens.length, attentionMask: ids(tokens.map(() => 1)), positionIds: ids(tokens.map((_, i) => i)) };
      const [a, b] = [await Decoder.open(f.dir), await Decoder.open(f.dir, { dtype: 'q4' })];
      const [x, y] = [(await a.forward(feeds)).logits, (await b.forward(feeds)).logits];
      const rel = Math.sqrt(x.reduce((s2, v, i) => s2 + (v - y[i]!) ** 2, 0) / x.reduce((s2, v) => s2 + v * v, 0));
      // 4-bit round-to-nearest of uniform random weights is ~7% off per weight; unrelated logits would be ~140% off
      console.log(`      q4 vs fp32 logits: relative L2 ${rel.toFixed(3)}`);
      assert.ok(rel > 0 && rel < 0.35, `q4 vs fp32 logits: relative L2 ${rel}`);
      await a.dispose();
      await b.dispose();
    });
  }

  it('qwen: the tokenizer renders Qwen2.5\'s ChatML with its default system prompt and stops on <|im_end|> and <|endoftext|>', async () => {
    const tok = await loadTokenizer(qwen.dir, join(root, 'store'));
    assert.equal(tok.renderChat([{ role: 'user', content: 'hi there' }]), '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual(tok.eosTokenIds, qwen.tokenizer.eosTokenIds);
    const enc = tok.encodeChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }]);
    assert.equal(enc[0], qwen.tokenizer.eosTokenIds[0]! - 1); // <|im_start|>, no BOS (Qwen has none)
    assert.equal(tok.decode(tok.encodeText('the cat, in a hat', false)), 'the cat, in a hat');
  });

  it('gemma: the tokenizer renders Gemma 3\'s turns (system folded into the first user turn) with exactly one <bos>', async () => {
    const tok = await loadTokenizer(gemma.dir, join(root, 'store'));
    const msgs = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'hi' }];
    assert.equal(tok.renderChat(msgs), '<bos><start_of_turn>user\nBe brief.\n\nhi<end_of_turn>\n<start_of_turn>model\n');
    const enc = tok.encodeChat(msgs);
    assert.equal(enc[0], 2);
    assert.notEqual(enc[1], 2);
    assert.deepEqual(tok.eosTokenIds, [1, 5]);
    assert.equal(tok.decode(tok.encodeText('the cat, in a hat', false)), 'the cat, in a hat');
  });

  for (const which of ['qwen', 'gemma'] as const) {
    it(`${which}: chat with a rank-1 down_proj adapter beside the base, and logprobs, from one session`, async () => {
      const f = which === 'qwen' ? qwen : gemma;
      const adapterDir = join(root, `${which}-r1`);
      writeRank1Adapter(adapterDir, f.cfg, 1, f.dir);
      const conv = [[{ role: 'user' as const, content: 'the cat' }]];
      const sampling = { temperature: 0, maxNewTokens: 12 };
      const base = await generateChats(sessions, { model: f.dir }, conv, { sampling });
      const tuned = await generateChats(sessions, { model: f.dir, adapter: adapterDir }, conv, { sampling });
      assert.ok(base.answers[0]!.tokenIds.length > 0 && tuned.answers[0]!.tokenIds.length > 0);
      // the base's own answer is less likely under the adapter, token by token (logprobs from the same session)
      const loadedBase = await sessions.load({ model: f.dir });
      const loaded = await sessions.load({ model: f.dir, adapter: adapterDir });
      assert.equal(loaded.base, loadedBase.base, 'one session for base and adapter');
      const tok = loaded.base.tokenizer;
      const seq = [...tok.encodeChat(conv[0]!), ...base.answers[0]!.tokenIds];
      const opts = { piece: (i: number) => tok.tokenPiece(i), decodeOne: (i: number) => tok.decode([i]), top: 2 };
      const lpBase = await tokenLogprobs(ModelSessions.stepModel(loadedBase), seq, opts);
      const lpTuned = await tokenLogprobs(ModelSessions.stepModel(loaded), seq, opts);
      assert.equal(lpTuned.tokens[0]!.logprob, null);
      assert.ok(lpTuned.tokens.slice(1).every((t) => t.logprob !== null && t.logprob < 0 && t.top!.length === 2));
      assert.ok(Math.abs(lpBase.total - lpTuned.total) > 0.1, `the adapter changes the logprobs (${lpBase.total} vs ${lpTuned.total})`);
    });
  }

  it('qwen: merging the rank-1 adapter gives a folder whose logits equal base + adapter', async () => {
    const adapterDir = join(root, 'qwen-r1');
    const adapter = readPeftAdapter(adapterDir, qwen.cfg);
    const merged = mergeAdapterIntoFolder(qwen.dir, adapter, join(root, 'qwen-merged'));
    assert.equal(merged.mergedModules, 1);
    const tokens = [5, 71, 9, 33];
    const feeds = { inputIds: ids(tokens), batch: 1, seq: 4, attentionMask: ids([1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3]) };
    const a = await Decoder.open(qwen.dir);
    a.setAdapter('r1', adapter);
    const want = (await a.forward(feeds, 'r1')).logits;
    const b = await Decoder.open(merged.dir);
    const got = (await b.forward(feeds)).logits;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
    assert.ok(worst <= 1e-4, `merged vs adapter max |diff| ${worst}`);
    await a.dispose();
    await b.dispose();
  });

  it('qwen: Transformers.js loads the exported folder on its own and its first-step logits equal ORT\'s', async () => {
    env.allowRemoteModels = false;
    env.cacheDir = join(root, 'tjs-cache');
    const model = await AutoModelForCausalLM.from_pretrained(qwen.dir, { dtype: 'fp32', device: 'cpu' });
    const tokens = [5, 71, 9, 33];
    const out = await model({ input_ids: new Tensor('int64', ids(tokens), [1, 4]), attention_mask: new Tensor('int64', ids([1, 1, 1, 1]), [1, 4]) });
    const dec = await Decoder.open(qwen.dir);
    const ort = await dec.forward({ inputIds: ids(tokens), batch: 1, seq: 4, attentionMask: ids([1, 1, 1, 1]), positionIds: ids([0, 1, 2, 3]) });
    const tj = out.logits.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < ort.logits.length; i++) worst = Math.max(worst, Math.abs(tj[i]! - ort.logits[i]!));
    assert.ok(worst <= 1e-5, `max |diff| ${worst}`);
    await dec.dispose();
    await model.dispose();
  });
});
