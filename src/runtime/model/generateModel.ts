// Binds the ORT decoder (decoder.ts) and one adapter slot to what generation and logprobs need: a cached step
// that returns the last position's logits, and a full-sequence forward. The adapter is a per-call feed, so base
// and adapters answer from one session without reloading anything.
import type { Decoder, KvCache } from './decoder';
import type { StepModel } from './generate';
import type { LogitsModel } from './logprobs';

export function decoderStepModel(decoder: Decoder, adapterId?: string): StepModel<KvCache> & LogitsModel {
  const vocab = decoder.config.vocabSize;
  return {
    vocabSize: vocab,
    async step(inputs, past) {
      // Only the last position's logits are sampled: num_logits_to_keep 1 runs the lm_head (vocab x hidden, the
      // largest matrix) on one row per prompt instead of every prompt token, and returns [batch, 1, vocab]. Left
      // padding puts every row's last real token in the last column.
      const out = await decoder.forward(
        { inputIds: inputs.inputIds, batch: inputs.batch, seq: inputs.seq, attentionMask: inputs.attentionMask, positionIds: inputs.positionIds, logitsToKeep: 1, ...(past ? { past } : {}) },
        adapterId,
      );
      return { lastLogits: out.logits, past: out.presents };
    },
    async allLogits(ids) {
      const n = ids.length;
      const out = await decoder.forward({
        inputIds: BigInt64Array.from(ids, (i) => BigInt(i)),
        batch: 1,
        seq: n,
        attentionMask: new BigInt64Array(n).fill(1n),
        positionIds: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      }, adapterId);
      return out.logits;
    },
  };
}
