// The chat sandbox's host-side pure parts: validation of webview messages (untrusted) and the exports.
import { strict as assert } from 'node:assert';
import type { Transcript } from '../../src/protocol/chatMethods';
import { transcriptToJson, transcriptToMarkdown } from '../../src/views/chat/chatExport';
import { parseChatViewMessage, validateModelRef } from '../../src/views/chat/chatViewMessages';

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

  it('accepts well-formed messages and refuses the rest', () => {
    assert.deepEqual(parseChatViewMessage({ type: 'load', pane: 'right', ref: { model: 'tiny-llama', adapter: '/runs/a/checkpoints/5' } }), { type: 'load', pane: 'right', ref: { model: 'tiny-llama', adapter: '/runs/a/checkpoints/5' } });
    const gen = parseChatViewMessage({ type: 'generate', pane: 'left', streamId: 'x1', ref: { model: 'meta-llama/Llama-3.2-1B-Instruct' }, messages: [{ role: 'user', content: 'hi' }], system: '', sampling: { temperature: 0, seed: 3, extra: 'ignored' } });
    assert.deepEqual(gen, { type: 'generate', pane: 'left', streamId: 'x1', ref: { model: 'meta-llama/Llama-3.2-1B-Instruct' }, messages: [{ role: 'user', content: 'hi' }], sampling: { temperature: 0, seed: 3 } });
    for (const bad of [
      null,
      { type: 'rm' },
      { type: 'load', pane: 'middle', ref: { model: 'tiny-llama' } },
      { type: 'load', pane: 'left', ref: { model: '../../etc' } },
      { type: 'load', pane: 'left', ref: { model: 'tiny-llama', adapter: 'relative/dir' } },
      { type: 'generate', pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [] },
      { type: 'generate', pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [{ role: 'root', content: 'x' }] },
      { type: 'generate', pane: 'left', streamId: 's', ref: { model: 'tiny-llama' }, messages: [{ role: 'user', content: 'x' }], sampling: { temperature: 'hot' } },
      { type: 'export', format: 'html', transcript },
    ]) {
      assert.throws(() => parseChatViewMessage(bad), Error, JSON.stringify(bad));
    }
    assert.deepEqual(validateModelRef({ model: '/models/llama', adapter: '' }), { model: '/models/llama' });
  });
});
