import { strict as assert } from 'node:assert';
import { commandHelp } from '../../src/runtime/cli';
import type { CliCommand } from '../../src/runtime/cli/command';

describe('cli framework', () => {
  it('lists options, defaults and positionals in --help', () => {
    const c: CliCommand = {
      path: ['x', 'y'],
      summary: 'Does y.',
      positionals: [{ name: 'FILE', description: 'input', required: true }],
      options: { seed: { type: 'string', description: 'Random seed.', default: '0', valueName: 'N' } },
      run: async () => 0,
    };
    const help = commandHelp(c);
    assert.match(help, /Usage: em-lab x y <FILE> \[options\]/);
    assert.match(help, /--seed N\s+Random seed\. \(default: 0\)/);
    assert.match(help, /--json/);
  });
});
