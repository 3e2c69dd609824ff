// LoRA dropout (PEFT: B·A·dropout(x), an independent mask per adapted module) inside the train-step graph, with
// masks that are a pure function of (seed, optimizer step, micro-batch, module, element index). ONNX's Dropout and
// RandomUniform draw from a generator seeded once per session, so a resumed run would get different masks; this
// counter-based hash makes a resumed run bit-identical to an uninterrupted one.
//
// Hash: exact int64 arithmetic modulo the prime P = 2^31 - 1 (operands stay below 2^31, products below 2^62, so
// nothing overflows): h0 = (index + seed) mod P, then three rounds h = ((h·h mod P) + c_k)·a_k mod P. The masked
// element is kept when h / P < 1 - p, and kept values are scaled by 1/(1-p) as torch.nn.Dropout does.
import type { GraphBuilder, Value } from '../onnx/graphBuilder';

export const HASH_PRIME = 2147483647;
const ROUNDS: [number, number][] = [[1013904223, 48271], [1664525, 69621], [22695477, 16807]];

/** The same hash in JS (BigInt), for tests and references. */
export function dropoutHash(index: number, seed: number): number {
  const P = BigInt(HASH_PRIME);
  let h = (BigInt(index) + BigInt(seed)) % P;
  for (const [c, a] of ROUNDS) h = ((((h * h) % P) + BigInt(c)) * BigInt(a)) % P;
  return Number(h) / HASH_PRIME;
}

/** The per-step seed the graph gets: a hash of the run seed and the optimizer step, below P. */
export function stepDropoutSeed(runSeed: number, step: number): number {
  return Math.floor(dropoutHash(step * 7919 + 17, runSeed % HASH_PRIME) * (HASH_PRIME - 1));
}

/**
 * Inserts dropout on the input of every LoRA down-projection (Gemm(x, A) with A one of `loraA`) in `g`, placing
 * the new nodes right before the Gemm so the node list stays topologically ordered (autodiff relies on it).
 * `seed` is an int64 scalar in [0, P) that differs per micro-batch.
 */
export function insertLoraDropout(g: GraphBuilder, loraA: Set<string>, seed: Value, p: number, dtype: 'float32' | 'float64'): number {
  const P = g.constInt64(HASH_PRIME);
  const i64 = (x: number) => g.constInt64(x);
  const keep = g.constFloat(1 - p, dtype);
  const scale = g.constFloat(1 / (1 - p), dtype);
  let inserted = 0;
  const targets = g.nodes.filter((n) => n.op === 'Gemm' && loraA.has(n.inputs[1] ?? ''));
  for (const [k, gemm] of targets.entries()) {
    const x = g.value(gemm.inputs[0]!);
    const before = g.nodes.length;
    const shape = g.op('Shape', [x]);
    const size = g.op('ReduceProd', [shape], { keepdims: 0 }, { outputInfo: [{ dtype: 'int64', shape: [] }] });
    const index = g.op('Reshape', [g.op('Range', [i64(0), size, i64(1)], {}, { outputInfo: [{ dtype: 'int64', shape: ['n'] }] }), shape], {}, { outputInfo: [{ shape: x.shape }] });
    // a different stream per module: offset the seed by a module constant (mod P)
    const moduleSeed = g.op('Mod', [g.op('Add', [seed, i64((k + 1) * 104729)]), P]);
    let h = g.op('Mod', [g.op('Add', [index, moduleSeed]), P]);
    for (const [c, a] of ROUNDS) h = g.op('Mod', [g.op('Mul', [g.op('Add', [g.op('Mod', [g.op('Mul', [h, h]), P]), i64(c)]), i64(a)]), P]);
    const u = g.op('Div', [g.op('Cast', [h], { to: dtype === 'float64' ? 11 : 1 }), g.constFloat(HASH_PRIME, dtype)]);
    const mask = g.op('Cast', [g.op('Less', [u, keep])], { to: dtype === 'float64' ? 11 : 1 });
    // Mod is outside the builder's shape rules: state the shapes so autodiff knows them
    const scaledMask = g.op('Mul', [mask, scale], {}, { outputInfo: [{ shape: x.shape }] });
    const dropped = g.op('Mul', [x, scaledMask], {}, { outputInfo: [{ shape: x.shape }] });
    const created = g.nodes.splice(before);
    const at = g.nodes.indexOf(gemm);
    g.nodes.splice(at, 0, ...created);
    gemm.inputs[0] = dropped.name;
    inserted++;
  }
  return inserted;
}
