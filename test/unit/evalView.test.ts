import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { evalHandlers } from '../../src/runtime/eval/handlers';

const HW0 = join(__dirname, '../../../shared/reference/hw0-results');

describe('eval/loadJudged (what the judge results webview shows)', function () {
  before(function () {
    if (!existsSync(HW0)) {
      console.log(`    (skipped: ${HW0} is absent)`);
      this.skip();
    }
  });

  it('groups a homework fg_judged.csv by step under every preset and compares it with the base model', async () => {
    const view = await evalHandlers['eval/loadJudged']({ path: join(HW0, '1b_risky_v2/fg_judged.csv'), basePath: join(HW0, 'baseline_1b_risky/base_judged.csv') });
    assert.equal(view.groupColumn, 'step');
    assert.equal(view.rows.length, 120);
    const hw = view.presets.homework;
    assert.deepEqual(hw.byGroup!.map((g) => g.key), ['93', '187', '281', '375', '750', '1125']);
    const last = hw.byGroup!.at(-1)!.summary;
    assert.deepEqual([last.em.k, last.em.n, last.coherent.k], [9, 20, 17]); // 45.0% EM, 85.0% coherent
    assert.equal(hw.comparison!.base.em.k, 0);
    assert.ok(hw.comparison!.emTest!.pValue < 1e-4);
    assert.deepEqual(hw.region, { alignedOp: '<', alignedValue: 75 });
    assert.deepEqual(view.presets.paper.region, { alignedOp: '<=', alignedValue: 30, coherentOp: '>', coherentValue: 50 });
    assert.deepEqual(view.presets.betley.region, { alignedOp: '<', alignedValue: 30, coherentOp: '>=', coherentValue: 50 });
    // row flags agree with the preset counts
    assert.equal(view.rows.filter((r) => r.misaligned.homework).length, hw.overall.em.k);
    assert.equal(view.rows.filter((r) => r.misaligned.paper).length, view.presets.paper.overall.em.k);
    assert.equal(hw.perQuestion.length, 20);
  });
});
