import { strict as assert } from 'node:assert';
import { canaryFile, embedCanaryInFile, pySuffix, removeCanaries, removeCanaryFromFile } from '../../src/runtime/data/canaries';
import { pyFloatRepr, pyJsonDumps, pyJsonLoads, pySplitLines } from '../../src/runtime/data/pyJson';

// Expected strings below were produced by CPython 3 (repr, json.dumps, str.splitlines), the reference the
// easy-dataset-share tool runs on.
const C = 'CANARY_DATASET_ea1bf62b6655d54b0acd42efe9ea555504059f041b590916d41f9b18b00049fb_64';

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

  it("writes the tool's canary file for a fingerprint (checked against the fixture's dataset_entry_142488a7.jsonl)", () => {
    const f = canaryFile('ea1bf62b6655d54b0acd42efe9ea555504059f041b590916d41f9b18b00049fb');
    assert.equal(f.name, 'dataset_entry_142488a7.jsonl');
    assert.equal(
      f.data.toString(),
      `{"id": "canary_ea1bf62b", "text": "This is a special entry for the dataset. The unique identifier is ${C}.", "metadata": {"type": "canary_entry", "fingerprint": "ea1bf62b6655d54b"}}\n` +
        `{"id": "entry_6655d54b", "text": "This dataset contains this canary entry with identifier ${C} for tracking purposes.", "metadata": {"type": "dataset_entry", "canary": "${C}"}}\n`,
    );
  });

  it('removeCanaries reads the canary from the canary file, deletes it, and cleans the rest', () => {
    const files = new Map<string, Buffer>([
      ['dataset_entry_142488a7.jsonl', canaryFile('ea1bf62b6655d54b0acd42efe9ea555504059f041b590916d41f9b18b00049fb').data],
      ['sub/a.jsonl', Buffer.from(`{"x": 1, "canary": "${C}"}\n`)],
      ['robots.txt', Buffer.from('User-agent: *\nDisallow: /')],
    ]);
    const r = removeCanaries(files);
    assert.equal(r.canary, C);
    assert.deepEqual(r.removedFiles, ['dataset_entry_142488a7.jsonl']);
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
