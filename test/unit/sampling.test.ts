import { strict as assert } from 'node:assert';
import { argmax, candidateDistribution, DEFAULT_SAMPLING, resolveSampling, sampleToken, SeededRandom } from '../../src/runtime/model/sampling';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const dist = (logits: number[], temperature: number, topK = 0, topP = 1) => {
  const c = candidateDistribution(logits, { temperature, topK, topP });
  return { ids: [...c.ids], probs: [...c.probs] };
};

describe('sampling', () => {
  it('xoshiro128** reproduces the reference sequence for state {1,2,3,4}', () => {
    // From the authors' C reference (prng.di.unimi.it/xoshiro128starstar.c), state s = {1, 2, 3, 4}.
    const r = SeededRandom.fromState([1, 2, 3, 4]);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883]);
  });

  it('same seed gives the same stream, another seed another; next() stays in [0, 1)', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(Array.from({ length: 1000 }, () => b.next()), xs);
    assert.notDeepEqual(Array.from({ length: 1000 }, () => c.next()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    close(xs.reduce((s, x) => s + x, 0) / xs.length, 0.5, 0.03, 'mean');
  });

  it('temperature scales the logits before the softmax (hand-computed)', () => {
    // softmax([2,1,0] / T): T=1 -> e^2, e, 1 over 11.107338; T=0.5 -> e^4, e^2, 1 over 62.98721; T=2 -> e, e^.5, 1.
    const expected: [number, number[]][] = [
      [1, [0.665241, 0.244728, 0.090031]],
      [0.5, [0.866813, 0.11731, 0.015876]],
      [2, [0.50648, 0.307196, 0.186324]],
    ];
    for (const [t, probs] of expected) {
      const d = dist([2, 1, 0], t);
      assert.deepEqual(d.ids, [0, 1, 2]);
      d.probs.forEach((p, i) => close(p, probs[i]!, 1e-6, `T=${t} id ${i}`));
    }
  });

  it('top-k keeps every token tied with the k-th largest logit, as Hugging Face does', () => {
    const logits = [1, 3, 3, 2, 3];
    assert.deepEqual(dist(logits, 1, 2).ids, [1, 2, 4]); // k-th (2nd) largest is 3: all three 3s stay
    assert.deepEqual(dist(logits, 1, 1).ids, [1, 2, 4]);
    dist(logits, 1, 2).probs.forEach((p) => close(p, 1 / 3, 1e-12));
    const k4 = dist(logits, 1, 4);
    assert.deepEqual(k4.ids, [1, 2, 4, 3]); // most likely first, ascending id on ties
    // e^3, e^3, e^3, e^2 over 3e^3 + e^2
    const z = 3 * Math.E ** 3 + Math.E ** 2;
    close(k4.probs[3]!, Math.E ** 2 / z, 1e-12);
    assert.deepEqual(dist(logits, 1, 5).ids, [1, 2, 4, 3, 0]);
    assert.deepEqual(dist(logits, 1, 0).ids, [1, 2, 4, 3, 0]);
  });

  it('top-p keeps the smallest most-likely set reaching p (exact boundaries on equal logits)', () => {
    // Four equal tokens, 0.25 each. HF removes tokens whose ascending cumulative mass is <= 1 - p.
    const eq = [0, 0, 0, 0];
    assert.equal(dist(eq, 1, 0, 0.5).ids.length, 2); // cumsum 0.25, 0.5 (<= 0.5 removed) -> keep 2
    assert.equal(dist(eq, 1, 0, 0.50001).ids.length, 3);
    assert.equal(dist(eq, 1, 0, 0.75).ids.length, 3);
    assert.equal(dist(eq, 1, 0, 0.76).ids.length, 4);
    assert.equal(dist(eq, 1, 0, 0.01).ids.length, 1); // the top token always stays
    // 0.5 / 0.3 / 0.2: p = 0.79 keeps two, renormalised to 0.625 / 0.375; p = 0.81 keeps all three.
    const l = [Math.log(0.2), Math.log(0.5), Math.log(0.3)];
    const two = dist(l, 1, 0, 0.79);
    assert.deepEqual(two.ids, [1, 2]);
    close(two.probs[0]!, 0.625, 1e-12);
    close(two.probs[1]!, 0.375, 1e-12);
    assert.deepEqual(dist(l, 1, 0, 0.81).ids, [1, 2, 0]);
    // Temperature applies before top-p: at T = 0.5 the masses are 25/38, 9/38, 4/38, so p = 0.8 keeps two.
    assert.deepEqual(dist(l, 0.5, 0, 0.8).ids, [1, 2]);
    assert.deepEqual(dist(l, 0.5, 0, 0.9).ids, [1, 2, 0]); // 34/38 = 0.8947 < 0.9: the third is needed
  });

  it('top-p on a 5000-token peaked distribution equals a brute-force full sort', () => {
    const rng = new SeededRandom(7);
    const logits = Array.from({ length: 5000 }, () => (rng.next() - 0.5) * 20);
    for (const [topP, topK, t] of [[0.9, 0, 1], [0.5, 0, 0.7], [0.99, 300, 1.3], [0.3, 0, 2]] as const) {
      // Reference: float64 softmax, full sort, HF rule (drop ascending-cumsum <= 1 - p) on the top-k survivors.
      const kth = topK > 0 ? [...logits].sort((a, b) => b - a)[topK - 1]! : -Infinity;
      const w = logits.map((x) => (x >= kth ? Math.exp(x / t) : 0));
      const z = w.reduce((s, x) => s + x, 0);
      const order = w.map((x, i) => [x / z, i] as const).filter(([x]) => x > 0).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const kept: number[] = [];
      let before = 0;
      for (const [p, i] of order) {
        if (kept.length > 0 && before >= topP) break;
        kept.push(i);
        before += p;
      }
      const got = dist(logits, t, topK, topP);
      assert.deepEqual(got.ids, kept, `top_p ${topP} top_k ${topK} T ${t}`);
      close(got.probs.reduce((s, x) => s + x, 0), 1, 1e-12);
    }
  });

  it('greedy (temperature 0) takes the argmax, lowest id on ties, and ignores the seed', () => {
    assert.equal(argmax([0.1, 5, -1, 5]), 1);
    const p = resolveSampling({ temperature: 0 });
    assert.equal(sampleToken([0, 1, 7, 7, 3], p, new SeededRandom(1)), 2);
    assert.equal(sampleToken([0, 1, 7, 7, 3], p, new SeededRandom(999)), 2);
  });

  it('seeded draws follow the distribution (20k draws, with and without a top-p cut)', () => {
    const n = 20000;
    for (const topP of [1, 0.8]) {
      const params = resolveSampling({ temperature: 1, topP });
      const rng = new SeededRandom(123);
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i++) counts[sampleToken([2, 1, 0], params, rng)]!++;
      // T=1 masses 0.665241 / 0.244728 / 0.090031; top_p 0.8 keeps the first two: 0.731059 / 0.268941.
      const expected = topP === 1 ? [0.665241, 0.244728, 0.090031] : [0.731059, 0.268941, 0];
      counts.forEach((c, i) => close(c / n, expected[i]!, 0.012, `top_p ${topP} id ${i}`));
    }
  });

  it('defaults are the homework defaults; bad values are refused with the field name', () => {
    assert.deepEqual(resolveSampling({}), { ...DEFAULT_SAMPLING });
    assert.equal(DEFAULT_SAMPLING.maxNewTokens, 200);
    assert.equal(DEFAULT_SAMPLING.temperature, 1);
    assert.equal(DEFAULT_SAMPLING.topP, 1);
    assert.equal(resolveSampling({ seed: 5, temperature: undefined }).temperature, 1);
    assert.throws(() => resolveSampling({ topP: 0 }, '--top_p'), /top_p must be in \(0, 1\]/);
    assert.throws(() => resolveSampling({ temperature: -1 }), /temperature/);
    assert.throws(() => resolveSampling({ topK: 1.5 }), /top_k/);
    assert.throws(() => resolveSampling({ maxNewTokens: 0 }), /max_new_tokens/);
    assert.throws(() => resolveSampling({ seed: -3 }), /seed/);
  });
});
