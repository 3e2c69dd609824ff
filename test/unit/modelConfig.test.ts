import { strict as assert } from 'node:assert';
import { LORA_TARGETS, loraParameterCount, parameterCount, parseLlamaConfig, toHfConfigJson } from '../../src/runtime/model/llamaConfig';
import { ropeInverseFrequencies } from '../../src/runtime/model/rope';
import { LLAMA_3_2_1B_CONFIG } from '../support/llama1bConfig';

describe('Llama config', () => {
  it('parses Llama-3.2-1B: GQA, head_dim, tied embeddings, llama3 rope scaling, published parameter counts', () => {
    const c = parseLlamaConfig(LLAMA_3_2_1B_CONFIG);
    assert.equal(c.numKvHeads, 8);
    assert.equal(c.headDim, 64);
    assert.equal(c.tieWordEmbeddings, true);
    assert.deepEqual(c.ropeScaling, { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    assert.deepEqual(c.eosTokenIds, [128001, 128008, 128009]);
    assert.equal(parameterCount(c), 1_235_814_400);
    assert.equal(loraParameterCount(c, 16, LORA_TARGETS), 11_272_192);
  });

  it('round-trips through config.json', () => {
    const c = parseLlamaConfig(LLAMA_3_2_1B_CONFIG);
    assert.deepEqual(parseLlamaConfig(JSON.parse(JSON.stringify(toHfConfigJson(c)))), c);
  });

  it('llama3 rope scaling: high frequencies kept, low ones divided by factor, the middle band interpolated', () => {
    const c = parseLlamaConfig(LLAMA_3_2_1B_CONFIG);
    const plain = ropeInverseFrequencies({ ...c, ropeScaling: undefined });
    const scaled = ropeInverseFrequencies(c);
    assert.equal(scaled[0], plain[0]); // wavelength 2π < 8192/4
    assert.ok(Math.abs(scaled[31]! - plain[31]! / 32) < 1e-20); // wavelength ≫ 8192
    const mid = [...plain.keys()].filter((i) => {
      const wl = (2 * Math.PI) / plain[i]!;
      return wl > 2048 && wl < 8192;
    });
    assert.ok(mid.length > 0);
    for (const i of mid) assert.ok(scaled[i]! < plain[i]! && scaled[i]! > plain[i]! / 32);
  });

  it('refuses other architectures and features, naming what is supported', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...LLAMA_3_2_1B_CONFIG, model_type: 'mistral' }, /model_type is "mistral".*supports Llama-family/],
      [{ ...LLAMA_3_2_1B_CONFIG, hidden_act: 'gelu' }, /hidden_act "gelu"/],
      [{ ...LLAMA_3_2_1B_CONFIG, attention_bias: true }, /attention_bias/],
      [{ ...LLAMA_3_2_1B_CONFIG, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" \(only "llama3" and "default"\)/],
    ];
    for (const [cfg, re] of cases) {
      assert.throws(() => parseLlamaConfig(cfg), (e: Error & { code?: string }) => e.code === 'model-unsupported' && re.test(e.message));
    }
    assert.throws(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, num_key_value_heads: 5 }), /multiple of num_key_value_heads/);
    assert.throws(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, hidden_size: 'big' }), /"hidden_size" must be a positive integer/);
  });
});
