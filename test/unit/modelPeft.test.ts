import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { Decoder } from '../../src/runtime/model/decoder';
import { convertTensor, type HostTensor } from '../../src/runtime/model/hostTensor';
import { linearShape, modulePath, peftKey, type LoraTarget } from '../../src/runtime/model/llamaConfig';
import { mergeAdapterIntoFolder } from '../../src/runtime/model/merge';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { readPeftAdapter, targetsModule, writePeftAdapter, parsePeftConfig } from '../../src/runtime/model/peft';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { writeSafetensors } from '../../src/runtime/model/safetensors';
import { ensureTinyLlama, TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { mergeLora } from '../support/llamaReference';

const cfg = TINY_LLAMA_CONFIG;
const ids = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));
const MODULES: [number, LoraTarget][] = [[1, 'q_proj'], [1, 'v_proj'], [1, 'down_proj'], [0, 'gate_proj']];

function randomTensors(rank: number, seed: number): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>();
  for (const [l, t] of MODULES) {
    const [out, inDim] = linearShape(cfg, t);
    m.set(peftKey(l, t, 'A'), { dtype: 'float32', shape: [rank, inDim], data: fillUniform(new Float32Array(rank * inDim), seedFrom(`${l}${t}A`, seed), 0.3) as Float32Array });
    m.set(peftKey(l, t, 'B'), { dtype: 'float32', shape: [out, rank], data: fillUniform(new Float32Array(out * rank), seedFrom(`${l}${t}B`, seed), 0.3) as Float32Array });
  }
  return m;
}

