// The chat's weight formats live once (MODEL_WEIGHTS in src/protocol/chatMethods.ts); package.json's setting, which
// VS Code reads before any code runs, must offer exactly those, and the CLI's --weights must describe each.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { MODEL_WEIGHT_NAMES, MODEL_WEIGHTS } from '../../src/protocol/chatMethods';
import { MODEL_OPTIONS } from '../../src/runtime/cli/generateCommands';

describe('chat weight formats: one table', () => {
  it("package.json's emLab.chat.weights offers MODEL_WEIGHTS' names, fp32 by default; --weights names and explains each", () => {
    const props = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { contributes: { configuration: { properties: Record<string, { enum?: string[]; enumDescriptions?: string[]; default?: unknown }> } } }).contributes.configuration.properties;
    const setting = props['emLab.chat.weights']!;
    assert.deepEqual(setting.enum, MODEL_WEIGHT_NAMES);
    assert.equal(setting.enumDescriptions?.length, MODEL_WEIGHT_NAMES.length);
    assert.equal(setting.default, 'float32');
    const flag = MODEL_OPTIONS.weights!;
    assert.equal(flag.default, 'float32');
    for (const name of MODEL_WEIGHT_NAMES) assert.ok(flag.description.includes(`${name} (${MODEL_WEIGHTS[name].help})`), `--weights explains ${name}`);
  });
});
