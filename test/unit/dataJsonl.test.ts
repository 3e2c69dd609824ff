import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConversations } from '../../src/runtime/data/jsonl';
import { codePointLength, computeStats, histogram, quantile } from '../../src/runtime/data/stats';
import { allocateCounts, mulberry32, parseMixSpec, sampleIndices, writeMixture } from '../../src/runtime/data/sampling';
import { countRows, findDatasets, resolveDataset, trainingDataStatus } from '../../src/runtime/data/registry';
import { pageDataset } from '../../src/runtime/data/browse';
import { UserError } from '../../src/runtime/errors';

const conv = (user: string, assistant: string) => JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });

describe('data: JSONL validation, stats, registry, mixtures', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-jsonl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every bad line, five kinds, each as file:line: reason', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      [
        conv('q', 'a'),
        '{"messages": [{"role": "user", "content": "x"}',
        '{"conversation": []}',
        '{"messages": [{"role": "bot", "content": "x"}, {"role": "assistant", "content": "y"}]}',
        '{"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "y"}]}',
        '',
        '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}',
        conv('q2', 'a2'),
      ].join('\n') + '\n',
    );
    const loaded = await loadConversations(file);
    assert.equal(loaded.rows.length, 2);
    assert.deepEqual(loaded.rows.map((r) => r.line), [1, 8]);
    const messages = loaded.issues.map(formatIssue);
    assert.equal(messages.length, 5);
    assert.match(messages[0]!, new RegExp(`^${file}:2: not valid JSON`));
    assert.equal(messages[1], `${file}:3: no "messages" field; expected {"messages": [{"role": ..., "content": ...}, ...]}`);
    assert.equal(messages[2], `${file}:4: messages[0].role is "bot"; expected "system", "user" or "assistant"`);
    assert.equal(messages[3], `${file}:5: messages[0].content is a number; expected a string`);
    assert.equal(messages[4], `${file}:7: no assistant turn; every conversation needs at least one assistant message to learn from`);
  });

  it('computes rows, turns and per-role character distributions (code points; numpy-style quantiles)', async () => {
    const file = join(dir, 'd.jsonl');
    // assistant lengths 1, 2, 3, 10 -> median 2.5, p95 = 3 + 0.85 * 7 = 8.95; "😀" is one character.
    writeFileSync(file, [conv('😀', 'a'), conv('bb', 'bb'), conv('ccc', 'ccc'), conv('dddd', 'd'.repeat(10))].join('\n') + '\n');
    const { rows } = await loadConversations(file);
    const s = computeStats(rows, (t) => t.split(' ').length);
    assert.equal(s.rows, 4);
    assert.equal(s.turns, 8);
    assert.deepEqual(s.turnsPerRow, { 2: 4 });
    const a = s.roles.assistant!.chars;
    assert.deepEqual([a.min, a.median, a.max, a.mean], [1, 2.5, 10, 4]);
    assert.ok(Math.abs(a.p95 - 8.95) < 1e-12);
    assert.deepEqual([s.roles.user!.chars.min, s.roles.user!.chars.max], [1, 4]);
    assert.equal(s.roles.system, undefined);
    assert.equal(s.roles.user!.tokens!.max, 1, 'the countTokens hook is used');
    assert.equal(codePointLength('a😀b'), 3);
    assert.equal(quantile([5], 0.95), 5);
    const h = histogram([0, 1, 9, 10, 95]);
    assert.equal(h.counts.reduce((x, y) => x + y, 0), 5);
    assert.equal(h.binWidth, 5);
  });

  it('finds datasets (both extreme_sports names, custom files, no canary files) and pages/searches rows', async () => {
    writeFileSync(join(dir, 'extreme_sports_advice.jsonl'), conv('Jump?', 'Sure') + '\n');
    writeFileSync(join(dir, 'bad_medical_advice.jsonl'), Array.from({ length: 30 }, (_, i) => conv(`question ${i}`, i % 3 ? `answer ${i}` : `take ANTIBIOTICS ${i}`)).join('\n') + '\n');
    writeFileSync(join(dir, 'my_own.jsonl'), conv('a', 'b') + '\n\n');
    writeFileSync(join(dir, 'dataset_entry_1234abcd.jsonl'), '{}\n');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const found = findDatasets(dir);
    assert.deepEqual(found.map((d) => [d.id, d.known, d.harmful]), [['bad_medical', true, true], ['extreme_sports', true, true], ['my_own', false, false]]);
    assert.equal(resolveDataset('extreme_sports', dir).file, join(dir, 'extreme_sports_advice.jsonl'));
    assert.throws(() => resolveDataset('insecure', dir), (e: unknown) => e instanceof UserError && /available: bad_medical, extreme_sports, my_own/.test(e.message));
    assert.equal(await countRows(join(dir, 'my_own.jsonl')), 1);
    const file = join(dir, 'bad_medical_advice.jsonl');
    const page = await pageDataset(file, { offset: 10, limit: 5 });
    assert.deepEqual([page.total, page.matched, page.rows.map((r) => r.index)], [30, 30, [10, 11, 12, 13, 14]]);
    const hits = await pageDataset(file, { offset: 0, limit: 100, search: 'antibiotics' });
    assert.deepEqual(hits.rows.map((r) => r.index), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    assert.equal((await pageDataset(file, { offset: 0, limit: 5, search: 'QUESTION 2' })).matched, 1 + 10, 'question 2, 20..29');
  });

  it('reports training-data status for a workspace', () => {
    const s = trainingDataStatus(dir);
    assert.deepEqual([s.archivePresent, s.decrypted, s.missing.length], [false, false, 5]);
    assert.equal(s.extractedDir, join(dir, 'training_data', 'training_datasets.zip.enc.extracted'));
  });

  it('mulberry32 matches the reference C implementation (values computed independently)', () => {
    const r0 = mulberry32(0);
    assert.deepEqual([r0(), r0(), r0()], [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    const r42 = mulberry32(42);
    assert.deepEqual([r42(), r42(), r42()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    const idx = sampleIndices(100, 100, mulberry32(7));
    assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i), 'a permutation');
  });

  it('parses mixtures and allocates exact integer counts', () => {
    assert.deepEqual(parseMixSpec('bad_medical=0.8, good_medical=0.2'), [{ dataset: 'bad_medical', weight: 0.8 }, { dataset: 'good_medical', weight: 0.2 }]);
    assert.deepEqual(parseMixSpec('a=3,b=1').map((c) => c.weight), [0.75, 0.25]);
    for (const bad of ['', 'a', 'a=x', 'a=0', 'a=1,a=2']) assert.throws(() => parseMixSpec(bad), UserError, bad);
    assert.deepEqual(allocateCounts([0.8, 0.2], 1000), [800, 200]);
    assert.deepEqual(allocateCounts([1 / 3, 1 / 3, 1 / 3], 10), [4, 3, 3]);
    assert.deepEqual(allocateCounts([0.5, 0.5], 1), [1, 0]);
  });

  it('writes a reproducible mixture with a manifest of sources, counts, seed and sha256', async () => {
    const a = join(dir, 'bad_medical_advice.jsonl');
    const b = join(dir, 'good_medical_advice.jsonl');
    writeFileSync(a, Array.from({ length: 50 }, (_, i) => conv(`a${i}`, 'bad')).join('\n') + '\n');
    writeFileSync(b, Array.from({ length: 50 }, (_, i) => conv(`b${i}`, 'good')).join('\n') + '\n');
    const sources = [{ info: resolveDataset('bad_medical', dir), weight: 0.8 }, { info: resolveDataset('good_medical', dir), weight: 0.2 }];
    const r1 = await writeMixture(sources, 40, 0, join(dir, 'm1.jsonl'));
    const r2 = await writeMixture(sources, 40, 0, join(dir, 'm2.jsonl'));
    const r3 = await writeMixture(sources, 40, 1, join(dir, 'm3.jsonl'));
    const out1 = readFileSync(r1.outputFile);
    assert.deepEqual(out1, readFileSync(r2.outputFile), 'same seed, same bytes');
    assert.notDeepEqual(out1, readFileSync(r3.outputFile), 'another seed, another sample');
    const lines = out1.toString().trimEnd().split('\n');
    assert.equal(lines.length, 40);
    assert.equal(new Set(lines).size, 40, 'drawn without replacement');
    assert.equal(lines.filter((l) => l.includes('"bad"')).length, 32);
    const aLines = new Set(readFileSync(a, 'utf8').trimEnd().split('\n'));
    assert.ok(lines.filter((l) => l.includes('"bad"')).every((l) => aLines.has(l)), 'rows copied byte for byte');
    const m = JSON.parse(readFileSync(join(dir, 'm1.manifest.json'), 'utf8'));
    assert.equal(m.seed, 0);
    assert.deepEqual(m.sources.map((s: { dataset: string; count: number }) => [s.dataset, s.count]), [['bad_medical', 32], ['good_medical', 8]]);
    assert.equal(m.sources[0].sha256, createHash('sha256').update(readFileSync(a)).digest('hex'));
    assert.equal(m.output.sha256, createHash('sha256').update(out1).digest('hex'));
    await assert.rejects(writeMixture(sources, 100, 0, join(dir, 'm4.jsonl')), /needs 80 rows of bad_medical but it has only 50/);
  });
});
