// Binds the ORT decoder (decoder.ts) and one adapter slot to what generation and logprobs need: a cached step
// that returns the last position's logits, and a full-sequence forward. The adapter is a per-call feed, so base
// and adapters answer from one session without reloading anything.
import type { Decoder, KvCache } from './decoder';
import type { StepModel } from './generate';
import type { RegroupableModel } from './generateBatched';
import type { LogitsModel } from './logprobs';

export function decoderStepModel(decoder: Decoder, adapterId?: string): StepModel<KvCache> & RegroupableModel<KvCache> & LogitsModel {
  const vocab = decoder.config.vocabSize;
  return {
    vocabSize: vocab,
    regroup: (rows, length) => decoder.regroupCache(rows, length),
    async step(inputs, past) {
      // only the last position's logits are sampled: logitsToKeep 1 saves the lm_head over the prompt and a
      // [batch, seq, vocab] output (2 GB for 64 prompts of 60 tokens on a 128k vocabulary)
      const out = await decoder.forward(
        { inputIds: inputs.inputIds, batch: inputs.batch, seq: inputs.seq, attentionMask: inputs.attentionMask, positionIds: inputs.positionIds, logitsToKeep: 1, ...(past ? { past } : {}) },
        adapterId,
      );
      // Left padding puts every row's last real token in the last column.
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
