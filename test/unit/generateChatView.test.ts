// The chat sandbox's host-side pure parts: validation of webview messages (untrusted) and the exports.
import { strict as assert } from 'node:assert';
import type { Transcript } from '../../src/protocol/chatMethods';
import { transcriptToJson, transcriptToMarkdown } from '../../src/views/chat/chatExport';
import { parseExport, parseGenerate, parseLoad, validateModelRef } from '../../src/views/chat/chatViewMessages';

const transcript: Transcript = {
  schemaVersion: 1,
  exportedAt: '2026-01-02T03:04:05.000Z',
  system: 'You are terse.',
  panes: [
    { pane: 'left', title: 'tiny-llama (random weights — writes gibberish)', messages: [
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: 'look: ```rm -rf```',
        provenance: {
          label: { modelName: 'tiny-llama', modelDir: '/s/models/tiny-llama', warning: 'random weights — writes gibberish' },
          sampling: { temperature: 0.7, topP: 0.9, topK: 0, maxNewTokens: 200, seed: 42 },
          finishReason: 'eos', newTokens: 9, decodeTokensPerSecond: 50, finishedAt: '2026-01-02T03:04:05.000Z',
        },
      },
    ] },
    { pane: 'right', title: 'run-a · step 20', messages: [
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: 'partial',
        provenance: {
          label: { modelName: 'tiny-llama', modelDir: '/s/models/tiny-llama', adapterName: 'run-a/checkpoints/20', adapterDir: '/r/run-a/checkpoints/20', run: 'run-a', step: 20 },
          sampling: { temperature: 0.7, topP: 0.9, topK: 0, maxNewTokens: 200, seed: 42 },
          finishReason: 'cancelled', newTokens: 3, decodeTokensPerSecond: 0, finishedAt: '2026-01-02T03:04:05.000Z',
        },
      },
    ] },
  ],
};

describe('chat sandbox: exports and webview message validation', () => {
  it('Markdown names model, adapter, checkpoint and sampling of every answer, and fences model text safely', () => {
    const md = transcriptToMarkdown(transcript);
    assert.match(md, /## Left pane: tiny-llama \(random weights — writes gibberish\)/);
    assert.match(md, /\*\*Assistant\*\* — tiny-llama \(random weights — writes gibberish\) · no adapter · temperature 0\.7, top_p 0\.9, top_k 0, max_new_tokens 200, seed 42 · 9 tokens, ended by the model/);
    assert.match(md, /adapter run-a\/checkpoints\/20 \(run run-a, step 20\)/);
    assert.match(md, /3 tokens, stopped by the user/);
    assert.match(md, /````text\nlook: ```rm -rf```\n````/, 'a fence longer than the backticks inside');
    assert.match(md, /\*\*System prompt:\*\*/);
    assert.deepEqual(JSON.parse(transcriptToJson(transcript)), transcript);
  });

  it('accepts well-formed requests and refuses the rest, naming the field', () => {
    assert.deepEqual(parseLoad({ pane: 'right', ref: { model: 'tiny-llama', adapter: '/runs/a/checkpoints/5' } }), { pane: 'right', ref: { model: 'tiny-llama', adapter: '/runs/a/checkpoints/5' } });
    const gen = parseGenerate({ pane: 'left', streamId: 'x1', ref: { model: 'meta-llama/Llama-3.2-1B-Instruct' }, messages: [{ role: 'user', content: 'hi' }], system: '', sampling: { temperature: 0, seed: 3, extra: 'ignored' } });
    assert.deepEqual(gen, { pane: 'left', streamId: 'x1', ref: { model: 'meta-llama/Llama-3.2-1B-Instruct' }, messages: [{ role: 'user', content: 'hi' }], sampling: { temperature: 0, seed: 3 } });
    const refused: [(raw: unknown) => unknown, unknown, RegExp][] = [
      [parseLoad, null, /params must be an object/],
      [parseLoad, { pane: 'middle', ref: { model: 'tiny-llama' } }, /pane must be one of left, right/],
      [parseLoad, { pane: 'left', ref: { model: '../../etc' } }, /ref\.model "\.\.\/\.\.\/etc" is not tiny-llama/],
      [parseLoad, { pane: 'left', ref: { model: 'tiny-llama', adapter: 'relative/dir' } }, /ref\.adapter "relative\/dir" must be an absolute path \(an absolute folder path\)/],
      [parseGenerate, { pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [] }, /messages must be a list/],
      [parseGenerate, { pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [{ role: 'root', content: 'x' }] }, /messages\[0\]\.role must be one of/],
      [parseGenerate, { pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [{ role: 'user', content: 'x' }], sampling: { temperature: 'hot' } }, /sampling\.temperature must be a finite number/],
      [parseExport, { format: 'html', transcript }, /format must be one of markdown, json/],
    ];
    for (const [parse, bad, why] of refused) {
      assert.throws(() => parse(bad), (err: Error & { code?: string }) => err.code === 'bad-request' && why.test(err.message), JSON.stringify(bad));
    }
    assert.deepEqual(validateModelRef({ model: '/models/llama', adapter: '' }), { model: '/models/llama' });
  });
});
