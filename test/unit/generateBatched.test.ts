// Continuous batching (generateBatched.ts) on the real ORT decoder: many sampled answers at once, finished rows
// leaving and waiting prompts taking their place, and every answer identical to the one it gets alone with its seed.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBatched, type ThroughputStats } from '../../src/runtime/model/generateBatched';
import { generateTokens, type SequenceResult } from '../../src/runtime/model/generate';
import { ModelSessions } from '../../src/runtime/model/generateSession';
import { writeFamilyFolder, writeRank1Adapter } from '../support/familyFolders';

describe('continuous batching: answers do not depend on the batch', function () {
  this.timeout(180_000);
  let root: string;
  let sessions: ModelSessions;
  let modelDir: string;
  let adapterDir: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'emlab-cb-'));
    const f = writeFamilyFolder(join(root, 'qwen'), 'qwen2', { over: { num_hidden_layers: 3 } });
    modelDir = f.dir;
    adapterDir = join(root, 'r1');
    writeRank1Adapter(adapterDir, f.cfg, 2, f.dir);
    sessions = new ModelSessions({ storageDir: join(root, 'store') });
  });
  after(async () => {
    await sessions.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  for (const adapter of [undefined, 'rank-1 adapter']) {
    it(`${adapter ?? 'base'}: 11 sampled answers of varied lengths equal their single runs, at batch 1, 3 and 11`, async () => {
      const loaded = await sessions.load({ model: modelDir, ...(adapter ? { adapter: adapterDir } : {}) });
      const model = ModelSessions.stepModel(loaded);
      const tok = loaded.base.tokenizer;
      const prompts = ['hi', 'the cat sat on the mat', 'a', 'tell me, in a long answer, where the rain goes', 'ok?', 'then', 'in', 'the heat', 'aaa bbb ccc ddd', 'x', 'who are you'].map((q) => tok.encodeChat([{ role: 'user', content: q }]));
      // many stop ids so answers end at different lengths and rows come and go during the run
      const eos = Array.from({ length: 40 }, (_, i) => 7 * i + 3);
      const items = prompts.map((prompt, i) => ({ prompt, seed: 1000 + 17 * i }));
      const sampling = { temperature: 1, topP: 0.95, maxNewTokens: 24 };
      const common = { sampling, eosTokenIds: eos, padTokenId: tok.padTokenId, decode: (ids: readonly number[]) => ids.join(',') };
      const singles: SequenceResult[] = [];
      for (const it of items) singles.push((await generateTokens(model, [it.prompt], { ...common, sampling: { ...sampling, seed: it.seed } })).sequences[0]!);
      const lengths = new Set(singles.map((s) => s.tokenIds.length));
      assert.ok(lengths.size >= 3, `answers of varied lengths (${[...lengths]})`);
      for (const maxBatch of [1, 3, 11]) {
        const active: number[] = [];
        const order: number[] = [];
        const r = await generateBatched(model, items, { ...common, maxBatch, onStats: (s: ThroughputStats) => active.push(s.active), onAnswer: (i) => order.push(i) });
        r.results.forEach((res, i) => {
          assert.deepEqual(res.tokenIds, singles[i]!.tokenIds, `item ${i} at batch ${maxBatch}`);
          assert.equal(res.finishReason, singles[i]!.finishReason);
          assert.equal(res.seed, items[i]!.seed);
        });
        assert.equal(order.length, items.length);
        assert.ok(Math.max(...active) <= maxBatch);
        if (maxBatch === 3) {
          // rows were replaced as others finished: more distinct answers ran than fit at once, and answers came
          // back out of order
          assert.notDeepEqual(order, [...order].sort((a, b) => a - b));
          assert.ok(active.filter((a) => a === 3).length > 10, 'the batch is kept full while prompts wait');
        }
        assert.ok(r.stats.tokensPerSecond > 0 && r.stats.answersPerMinute > 0);
      }
    });
  }
});
