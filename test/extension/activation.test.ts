import * as assert from 'node:assert/strict';
import { EXTENSION_ID, emLabExtension } from './extensionUnderTest';

describe('EM Lab activation', () => {
  it(`is loaded as ${EXTENSION_ID}`, () => {
    const ext = emLabExtension();
    const manifest = ext.packageJSON as { name: string; publisher: string; displayName: string };
    assert.equal(`${manifest.publisher}.${manifest.name}`, EXTENSION_ID);
    assert.equal(manifest.displayName, 'EM Lab');
  });

  it('activates lazily: no "*" or onStartupFinished activation event', () => {
    const events = (emLabExtension().packageJSON as { activationEvents?: string[] }).activationEvents ?? [];
    assert.deepEqual(events.filter((e) => e === '*' || e === 'onStartupFinished'), []);
  });

  it('activates without throwing', async () => {
    const ext = emLabExtension();
    await ext.activate();
    assert.equal(ext.isActive, true);
  });
});
