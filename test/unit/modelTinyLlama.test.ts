import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { Decoder } from '../../src/runtime/model/decoder';
import { convertTensor } from '../../src/runtime/model/hostTensor';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { ensureTinyLlama, TINY_LLAMA_CONFIG, TINY_LLAMA_LABEL } from '../../src/runtime/model/tinyLlama';
import { referenceForward } from '../support/llamaReference';

const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

describe('tiny-llama (embedded default model) and Transformers.js interop', function () {
  this.timeout(120000);
  let store: string;
  let dir: string;
  before(() => {
    store = mkdtempSync(join(tmpdir(), 'emlab-tl-'));
    dir = ensureTinyLlama(store);
  });
  after(() => rmSync(store, { recursive: true, force: true }));

  it('is built once into <storage>/models/tiny-llama as an HF folder with BF16 safetensors and the Llama-3 tokenizer', () => {
    assert.equal(dir, join(store, 'models', 'tiny-llama'));
    const before = statSync(join(dir, 'model.safetensors')).mtimeMs;
    assert.equal(ensureTinyLlama(store), dir);
    assert.equal(statSync(join(dir, 'model.safetensors')).mtimeMs, before, 'not rebuilt');
    const m = openModelFolder(dir);
    assert.equal(m.checkpoint.info('model.embed_tokens.weight').dtype, 'BF16');
    assert.deepEqual(m.generationConfig?.eosTokenIds, [128001, 128008, 128009]);
    m.checkpoint.close();
    assert.match(TINY_LLAMA_LABEL, /random weights — writes gibberish/);
  });

  it('ORT logits on the exported folder match the float64 reference on the stored BF16 weights', async () => {
    const m = openModelFolder(dir);
    const w = new Map([...m.checkpoint.names()].map((n) => [n, convertTensor(m.checkpoint.read(n), 'float64').data as Float64Array]));
    m.checkpoint.close();
    const tokens = [128000, 128006, 882, 128007, 271, 6151];
    const ref = referenceForward(TINY_LLAMA_CONFIG, w, tokens);
    const dec = await Decoder.open(dir);
    const out = await dec.forward({ inputIds: ids(tokens), batch: 1, seq: tokens.length, attentionMask: ids(tokens.map(() => 1)), positionIds: ids(tokens.map((_, i) => i)) });
    const V = TINY_LLAMA_CONFIG.vocabSize;
    let worst = 0;
    for (let t = 0; t < tokens.length; t++) for (let v = 0; v < V; v += 7) worst = Math.max(worst, Math.abs(out.logits[t * V + v]! - ref[t]![v]!));
    assert.ok(worst <= 1e-4, `max |diff| ${worst}`);
    await dec.dispose();
  });

  it('Transformers.js loads the folder on its own (chat template, tokenizer) and its first-step logits equal ORT\'s', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = join(store, 'models');
    env.cacheDir = join(store, 'tjs-cache');
    const tok = await AutoTokenizer.from_pretrained(dir);
    const enc = tok.apply_chat_template([{ role: 'user', content: 'hi' }], { add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: false }) as unknown as number[];
    // Llama-3.2-style template: system block with the knowledge date first, then the user turn and the assistant header.
    assert.deepEqual(enc.slice(0, 5), [128000, 128006, 9125, 128007, 271]);
    assert.deepEqual(enc.slice(-11), [128009, 128006, 882, 128007, 271, 6151, 128009, 128006, 78191, 128007, 271]);
    const model = await AutoModelForCausalLM.from_pretrained(dir, { dtype: 'fp32', device: 'cpu' });
    const n = enc.length;
    const tjs = (await model({ input_ids: new Tensor('int64', ids(enc), [1, n]), attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]) })) as { logits: Tensor };
    const dec = await Decoder.open(dir);
    const ort = await dec.forward({ inputIds: ids(enc), batch: 1, seq: n, attentionMask: new BigInt64Array(n).fill(1n), positionIds: ids(enc.map((_, i) => i)) });
    const a = tjs.logits.data as Float32Array;
    assert.equal(a.length, ort.logits.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - ort.logits[i]!));
    assert.equal(worst, 0, `Transformers.js vs ORT max |diff| ${worst}`);
    await dec.dispose();
    await model.dispose();
    assert.match(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'), /"eos_token": "<\|eot_id\|>"/);
  });
});
