import { strict as assert } from 'node:assert';
import { LORA_TARGETS, loraParameterCount, parameterCount } from '../../src/runtime/model/llamaConfig';
import { peakTflops, shapeConfig, tokenBatches, trainFlopsPerToken } from '../../bench/gpu/gpuBenchShape';

// The GPU benchmark's MFU rests on these numbers; checked against the published Llama-3.2-1B parameter count.
describe('GPU benchmark shape and FLOP count', () => {
  it('Llama-3.2-1B: 1 235 814 400 parameters; FLOPs/token = 4·(matmul params) + 6·LoRA + attention', () => {
    const { cfg } = shapeConfig('llama1b');
    assert.equal(parameterCount(cfg), 1_235_814_400); // Meta's model card: 1.24B (tied embeddings)
    const norms = cfg.numLayers * 2 * cfg.hiddenSize + cfg.hiddenSize; // RMSNorm weights are not matmuls
    const lora = loraParameterCount(cfg, 16, LORA_TARGETS);
    assert.equal(lora, 11_272_192); // PEFT prints "trainable params: 11,272,192" for r=16 on all 7 projections
    const expected = 4 * (parameterCount(cfg) - norms) + 6 * lora + 12 * 256 * 32 * 64 * 16;
    assert.equal(trainFlopsPerToken(cfg, 16, 256), expected);
  });

  it('token batches stay inside the vocabulary and are reproducible', () => {
    for (const name of ['tiny', 'llama1b'] as const) {
      const { cfg } = shapeConfig(name);
      const t = tokenBatches(cfg, 2, 3, 40);
      assert.ok(t.every((x) => x >= 0 && x < cfg.vocabSize), name);
      assert.deepEqual(tokenBatches(cfg, 2, 3, 40), t);
    }
  });

  it('knows the dense fp16/bf16 peaks of the lent cards', () => {
    assert.equal(peakTflops('NVIDIA H100 80GB HBM3'), 989);
    assert.equal(peakTflops('NVIDIA H200'), 989);
    assert.equal(peakTflops('NVIDIA H100 PCIe'), 756);
    assert.equal(peakTflops('Tesla T4'), undefined);
  });
});
