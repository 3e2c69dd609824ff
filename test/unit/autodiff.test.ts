import { strict as assert } from 'node:assert';
import { gradCheck, projectLoss } from '../support/gradCheck';
import { tensor } from '../../src/runtime/onnx/ort';
import { GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { appendGradients } from '../../src/runtime/train/autodiff';

// Every gradient rule against float64 central finite differences (h = 1e-6, so truncation error ~1e-12 and
// rounding ~1e-10 relative): a correct rule lands near 1e-9, a wrong one near 1.
const TOL = 1e-7;

async function check(name: string, run: () => Promise<{ relL2: number }>): Promise<void> {
  const { relL2 } = await run();
  assert.ok(relL2 < TOL, `${name}: relative L2 error ${relL2}`);
}

describe('autodiff: gradient rules vs float64 finite differences', () => {
  it('binary elementwise ops with broadcasting (Add, Sub, Mul, Div, Pow)', async () => {
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
      await check(op, () => gradCheck([{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [3, 1], lo: 0.5, hi: 2 }], (g, [a, b]) => projectLoss(g, g.op(op, [a!, b!]), [2, 3, 4])));
      await check(`${op} rank-broadcast left`, () => gradCheck([{ name: 'a', dims: [4], lo: 0.5, hi: 2 }, { name: 'b', dims: [2, 3, 4], lo: 0.5, hi: 2 }], (g, [a, b]) => projectLoss(g, g.op(op, [a!, b!]), [2, 3, 4])));
    }
    await check('Pow const exponent', () => gradCheck([{ name: 'x', dims: [3, 4], lo: 0.5, hi: 2 }], (g, [x]) => projectLoss(g, g.op('Pow', [x!, g.constFloat(2.5, 'float32')]), [3, 4])));
    await check('Pow both', () => gradCheck([{ name: 'x', dims: [3, 4], lo: 0.5, hi: 2 }, { name: 'p', dims: [4], lo: 0.5, hi: 2 }], (g, [x, p]) => projectLoss(g, g.op('Pow', [x!, p!]), [3, 4])));
  });

  it('unary ops (Neg, Sqrt, Reciprocal, Exp, Log, Sigmoid, Tanh, Identity, Cast)', async () => {
    for (const op of ['Neg', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Sigmoid', 'Tanh', 'Identity']) {
      await check(op, () => gradCheck([{ name: 'x', dims: [2, 5], lo: 0.3, hi: 2 }], (g, [x]) => projectLoss(g, g.op(op, [x!]), [2, 5])));
    }
    // through float32 the differences are only good to ~1e-4 (rounding / h)
    const viaF32 = await gradCheck([{ name: 'x', dims: [6] }], (g, [x]) => projectLoss(g, g.op('Cast', [g.op('Cast', [x!], { to: 1 })], { to: 11 }), [6]), { h: 1e-3 });
    assert.ok(viaF32.relL2 < 1e-3, `Cast: ${viaF32.relL2}`);
  });

  it('matrix products: MatMul (batched, broadcast, frozen right operand) and Gemm (all transposes, alpha, beta)', async () => {
    await check('MatMul 3D x 2D', () => gradCheck([{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [4, 5] }], (g, [a, b]) => projectLoss(g, g.op('MatMul', [a!, b!]), [2, 3, 5])));
    await check('MatMul 4D x 4D', () => gradCheck([{ name: 'a', dims: [2, 2, 3, 4] }, { name: 'b', dims: [2, 2, 4, 3] }], (g, [a, b]) => projectLoss(g, g.op('MatMul', [a!, b!]), [2, 2, 3, 3])));
    await check('MatMul batch-broadcast', () => gradCheck([{ name: 'a', dims: [2, 1, 3, 4] }, { name: 'b', dims: [2, 4, 3] }], (g, [a, b]) => projectLoss(g, g.op('MatMul', [a!, b!]), [2, 2, 3, 3])));
    await check('MatMul frozen W', () => gradCheck([{ name: 'x', dims: [2, 3, 4] }, { name: 'w', dims: [4, 5] }], (g, [x, w]) => projectLoss(g, g.op('MatMul', [x!, w!]), [2, 3, 5]), { onlyGrad: ['x'] }));
    for (const transA of [0, 1]) {
      for (const transB of [0, 1]) {
        await check(`Gemm tA=${transA} tB=${transB}`, () =>
          gradCheck([{ name: 'a', dims: transA ? [4, 3] : [3, 4] }, { name: 'b', dims: transB ? [5, 4] : [4, 5] }, { name: 'c', dims: [5] }], (g, [a, b, c]) =>
            projectLoss(g, g.op('Gemm', [a!, b!, c!], { transA, transB, alpha: { float: 0.7 }, beta: { float: 1.3 } }), [3, 5])));
      }
    }
  });

  it('reductions and the softmax family (ReduceSum, ReduceMean, ReduceSumSquare, Softmax, LogSoftmax)', async () => {
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceSumSquare']) {
      for (const keepdims of [0, 1]) {
        await check(`${op} keepdims=${keepdims}`, () => gradCheck([{ name: 'x', dims: [2, 3, 4] }], (g, [x]) => projectLoss(g, g.op(op, [x!, g.constInt64([-1, 0])], { keepdims }), keepdims ? [1, 3, 1] : [3])));
      }
    }
    await check('ReduceMean all', () => gradCheck([{ name: 'x', dims: [2, 3] }], (g, [x]) => g.op('Mul', [g.op('ReduceMean', [x!], { keepdims: 0 }), g.op('ReduceMean', [x!], { keepdims: 0 })])));
    for (const op of ['Softmax', 'LogSoftmax']) {
      for (const axis of [-1, 1]) await check(`${op} axis ${axis}`, () => gradCheck([{ name: 'x', dims: [2, 3, 4] }], (g, [x]) => projectLoss(g, g.op(op, [x!], { axis }), [2, 3, 4])));
    }
  });

  it('data movement (Reshape, Transpose, Unsqueeze, Squeeze, Concat, Split, Slice, Expand, Where)', async () => {
    await check('Reshape', () => gradCheck([{ name: 'x', dims: [2, 6] }], (g, [x]) => projectLoss(g, g.op('Reshape', [x!, g.constInt64([3, -1, 2])]), [3, 2, 2])));
    await check('Transpose', () => gradCheck([{ name: 'x', dims: [2, 3, 4] }], (g, [x]) => projectLoss(g, g.op('Transpose', [x!], { perm: [2, 0, 1] }), [4, 2, 3])));
    await check('Unsqueeze+Squeeze', () => gradCheck([{ name: 'x', dims: [2, 3] }], (g, [x]) => {
      const u = g.op('Unsqueeze', [x!, g.constInt64([1])]);
      return g.op('Add', [projectLoss(g, u, [2, 1, 3]), projectLoss(g, g.op('Squeeze', [u, g.constInt64([1])]), [2, 3], 9)]);
    }));
    await check('Concat (with the same input twice)', () => gradCheck([{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [2, 2] }], (g, [a, b]) => projectLoss(g, g.op('Concat', [a!, b!, a!], { axis: 1 }), [2, 8])));
    await check('Split, one output unused', () => gradCheck([{ name: 'x', dims: [2, 7] }], (g, [x]) => {
      const [p, , q] = g.node('Split', [x!, g.constInt64([2, 3, 2])], { axis: 1 }, { outputs: 3, outputInfo: [{ shape: [2, 2] }, { shape: [2, 3] }, { shape: [2, 2] }] });
      return g.op('Add', [projectLoss(g, p!, [2, 2]), projectLoss(g, q!, [2, 2], 3)]);
    }));
    await check('Slice (rotate-half style, negative start, open end)', () => gradCheck([{ name: 'x', dims: [2, 3, 8] }], (g, [x]) => {
      const lo = g.op('Slice', [x!, g.constInt64([0]), g.constInt64([4]), g.constInt64([-1])], {}, { outputInfo: [{ shape: [2, 3, 4] }] });
      const hi = g.op('Slice', [x!, g.constInt64([-4]), g.constInt64([2 ** 62]), g.constInt64([2])], {}, { outputInfo: [{ shape: [2, 3, 4] }] });
      const mid = g.op('Slice', [x!, g.constInt64([1, 2]), g.constInt64([3, 5]), g.constInt64([1, 2])]);
      return g.op('Add', [projectLoss(g, g.op('Concat', [g.op('Neg', [hi]), lo], { axis: -1 }), [2, 3, 8]), projectLoss(g, mid, [2, 2, 3], 5)]);
    }));
    await check('Expand', () => gradCheck([{ name: 'x', dims: [3, 1] }], (g, [x]) => projectLoss(g, g.op('Expand', [x!, g.constInt64([2, 3, 4])], {}, { outputInfo: [{ shape: [2, 3, 4] }] }), [2, 3, 4])));
    await check('Where', () => gradCheck([{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }], (g, [a, b]) => {
      const cond = g.initializer('cond', 'bool', [2, 3], Uint8Array.from([1, 0, 1, 0, 0, 1]));
      return projectLoss(g, g.op('Where', [cond, a!, b!]), [2, 3]);
    }));
  });

  it('gathers (embedding Gather with repeated indices, GatherElements) and a masked cross-entropy', async () => {
    const ids = tensor('int64', BigInt64Array.from([1n, 3n, 1n, 0n, 2n, 1n]), [2, 3]);
    await check('Gather', () => gradCheck([{ name: 'emb', dims: [4, 5] }], (g, [emb]) => projectLoss(g, g.op('Gather', [emb!, g.input('ids', 'int64', [2, 3])]), [2, 3, 5]), { feeds: { ids } }));
    // loss = -sum(mask * logsoftmax(z)[target]) / sum(mask), the trainer's masked next-token loss
    await check('masked cross-entropy', () => gradCheck([{ name: 'z', dims: [2, 3, 4] }], (g, [z]) => {
      const t = g.input('ids', 'int64', [2, 3]);
      const mask = g.initializer('mask', 'float64', [2, 3], Float64Array.from([1, 0, 1, 1, 1, 0]));
      const lp = g.op('LogSoftmax', [z!], { axis: -1 });
      const picked = g.op('Squeeze', [g.op('GatherElements', [lp, g.op('Unsqueeze', [t, g.constInt64([-1])])], { axis: 2 }), g.constInt64([-1])]);
      const s = g.op('ReduceSum', [g.op('Mul', [picked, mask])], { keepdims: 0 });
      return g.op('Neg', [g.op('Div', [s, g.op('ReduceSum', [mask], { keepdims: 0 })])]);
    }, { feeds: { ids } }));
  });

  it('skips frozen branches and refuses ops without a rule or a loss that does not depend on the parameters', () => {
    const g = new GraphBuilder('frozen');
    const x = g.input('x', 'float32', [2, 4]);
    const a = g.input('a', 'float32', [4, 2]);
    const w = g.initializer('w', 'float32', [4, 4], new Float32Array(16));
    const h = g.op('MatMul', [x, w]); // frozen path: no gradient work
    const y = g.op('Add', [h, g.op('MatMul', [x, g.op('MatMul', [a, g.op('Transpose', [a])])])]);
    const loss = g.op('ReduceSum', [y], { keepdims: 0 });
    const before = g.nodes.length;
    const { visited } = appendGradients(g, loss, [a]);
    assert.ok(!visited.includes(g.nodes.find((n) => n.outputs[0] === h.name)!.name), 'the frozen MatMul is not visited');
    assert.ok(g.nodes.slice(before).every((n) => !n.inputs.includes('w')), 'no backward node reads the frozen weight');
    const g2 = new GraphBuilder('norule');
    const p = g2.input('p', 'float32', [3]);
    const l2 = g2.op('ReduceSum', [g2.op('Erf', [p])], { keepdims: 0 });
    assert.throws(() => appendGradients(g2, l2, [p]), /no gradient rule for Erf/);
    const q = g2.input('q', 'float32', [3]);
    assert.throws(() => appendGradients(g2, l2, [q]), /does not depend/);
  });
});
