// The generation loop against a toy KV-cached model written here in plain JS: its next-token logits depend on
// every attended token and its position id, so wrong padding, masks, positions or cache handling change the text.
import { strict as assert } from 'node:assert';
import { generateTokens, positionsFromMask, type StepInputs, type StepModel } from '../../src/runtime/model/generate';
import { StreamDecoder } from '../../src/runtime/model/generateStream';

const VOCAB = 50;
const EOS = 49;
const PAD = 0;

interface ToyPast {
  /** Per row: the attended (token, position) pairs seen so far, with their mask bit. */
  rows: { token: number; position: number; mask: number }[][];
}

/** Logit v = sin(v * 0.37 + sum over attended tokens of (token + 1) * 0.11 * (position + 1)), with a peaked row. */
function toyModel(options: { eosAfter?: number } = {}): StepModel<ToyPast> & { calls: StepInputs[] } {
  const calls: StepInputs[] = [];
  return {
    vocabSize: VOCAB,
    calls,
    async step(inputs, past) {
      calls.push(inputs);
      const total = inputs.pastLength + inputs.seq;
      assert.equal(inputs.attentionMask.length, inputs.batch * total, 'mask covers past + new');
      const rows = past ? past.rows.map((r) => [...r]) : Array.from({ length: inputs.batch }, () => []);
      const lastLogits = new Float32Array(inputs.batch * VOCAB);
      for (let b = 0; b < inputs.batch; b++) {
        for (let s = 0; s < inputs.seq; s++) {
          rows[b]!.push({ token: Number(inputs.inputIds[b * inputs.seq + s]), position: Number(inputs.positionIds[b * inputs.seq + s]), mask: Number(inputs.attentionMask[b * total + inputs.pastLength + s]) });
        }
        const attended = rows[b]!.filter((e) => e.mask === 1);
        const h = attended.reduce((sum, e) => sum + (e.token + 1) * 0.11 * (e.position + 1), 0);
        for (let v = 0; v < VOCAB; v++) lastLogits[b * VOCAB + v] = Math.sin(v * 0.37 + h) * 3;
        const realTokens = attended.length;
        lastLogits[b * VOCAB + EOS] = options.eosAfter !== undefined && realTokens >= options.eosAfter ? 100 : -100;
      }
      return { lastLogits, past: { rows } };
    },
  };
}