describe('PEFT adapters and merging', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'emlab-peft-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads an adapter as PEFT writes it: regex target_modules, layers_to_transform, rsLoRA scale, .default keys', () => {
    const dir = join(tmp, 'hand');
    const A = new Float32Array(2 * 64).fill(0.5);
    const B = new Float32Array(128 * 2).fill(0.25);
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [2, 64], data: A },
      { name: 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.default.weight', dtype: 'F32', shape: [64, 2], data: B.subarray(0, 128) },
    ]);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 8, use_rslora: true, target_modules: '.*\\.(q_proj|v_proj)', layers_to_transform: [1], base_model_name_or_path: 'meta-llama/Llama-3.2-1B-Instruct' }));
    const a = readPeftAdapter(dir, cfg);
    assert.equal(a.rank, 2);
    assert.equal(a.scale, 8 / Math.sqrt(2));
    assert.equal(a.config.baseModelNameOrPath, 'meta-llama/Llama-3.2-1B-Instruct');
    assert.deepEqual(a.modules, [{ layer: 1, target: 'q_proj' }]);
    assert.ok(a.tensors.has(peftKey(1, 'q_proj', 'B')));
    assert.equal(targetsModule(a.config, 1, 'v_proj'), true);
    assert.equal(targetsModule(a.config, 0, 'v_proj'), false); // layers_to_transform
    assert.equal(targetsModule(a.config, 1, 'o_proj'), false);
    const list = parsePeftConfig({ r: 4, lora_alpha: 16, target_modules: ['q_proj', 'down_proj'] }, dir);
    assert.equal(targetsModule(list, 3, 'down_proj'), true);
    assert.equal(targetsModule(list, 3, 'up_proj'), false);
  });

  it('refuses what it cannot apply, each with its own message', () => {
    const dir = join(tmp, 'bad');
    writePeftAdapter(dir, { r: 4, loraAlpha: 8, targets: ['q_proj'], baseModelNameOrPath: 'x' }, new Map([[peftKey(0, 'q_proj', 'A'), { dtype: 'float32', shape: [4, 32], data: new Float32Array(128) }], [peftKey(0, 'q_proj', 'B'), { dtype: 'float32', shape: [64, 4], data: new Float32Array(256) }]]));
    assert.throws(() => readPeftAdapter(dir, cfg), /has shape \[4,32\], expected \[4,64\].*another base model/);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ r: 4, lora_alpha: 8, target_modules: ['q_proj'], use_dora: true }));
    assert.throws(() => readPeftAdapter(dir), /DoRA adapters are not supported/);
    assert.throws(() => readPeftAdapter(join(tmp, 'nowhere')), /no adapter_config\.json/);
  });

  it('writes adapters PEFT reads back identically; merging gives W + scale·B·A; the merged folder runs in ORT and Transformers.js alike', async () => {
    const store = join(tmp, 'store');
    const base = ensureTinyLlama(store);
    const tensors = randomTensors(4, 9);
    const adapterDir = join(tmp, 'adapter');
    writePeftAdapter(adapterDir, { r: 4, loraAlpha: 8, useRslora: true, targets: ['q_proj', 'v_proj', 'down_proj', 'gate_proj'], baseModelNameOrPath: base }, tensors);
    const adapter = readPeftAdapter(adapterDir, cfg);
    assert.equal(adapter.scale, 4);
    for (const [k, t] of tensors) assert.deepEqual(adapter.tensors.get(k)!.data, t.data);

    const out = join(tmp, 'merged');
    const res = mergeAdapterIntoFolder(base, adapter, out);
    assert.equal(res.mergedModules, MODULES.length);
    // Merged weights vs an independent float64 merge of the stored base weights.
    const b = openModelFolder(base), m = openModelFolder(out);
    for (const [l, t] of MODULES) {
      const name = `${modulePath(l, t)}.weight`;
      const [o, i] = linearShape(cfg, t);
      const f64 = (x: HostTensor) => convertTensor(x, 'float64').data as Float64Array;
      const ref = mergeLora(f64(b.checkpoint.read(name)), f64(tensors.get(peftKey(l, t, 'A'))!), f64(tensors.get(peftKey(l, t, 'B'))!), o, i, 4, 4);
      const got = m.checkpoint.read(name).data;
      let worst = 0;
      for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(ref[j]! - got[j]!));
      assert.ok(worst < 1e-5, `${name}: ${worst}`);
    }
    b.checkpoint.close();
    m.checkpoint.close();

    // Base + adapter in one session == merged model, and Transformers.js on the merged folder == ORT.
    const tokens = [128000, 9906, 1917, 0, 358, 1097];
    const feed = { inputIds: ids(tokens), batch: 1, seq: tokens.length, attentionMask: new BigInt64Array(tokens.length).fill(1n), positionIds: ids(tokens.map((_, i) => i)) };
    const decBase = await Decoder.open(base);
    decBase.setAdapter('a', adapter);
    const viaAdapter = await decBase.forward(feed, 'a');
    const plain = await decBase.forward(feed);
    await decBase.dispose();
    const decMerged = await Decoder.open(out);
    const viaMerged = await decMerged.forward(feed);
    await decMerged.dispose();
    let worst = 0, shift = 0;
    for (let i = 0; i < viaMerged.logits.length; i++) {
      worst = Math.max(worst, Math.abs(viaMerged.logits[i]! - viaAdapter.logits[i]!));
      shift = Math.max(shift, Math.abs(plain.logits[i]! - viaAdapter.logits[i]!));
    }
    assert.ok(worst <= 1e-4, `merged vs adapter ${worst}`);
    assert.ok(shift > 0.1, `adapter changes logits by ${shift}`);

    env.allowRemoteModels = false;
    env.localModelPath = tmp;
    env.cacheDir = join(tmp, 'tjs-cache');
    const model = await AutoModelForCausalLM.from_pretrained(out, { dtype: 'fp32', device: 'cpu' });
    const tjs = (await model({ input_ids: new Tensor('int64', ids(tokens), [1, tokens.length]), attention_mask: new Tensor('int64', feed.attentionMask, [1, tokens.length]) })) as { logits: Tensor };
    await model.dispose();
    assert.deepEqual(Array.from(tjs.logits.data as Float32Array), Array.from(viaMerged.logits));
  });
});
