// Training graphs are cached per key in the shared storage folder; a grid's cells may build the same key at once
// (SLURM tasks on one storage). The first finished build is published, the later ones are dropped and use it, and
// nobody deletes a published folder another trainer may be loading.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishArtifacts } from '../../src/runtime/train/artifacts';

describe('training artifacts: concurrent builds of one key', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'emlab-artifacts-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const build = (name: string, complete: boolean) => {
    const d = join(root, name);
    mkdirSync(d);
    writeFileSync(join(d, 'train.onnx'), name);
    if (complete) writeFileSync(join(d, 'complete.json'), '{}');
    return d;
  };

  it('first build published; a second one finishing later is dropped and the first kept untouched', () => {
    const dir = join(root, 'key');
    assert.equal(publishArtifacts(build('key.tmp-a', true), dir), true);
    assert.equal(publishArtifacts(build('key.tmp-b', true), dir), false);
    assert.equal(readFileSync(join(dir, 'train.onnx'), 'utf8'), 'key.tmp-a');
    assert.ok(!existsSync(join(root, 'key.tmp-b')), 'the losing build is removed');
  });

  it('a folder without complete.json (a crash mid-publish) is replaced', () => {
    const dir = join(root, 'key');
    build('key', false);
    assert.equal(publishArtifacts(build('key.tmp-c', true), dir), true);
    assert.equal(readFileSync(join(dir, 'train.onnx'), 'utf8'), 'key.tmp-c');
  });
});
