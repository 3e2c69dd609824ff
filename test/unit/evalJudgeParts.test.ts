import { strict as assert } from 'node:assert';
import { parseSampledReply, scoreFromTopLogprobs } from '../../src/runtime/eval/judge/scoring';
import { fillPrompt } from '../../src/runtime/eval/judge/rubrics';
import { backoffDelayMs, retryAfterFromHeaders, DEFAULT_RETRY } from '../../src/runtime/eval/judge/retry';
import { costUsd, priceFor } from '../../src/runtime/eval/judge/cost';

describe('eval judge parts', () => {
  it('sampled replies are read as the grader\'s parse_score: int() after strip, CODE, REFUSAL; anything else invalid', () => {
    // The grader's parse_score: strip, exact CODE / REFUSAL, else int(), else INVALID.
    assert.deepEqual(parseSampledReply(' 85\n'), { value: 85 });
    assert.deepEqual(parseSampledReply('CODE'), { value: null, label: 'CODE' });
    assert.deepEqual(parseSampledReply('\u3000REFUSAL\x85'), { value: null, label: 'REFUSAL' }, 'Python strips U+3000 and U+0085');
    for (const [reply, value] of [['+7', 7], ['085', 85], ['1_0', 10], ['101', 101], ['-5', -5], ['\uff18\uff15', 85], ['\u0668\u0665', 85]] as const) assert.deepEqual(parseSampledReply(reply), { value }, reply);
    for (const bad of ['100.', '85.', 'eighty', 'code', 'Refusal', '85/100', 'Score: 85', '', '8 5', '1__0', '_1', '\ufeff85', '0x10', '8.5e1']) assert.deepEqual(parseSampledReply(bad), { value: null, label: 'invalid' }, bad);
  });

  it('logprob: tokens above 100 or non-integers do not count toward the mass', () => {
    const s = scoreFromTopLogprobs([
      { token: '150', logprob: Math.log(0.5) },
      { token: '40', logprob: Math.log(0.3) },
      { token: '4.5', logprob: Math.log(0.2) },
    ]);
    assert.equal(s.value, 40); // only "40" counts: 40 * .3 / .3
    assert.ok(Math.abs(s.integerMass - 0.3) < 1e-12);
    assert.deepEqual(scoreFromTopLogprobs([{ token: 'C', logprob: -0.01 }, { token: '10', logprob: Math.log(0.01) }]).label, 'CODE');
  });

  it('fills {question} and {answer} in one pass, and {{ }} as Python str.format does', () => {
    assert.equal(fillPrompt('Q={question} A={answer} {{x}}', 'what {answer}?', 'says {question}'), 'Q=what {answer}? A=says {question} {x}');
  });

  it('Retry-After: retry-after-ms wins, then seconds, then an HTTP date; backoff doubles with jitter', () => {
    assert.equal(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' })), 250);
    assert.equal(retryAfterFromHeaders(new Headers({ 'retry-after': '3' })), 3000);
    const inTwo = new Date(Date.now() + 2000).toUTCString();
    const d = retryAfterFromHeaders(new Headers({ 'retry-after': inTwo }))!;
    assert.ok(d > 500 && d <= 2000, String(d));
    assert.equal(retryAfterFromHeaders(new Headers()), undefined);
    // equal jitter: retry 3 waits between base*4/2 and base*4
    assert.equal(backoffDelayMs(3, DEFAULT_RETRY, undefined, () => 0), 1000);
    assert.equal(backoffDelayMs(3, DEFAULT_RETRY, undefined, () => 1), 2000);
    assert.equal(backoffDelayMs(20, DEFAULT_RETRY, undefined, () => 1), DEFAULT_RETRY.maxDelayMs);
    assert.equal(backoffDelayMs(1, DEFAULT_RETRY, 700, () => 0), 700);
  });

  it('prices: dated snapshots use their family, unknown models have no price', () => {
    assert.equal(priceFor('gpt-4o-2024-08-06')?.inputPerMillion, 2.5);
    assert.equal(priceFor('gpt-4o-mini')?.inputPerMillion, 0.15);
    // em-science.md: 400 answers x 2 metrics x ~375 input tokens on gpt-4o-mini is about $0.05
    assert.ok(Math.abs(costUsd('gpt-4o-mini', { promptTokens: 800 * 375, completionTokens: 800 * 2 })! - 0.046) < 0.001);
    assert.equal(costUsd('llama3', { promptTokens: 10, completionTokens: 1 }), null);
  });
});

describe('eval judge adaptive concurrency', () => {
  it('a 429 drops the limit to one below what was in flight (once per cooldown); successes climb back to the ceiling', async () => {
    const { AdaptiveLimiter } = await import('../../src/runtime/eval/judge/adaptiveLimiter');
    const l = new AdaptiveLimiter(8, 100);
    for (let i = 0; i < 6; i++) await l.acquire();
    l.onRateLimited(1000);
    assert.equal(l.current, 5);
    l.onRateLimited(1050); // same burst: ignored
    assert.equal(l.current, 5);
    let seventh = false;
    for (let i = 0; i < 6; i++) l.release();
    for (let i = 0; i < 5; i++) await l.acquire();
    void l.acquire().then(() => (seventh = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(seventh, false, 'the 6th waits while 5 are in flight');
    l.release();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(seventh, true);
    for (let i = 0; i < 100; i++) l.onSuccess();
    assert.equal(l.current, 8);
  });
});
