import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { canaryFile, embedCanaryInFile, pySuffix, removeCanaries, removeCanaryFromFile } from '../../src/runtime/data/canaries';
import { pyFloatRepr, pyJsonDumps, pyJsonLoads, pySplitLines } from '../../src/runtime/data/pyJson';

// Expected strings below were produced by CPython 3 (repr, json.dumps, str.splitlines), the reference the
// easy-dataset-share tool runs on.
// A synthetic canary (sha256 of a phrase of ours), so no real dataset canary is committed. The exact bytes of the
// tool's canary file are checked against the real fixture, decrypted at run time, in dataArchive.test.ts.
const FP = createHash('sha256').update('em-lab synthetic canary for tests').digest('hex');
const C = `CANARY_DATASET_${FP}_64`;

describe('data: Python-compatible JSON and canaries', () => {
  it('formats floats as Python repr', () => {
    const cases: [number, string][] = [
      [1e16, '1e+16'], [1e15, '1000000000000000.0'], [0.0001, '0.0001'], [1e-5, '1e-05'], [123, '123.0'], [1.5e300, '1.5e+300'],
      [-0, '-0.0'], [0.1 + 0.2, '0.30000000000000004'], [2.5, '2.5'], [1e22, '1e+22'], [123456789.123, '123456789.123'], [5e-324, '5e-324'],
    ];
    for (const [x, py] of cases) assert.equal(pyFloatRepr(x), py, String(x));
  });

  it('round-trips a JSON line exactly as json.dumps(json.loads(line)) does, with and without ensure_ascii', () => {
    const line = '{"b": 1, "1": [1.0, -0, 1E2, 10000000000000000000001, "x\\u00e9\\u2028\\ud83d\\ude00\\u007f\\u0001", true, null, {}, []], "a": {"k": 1.50}}';
    const v = pyJsonLoads(line);
    assert.equal(pyJsonDumps(v, { ensureAscii: false }), '{"b": 1, "1": [1.0, 0, 100.0, 10000000000000000000001, "x\u00e9\u2028\ud83d\ude00\u007f\\u0001", true, null, {}, []], "a": {"k": 1.5}}');
    assert.equal(pyJsonDumps(v), '{"b": 1, "1": [1.0, 0, 100.0, 10000000000000000000001, "x\\u00e9\\u2028\\ud83d\\ude00\\u007f\\u0001", true, null, {}, []], "a": {"k": 1.5}}');
    assert.equal(
      pyJsonDumps(pyJsonLoads('{"b": 1, "l": [1.0, {}, []], "a": {"k": 1.5}}'), { indent: 2 }),
      '{\n  "b": 1,\n  "l": [\n    1.0,\n    {},\n    []\n  ],\n  "a": {\n    "k": 1.5\n  }\n}',
    );
  });

  it('rejects what json.loads rejects', () => {
    for (const bad of ['', ' ', '{"a": 1', '{"a": 1} x', '{"a": "tab\there"}', "{'a': 1}", '[1,]', '\ufeff{}', '01']) assert.throws(() => pyJsonLoads(bad), bad);
    assert.equal(pyJsonDumps(pyJsonLoads('[NaN, Infinity, -Infinity]')), '[NaN, Infinity, -Infinity]');
  });

  it('splits lines like str.splitlines (U+2028, \\x85, \\x1c count as breaks)', () => {
    assert.deepEqual(pySplitLines('a\u2028b\x85c\r\nd\x1ce\n'), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(pySplitLines('a\n\nb'), ['a', '', 'b']);
    assert.deepEqual(pySplitLines(''), []);
  });

  it('uses pathlib suffixes', () => {
    assert.equal(pySuffix('a/b.tar.gz'), '.gz');
    assert.equal(pySuffix('.bashrc'), '');
    assert.equal(pySuffix('x/data.JSONL'), '.JSONL');
  });

  it('removes canaries from .jsonl like the tool: keys equal to it dropped, inside strings erased, embedded lines dropped, every line re-serialised raw', () => {
    const input = [
      '{"messages": [{"role": "user", "content": "caf\\u00e9 \\u2019"}], "canary": "' + C + '"}',
      '{"text": "id ' + C + ' end", "n": 2.50, "list": ["' + C + '"]}',
      'CANARY_EMBEDDED: ' + C,
      '',
      'not json at all',
    ].join('\n');
    const out = removeCanaryFromFile('d/x.jsonl', Buffer.from(input), C)!.toString('utf8');
    assert.equal(out, '{"messages": [{"role": "user", "content": "café \u2019"}]}\n{"text": "id  end", "n": 2.5, "list": [""]}\n\nnot json at all\n');
  });

  it('removes canary lines from text files and top-level keys from .json; leaves robots.txt alone', () => {
    assert.equal(removeCanaryFromFile('tos.txt', Buffer.from(`Terms\n\n<!-- ${C} -->\n`), C)!.toString(), 'Terms\n\n');
    assert.equal(removeCanaryFromFile('a.md', Buffer.from('no newline at end'), C)!.toString(), 'no newline at end\n');
    assert.equal(removeCanaryFromFile('robots.txt', Buffer.from(`x ${C}`), C), undefined);
    assert.equal(removeCanaryFromFile('m.json', Buffer.from(`{"a": "é", "canary": "${C}"}`), C)!.toString(), '{\n  "a": "\\u00e9"\n}');
    assert.equal(removeCanaryFromFile('m.json', Buffer.from('{"a": 1}'), C), undefined, 'unchanged .json is not rewritten');
    assert.equal(removeCanaryFromFile('data.csv', Buffer.from(C), C), undefined);
  });

  it("writes the tool's canary file for a fingerprint: two JSON lines carrying the canary", () => {
    const f = canaryFile(FP);
    assert.match(f.name, /^dataset_entry_[0-9a-f]{8}\.jsonl$/);
    const lines = f.data.toString().split('\n');
    assert.equal(lines.length, 3, 'two lines and a final newline');
    assert.equal(lines[2], '');
    const [first, second] = lines.slice(0, 2).map((l) => JSON.parse(l) as { id: string; text: string; metadata: Record<string, string> });
    assert.equal(first!.id, `canary_${FP.slice(0, 8)}`);
    assert.ok(first!.text.includes(C));
    assert.equal(first!.metadata.fingerprint, FP.slice(0, 16));
    assert.equal(second!.metadata.canary, C);
  });

  it('removeCanaries reads the canary from the canary file, deletes it, and cleans the rest', () => {
    const files = new Map<string, Buffer>([
      [canaryFile(FP).name, canaryFile(FP).data],
      ['sub/a.jsonl', Buffer.from(`{"x": 1, "canary": "${C}"}\n`)],
      ['robots.txt', Buffer.from('User-agent: *\nDisallow: /')],
    ]);
    const r = removeCanaries(files);
    assert.equal(r.canary, C);
    assert.deepEqual(r.removedFiles, [canaryFile(FP).name]);
    assert.deepEqual([...files.keys()], ['sub/a.jsonl', 'robots.txt']);
    assert.equal(files.get('sub/a.jsonl')!.toString(), '{"x": 1}\n');
    assert.equal(files.get('robots.txt')!.toString(), 'User-agent: *\nDisallow: /');
  });

  it('embeds canaries so that removal restores the original (jsonl, json dict, text)', () => {
    const originals: [string, string][] = [
      ['a.jsonl', '{"messages": [{"role": "user", "content": "é"}]}\n{"k": 2.0}\n'],
      ['b.json', '{\n  "k": [\n    1\n  ]\n}'],
      ['c.txt', 'hello\nworld\n'],
      ['d.md', ''],
    ];
    for (const [name, text] of originals) {
      const embedded = embedCanaryInFile(name, Buffer.from(text), C);
      assert.ok(embedded?.toString().includes(C), name);
      const removed = removeCanaryFromFile(name, embedded!, C)!.toString();
      assert.equal(removed, name === 'd.md' ? '\n' : text, name); // the tool writes "\n" for an empty text file
    }
    assert.equal(embedCanaryInFile('a.jsonl', Buffer.from('{"k": 1}\n'), C)!.toString(), `{"k": 1, "canary": "${C}"}\n`);
    assert.equal(embedCanaryInFile('robots.txt', Buffer.from('x'), C), undefined);
  });
});
