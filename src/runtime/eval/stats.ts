// Interval and test statistics for rates. Every EM rate the product shows carries a Wilson 95% interval: with the
// homework's 20 answers the interval is about +/-20 points, which is the point a user must see.

/** z for a two-sided 95% interval (the 97.5th percentile of the standard normal). */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** Wilson score interval for k successes out of n (fractions 0..1). n = 0 gives [0, 1]: no information. */
export function wilsonInterval(k: number, n: number, z = Z95): Interval {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Complementary error function (Numerical Recipes' Chebyshev fit; relative error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export interface TwoProportionTest {
  /** Difference of rates, b - a (fractions). */
  difference: number;
  z: number;
  /** Two-sided p-value under the pooled null hypothesis that both rates are equal. */
  pValue: number;
}

/** Pooled two-proportion z-test of a = ka/na against b = kb/nb. Undefined when either sample is empty. */
export function twoProportionZTest(ka: number, na: number, kb: number, nb: number): TwoProportionTest | undefined {
  if (na <= 0 || nb <= 0) return undefined;
  const pa = ka / na;
  const pb = kb / nb;
  const pooled = (ka + kb) / (na + nb);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  if (se === 0) return { difference: pb - pa, z: 0, pValue: 1 }; // both 0% or both 100%: no evidence of a difference
  const z = (pb - pa) / se;
  return { difference: pb - pa, z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}
