import { strict as assert } from 'node:assert';
import { mkdtempSync, existsSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, GraphBuildError } from '../../src/runtime/onnx/graphBuilder';
import { saveModel, toModelBytes } from '../../src/runtime/onnx/serialize';
import { createSession, tensor } from '../../src/runtime/onnx/ort';

// Reference: y = softmax(x @ W + b) computed in float64 by hand.
function reference(x: number[][], w: number[][], b: number[]): number[][] {
  return x.map((row) => {
    const z = w[0]!.map((_, j) => row.reduce((s, xv, k) => s + xv * w[k]![j]!, 0) + b[j]!);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((p, v) => p + v, 0);
    return e.map((v) => v / s);
  });
}

function buildSoftmaxLinear(): { g: GraphBuilder; w: number[][]; b: number[] } {
  const w = [[0.5, -1, 2], [1.5, 0.25, -0.5]];
  const b = [0.1, -0.2, 0.3];
  const g = new GraphBuilder('linear');
  const x = g.input('x', 'float32', ['n', 2]);
  const W = g.initializer('W', 'float32', [2, 3], Float32Array.from(w.flat()));
  const B = g.initializer('B', 'float32', [3], Float32Array.from(b));
  const z = g.op('Add', [g.op('MatMul', [x, W]), B]);
  assert.deepEqual(z.shape, ['n', 3]);
  g.output(g.op('Softmax', [z], { axis: -1 }), 'y');
  return { g, w, b };
}

describe('ONNX graph builder', () => {
  it('builds a graph that onnxruntime runs, matching a float64 reference', async () => {
    const { g, w, b } = buildSoftmaxLinear();
    const { session } = await createSession(toModelBytes(g));
    const x = [[1, 2], [-0.5, 0.75]];
    const out = await session.run({ x: tensor('float32', Float32Array.from(x.flat()), [2, 2]) });
    const y = out.y!.data as Float32Array;
    const ref = reference(x, w, b).flat();
    ref.forEach((r, i) => assert.ok(Math.abs(r - y[i]!) < 1e-6, `y[${i}]=${y[i]} vs ${r}`));
  });

  it('writes model.onnx + model.onnx_data and loads weights from the external file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-gb-'));
    try {
      const { g, w, b } = buildSoftmaxLinear();
      const { dataPath, dataBytes } = saveModel(g, join(dir, 'model.onnx'), { externalThreshold: 8 });
      assert.ok(dataPath && existsSync(dataPath));
      assert.ok(dataBytes >= 24 + 12, `external bytes ${dataBytes}`);
      assert.ok(statSync(join(dir, 'model.onnx')).size < 1000);
      const { session } = await createSession(join(dir, 'model.onnx'));
      const out = await session.run({ x: tensor('float32', Float32Array.from([1, 2]), [1, 2]) });
      const ref = reference([[1, 2]], w, b)[0]!;
      ref.forEach((r, i) => assert.ok(Math.abs(r - (out.y!.data as Float32Array)[i]!) < 1e-6));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects mismatched shapes, dtypes and byte counts when the graph is built', () => {
    const g = new GraphBuilder('bad');
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    const c = g.input('c', 'int64', [2, 3]);
    assert.throws(() => g.op('MatMul', [a, b]), (e: Error) => e instanceof GraphBuildError && /inner dims differ/.test(e.message));
    assert.throws(() => g.op('Add', [a, c]), /different dtypes/);
    assert.throws(() => g.op('Add', [a, b]), /cannot broadcast/);
    assert.throws(() => g.initializer('w', 'float32', [2, 2], new Float32Array(3)), /needs 16 bytes, got 12/);
    assert.throws(() => g.input('a', 'float32', [1]), /defined twice/);
    const r = g.op('Reshape', [a, g.constInt64([3, -1])]);
    assert.deepEqual(r.shape, [3, 2]);
    assert.throws(() => g.op('Reshape', [a, g.constInt64([4, 2])]), /6 elements.*8 elements/);
  });

  it('supports Loop bodies that read outer values (implicit capture)', async () => {
    // Sums W into an accumulator `trips` times: acc_k = acc_{k-1} + W.
    const g = new GraphBuilder('loop', [{ domain: '', version: 21 }]);
    const trips = g.input('trips', 'int64', []);
    const acc0 = g.input('acc0', 'float32', [2]);
    const W = g.initializer('W', 'float32', [2], Float32Array.from([1.5, -2]));
    const body = g.subgraph('body');
    body.input('iter', 'int64', []);
    const cond = body.input('cond_in', 'bool', []);
    const acc = body.input('acc_in', 'float32', [2]);
    body.output(body.op('Identity', [cond]), 'cond_out');
    body.output(body.op('Add', [acc, W]), 'acc_out');
    const [out] = g.node('Loop', [trips, undefined, acc0], { body: { graph: body } }, { outputs: ['acc'], outputInfo: [{ dtype: 'float32', shape: [2] }] });
    g.output(out!);
    const { session } = await createSession(toModelBytes(g));
    const res = await session.run({ trips: tensor('int64', BigInt64Array.from([3n]), []), acc0: tensor('float32', Float32Array.from([0, 1]), [2]) });
    assert.deepEqual(Array.from(res.acc!.data as Float32Array), [4.5, -5]);
  });
});
