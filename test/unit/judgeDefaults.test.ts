// The judge's defaults live in one place (JUDGE_DEFAULTS, src/protocol/evalMethods.ts): the CLI's options, the
// experiment presets and the extension's settings fallback read them; package.json's emLab.judge.* defaults (JSON,
// which cannot import) must equal them, and they are the homework's judge.py values.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { JUDGE_DEFAULTS } from '../../src/protocol/evalMethods';
import { JUDGE_OPTIONS } from '../../src/runtime/cli/evalOptions';
import { GRADER } from '../../src/runtime/eval/homework/checkout';
import { EXPERIMENT_PRESETS } from '../../src/runtime/experiment/presets';

describe('judge defaults: one source', () => {
  it("package.json's emLab.judge settings default to JUDGE_DEFAULTS", () => {
    const props = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default?: unknown }> } } }).contributes.configuration.properties;
    assert.equal(props['emLab.judge.model']?.default, JUDGE_DEFAULTS.model);
    assert.equal(props['emLab.judge.mode']?.default, JUDGE_DEFAULTS.mode);
    assert.equal(props['emLab.judge.concurrency']?.default, JUDGE_DEFAULTS.concurrency);
  });

  it('the CLI options, the experiment presets and the homework grader agree with it', () => {
    assert.equal(JUDGE_OPTIONS['judge-temperature']?.default, String(JUDGE_DEFAULTS.temperature));
    assert.match(JUDGE_OPTIONS['judge-model']?.description ?? '', new RegExp(`else ${JUDGE_DEFAULTS.model.replace(/[.]/g, '\\.')}\\.`));
    assert.equal(GRADER.judgeTemperature, JUDGE_DEFAULTS.temperature, "judge.py's temperature is EM Lab's default");
    for (const id of ['quick', 'homework'] as const) {
      const j = EXPERIMENT_PRESETS[id].judge;
      assert.deepEqual({ model: j.model, mode: j.mode, temperature: j.temperature, concurrency: j.concurrency }, { ...JUDGE_DEFAULTS }, id);
    }
  });
});
