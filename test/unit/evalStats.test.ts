import { strict as assert } from 'node:assert';
import { erfc, twoProportionZTest, wilsonInterval } from '../../src/runtime/eval/stats';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('eval stats', () => {
  it('Wilson intervals match Newcombe (1998), Table I, method 3', () => {
    // Published to 4 decimals: 81/263, 15/148, 0/20, 1/29.
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0.0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, lo, hi] of cases) {
      const ci = wilsonInterval(k, n);
      close(ci.low, lo, 6e-5);
      close(ci.high, hi, 6e-5);
    }
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  });

  it('erfc gives the normal tail at the familiar critical values', () => {
    close(erfc(1.959963984540054 / Math.SQRT2), 0.05, 1e-7);
    close(erfc(2.5758293035489 / Math.SQRT2), 0.01, 1e-8);
    close(erfc(0), 1, 1e-7);
    close(erfc(-1), 2 - 0.157299207, 1e-7);
  });

  it('two-proportion z-test: 0/20 vs 9/20 by hand', () => {
    // pooled p = 9/40 = 0.225; se = sqrt(0.225 * 0.775 * (1/20 + 1/20)) = 0.132051; z = 0.45 / se = 3.40777
    const t = twoProportionZTest(0, 20, 9, 20)!;
    close(t.difference, 0.45, 1e-12);
    close(t.z, 3.40777, 1e-4);
    close(t.pValue, 0.000655, 3e-6);
    assert.deepEqual(twoProportionZTest(0, 20, 0, 20), { difference: 0, z: 0, pValue: 1 });
    assert.equal(twoProportionZTest(0, 0, 1, 2), undefined);
  });
});
