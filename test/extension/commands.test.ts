import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { contributedCommands, emLabExtension } from './extensionUnderTest';

describe('EM Lab commands', () => {
  const contributed = contributedCommands();
  let registered = new Set<string>();

  before(async () => {
    await emLabExtension().activate();
    registered = new Set(await vscode.commands.getCommands(true));
  });

  it('contributes commands under the emLab. prefix', () => {
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const outside = contributed.filter((c) => !c.command.startsWith('emLab.')).map((c) => c.command);
    assert.deepEqual(outside, [], 'every command id starts with "emLab."');
  });

  // One test per command in package.json: a command listed in the manifest but never registered by activate()
  // shows "command not found" to the user.
  for (const c of contributed) {
    it(`registers ${c.command} ("${c.category ? c.category + ': ' : ''}${c.title}")`, () => {
      assert.ok(registered.has(c.command), `${c.command} is contributed in package.json but not registered after activation`);
    });
  }
});