const decodeToy = (ids: readonly number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');
const baseOptions = { eosTokenIds: [EOS], padTokenId: PAD, decode: decodeToy };

describe('generation loop', () => {
  it('position ids are cumsum(mask) - 1 clipped at 0, for the last seq columns', () => {
    const mask = Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual([...positionsFromMask(mask, 2, 5, 5)], [0n, 0n, 0n, 1n, 2n, 0n, 1n, 2n, 3n, 4n]);
    assert.deepEqual([...positionsFromMask(mask, 2, 5, 1)], [2n, 4n]);
  });

  it('left-pads a batch, and each row equals its single-prompt run (greedy and seeded sampling)', async () => {
    const prompts = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [5, 6, 7]];
    for (const sampling of [{ temperature: 0, maxNewTokens: 12 }, { temperature: 0.9, topP: 0.9, seed: 77, maxNewTokens: 12 }]) {
      const model = toyModel();
      const batched = await generateTokens(model, prompts, { ...baseOptions, sampling });
      const prefill = model.calls[0]!;
      assert.equal(prefill.seq, 5);
      assert.deepEqual([...prefill.attentionMask.slice(5, 10)], [0n, 0n, 0n, 0n, 1n], 'row 1 is left padded');
      assert.deepEqual([...prefill.inputIds.slice(5, 10)], [0n, 0n, 0n, 0n, 8n]);
      for (let i = 0; i < prompts.length; i++) {
        const single = await generateTokens(toyModel(), [prompts[i]!], { ...baseOptions, sampling: { ...sampling, ...(sampling.seed !== undefined ? { seed: sampling.seed + i } : {}) } });
        assert.deepEqual(batched.sequences[i]!.tokenIds, single.sequences[0]!.tokenIds, `row ${i} (${JSON.stringify(sampling)})`);
        assert.equal(batched.sequences[i]!.tokenIds.length, 12);
      }
      if (sampling.temperature > 0) {
        // Rows 0 and 3 share a prompt but sample with seeds 77 and 80: different text.
        assert.notDeepEqual(batched.sequences[0]!.tokenIds, batched.sequences[3]!.tokenIds);
        assert.equal(batched.sampling.seed, 77);
        assert.deepEqual(batched.sequences.map((s) => s.seed), [77, 78, 79, 80]);
      }
    }
  });

  it('the same seed gives the same tokens across runs; no seed draws one and reports it', async () => {
    const run = (seed?: number) => generateTokens(toyModel(), [[1, 2, 3]], { ...baseOptions, sampling: { temperature: 1, maxNewTokens: 20, ...(seed !== undefined ? { seed } : {}) } });
    const a = await run(5);
    const b = await run(5);
    assert.deepEqual(a.sequences[0]!.tokenIds, b.sequences[0]!.tokenIds);
    const c = await run();
    assert.equal(typeof c.sampling.seed, 'number');
    assert.deepEqual((await run(c.sampling.seed)).sequences[0]!.tokenIds, c.sequences[0]!.tokenIds);
  });

  it('stops each row on eos (not included) or max_new_tokens; later steps continue for the others', async () => {
    // eos becomes certain once a row has attended 6 real tokens: row 0 (prompt 4) stops after 2 new tokens.
    const res = await generateTokens(toyModel({ eosAfter: 6 }), [[1, 2, 3, 4], [1]], { ...baseOptions, sampling: { temperature: 0, maxNewTokens: 8 } });
    assert.equal(res.sequences[0]!.finishReason, 'eos');
    assert.equal(res.sequences[0]!.tokenIds.length, 2);
    assert.ok(!res.sequences[0]!.tokenIds.includes(EOS));
    assert.equal(res.sequences[1]!.finishReason, 'eos');
    assert.equal(res.sequences[1]!.tokenIds.length, 5);
    const capped = await generateTokens(toyModel(), [[1]], { ...baseOptions, sampling: { temperature: 0, maxNewTokens: 3 } });
    assert.equal(capped.sequences[0]!.finishReason, 'length');
    assert.equal(capped.sequences[0]!.tokenIds.length, 3);
    assert.equal(capped.stats.decodeSteps, 2, 'the prefill yields the first token');
  });

  it('streams one event per token whose deltas add up to the final text; cancel stops between tokens', async () => {
    const deltas: string[] = [];
    const res = await generateTokens(toyModel(), [[3, 4]], { ...baseOptions, sampling: { temperature: 0, maxNewTokens: 10 }, onToken: (e) => deltas.push(e.delta) });
    assert.equal(deltas.length, 10);
    assert.equal(deltas.join(''), res.sequences[0]!.text);
    const controller = new AbortController();
    let seen = 0;
    const cut = await generateTokens(toyModel(), [[3, 4]], {
      ...baseOptions,
      signal: controller.signal,
      sampling: { temperature: 0, maxNewTokens: 50 },
      onToken: () => {
        if (++seen === 4) controller.abort();
      },
    });
    assert.equal(cut.sequences[0]!.finishReason, 'cancelled');
    assert.equal(cut.sequences[0]!.tokenIds.length, 4);
    assert.deepEqual(cut.sequences[0]!.tokenIds, res.sequences[0]!.tokenIds.slice(0, 4));
  });

  it('stream decoder holds back an incomplete UTF-8 character until it completes', () => {
    // Bytes of "a🙂b": 61 | F0 9F 99 82 | 62 — the emoji arrives in three tokens.
    const tokenBytes = [[0x61], [0xf0, 0x9f], [0x99], [0x82], [0x62]];
    const decoder = new TextDecoder('utf-8');
    const s = new StreamDecoder((ids) => decoder.decode(Uint8Array.from(ids.flatMap((i) => tokenBytes[i]!))));
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => s.push(i)), ['a', '', '', '🙂', 'b']);
    assert.equal(s.flush(), '');
    const t = new StreamDecoder((ids) => decoder.decode(Uint8Array.from(ids.flatMap((i) => tokenBytes[i]!))));
    assert.equal(t.push(0) + t.push(1), 'a');
    assert.equal(t.flush(), '\uFFFD', 'an unfinished character at the end shows as U+FFFD, as a full decode does');
  });
});
