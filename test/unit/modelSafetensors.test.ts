import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16ToFloat, convertTensor, floatToBf16, floatToHalf, halfToFloat } from '../../src/runtime/model/hostTensor';
import { toHfConfigJson, llamaTensorShapes } from '../../src/runtime/model/llamaConfig';
import { openModelFolder } from '../../src/runtime/model/modelFolder';
import { SafetensorsFile, writeSafetensors } from '../../src/runtime/model/safetensors';
import { randomWeights, tinyConfig } from '../support/llamaFixtures';

/** A safetensors file written by hand (independent of the writer): header JSON + raw bytes. */
function handWritten(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'none';
  }
  return 'no error';
}

describe('safetensors', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emlab-st-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a hand-written file: F32, F16 and BF16 values, shapes, metadata', () => {
    const f32 = Float32Array.from([1.5, -2, 3.25, 0]);
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3555]); // 1, -2, 0.33325
    const bf16 = Uint16Array.from([0x3f80, 0x4049]); // 1, 3.140625
    const data = Buffer.concat([Buffer.from(f32.buffer), Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]);
    const path = join(dir, 'a.safetensors');
    writeFileSync(path, handWritten({
      __metadata__: { format: 'pt' },
      w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      h: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
      b: { dtype: 'BF16', shape: [1, 2], data_offsets: [22, 26] },
    }, data));
    const f = SafetensorsFile.open(path);
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual(Array.from(f.read('w').data), [1.5, -2, 3.25, 0]);
    assert.deepEqual(f.read('w').shape, [2, 2]);
    assert.deepEqual(Array.from(convertTensor(f.read('h'), 'float32').data), [1, -2, Math.fround(0.33325195)]);
    assert.deepEqual(Array.from(convertTensor(f.read('b'), 'float64').data), [1, 3.140625]);
    f.close();
  });

  it('round-trips through the writer, in every float type (F16/BF16 rounding to nearest)', () => {
    const values = Float32Array.from([0, 1, -1, 0.1, 65504, 1e-7, -3.3e5]);
    const path = join(dir, 'rt.safetensors');
    writeSafetensors(path, [
      { name: 'f32', dtype: 'F32', shape: [7], data: values },
      { name: 'f16', dtype: 'F16', shape: [7], data: Uint16Array.from(values, floatToHalf) },
      { name: 'bf16', dtype: 'BF16', shape: [7], data: () => Uint16Array.from(values, floatToBf16) },
    ], { note: 'x' });
    const bytes = readFileSync(path);
    assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0, 'data section is 8-byte aligned');
    const f = SafetensorsFile.open(path);
    assert.deepEqual(f.read('f32').data, values);
    const h = Array.from(f.read('f16').data, halfToFloat);
    assert.equal(h[3], 0.0999755859375);
    assert.equal(h[4], 65504);
    assert.equal(h[6], -Infinity); // beyond fp16 range
    const b = Array.from(f.read('bf16').data, bf16ToFloat);
    assert.equal(b[3], 0.10009765625);
    assert.ok(Math.abs(b[6]! / -3.3e5 - 1) < 4e-3);
    f.close();
  });

  it('rejects truncated files, out-of-range offsets, shape/dtype mismatches and bad headers with their own codes', () => {
    const good = handWritten({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] } }, new Uint8Array(24));
    const write = (name: string, buf: Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, buf);
      return p;
    };
    const truncated = write('t.safetensors', good);
    truncateSync(truncated, good.length - 5);
    assert.equal(codeOf(() => SafetensorsFile.open(truncated)), 'safetensors-truncated');
    assert.equal(codeOf(() => SafetensorsFile.open(write('tiny.safetensors', Buffer.from([1, 2, 3])))), 'safetensors-truncated');
    assert.equal(codeOf(() => SafetensorsFile.open(write('hdr.safetensors', good.subarray(0, 20)))), 'safetensors-truncated');
    const outOfRange = handWritten({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [96, 104] } }, new Uint8Array(24));
    assert.equal(codeOf(() => SafetensorsFile.open(write('o.safetensors', outOfRange))), 'safetensors-offset-out-of-range');
    const mismatch = handWritten({ a: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } }, new Uint8Array(16));
    assert.equal(codeOf(() => SafetensorsFile.open(write('m.safetensors', mismatch))), 'safetensors-shape-mismatch');
    const dtype = handWritten({ a: { dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] } }, new Uint8Array(16));
    assert.equal(codeOf(() => SafetensorsFile.open(write('d.safetensors', dtype))), 'safetensors-dtype-unsupported');
    const badJson = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{oops')]);
    assert.equal(codeOf(() => SafetensorsFile.open(write('j.safetensors', badJson))), 'safetensors-header-invalid');
    // Messages say what to do.
    assert.throws(() => SafetensorsFile.open(truncated), /interrupted.*download or write it again/s);
  });
});

describe('model folder', () => {
  let dir: string;
  const cfg = tinyConfig({ tieWordEmbeddings: true });
  const w = randomWeights(cfg, 1);
  const shapes = llamaTensorShapes(cfg);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-mf-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfigJson(cfg)));
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [1, 2] }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const entries = (names: string[]) => names.map((n) => ({ name: n, dtype: 'BF16' as const, shape: shapes.get(n)!, data: Uint16Array.from(w.get(n)!, floatToBf16) }));

  it('opens single-file and sharded checkpoints and reads tensors lazily by name', () => {
    const names = [...shapes.keys()];
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), entries(names.slice(0, 5)));
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), entries(names.slice(5)));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < 5 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const m = openModelFolder(dir);
    assert.deepEqual(m.generationConfig?.eosTokenIds, [1, 2]);
    const last = names[names.length - 1]!;
    const t = convertTensor(m.checkpoint.read(last), 'float64').data;
    assert.equal(t[0], bf16ToFloat(floatToBf16(w.get(last)![0]!)));
    m.checkpoint.close();
  });

  it('missing tokenizer files, missing weights and a config/weights mismatch each get their own error', () => {
    writeSafetensors(join(dir, 'model.safetensors'), entries([...shapes.keys()]));
    rmSync(join(dir, 'tokenizer_config.json'));
    assert.throws(() => openModelFolder(dir), (e: Error & { code?: string }) => e.code === 'model-tokenizer-missing' && /missing tokenizer_config\.json/.test(e.message));
    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfigJson({ ...cfg, intermediateSize: 50 })));
    assert.throws(() => openModelFolder(dir), (e: Error & { code?: string }) => e.code === 'safetensors-shape-mismatch' && /config\.json implies/.test(e.message));
    rmSync(join(dir, 'model.safetensors'));
    assert.throws(() => openModelFolder(dir), (e: Error & { code?: string }) => e.code === 'model-weights-missing');
  });
});
