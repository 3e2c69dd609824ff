// The host's webview channel (src/host/viewChannel.ts): every view's requests are untrusted, parsed before they
// run, answered in the rpc.ts envelope; a handler table that misses a method (or adds one) does not compile.
import { strict as assert } from 'node:assert';
import type { RpcMessage, RpcResponse } from '../../src/protocol/rpc';
import { ViewChannel, ViewRequestError, type ViewHandlers } from '../../src/host/viewChannel';
import { int, noParams, obj, oneOf } from '../../src/host/viewParams';

interface TestMethods {
  'test/add': [{ a: number; b: number }, { sum: number }];
  'test/mode': [{ mode: 'fast' | 'slow' }, string];
  'test/fail': [Record<string, never>, null];
}
interface TestNotifications {
  'test/tick': { n: number };
}

const handlers: ViewHandlers<TestMethods> = {
  'test/add': { parse: (raw) => ({ a: int(obj(raw).a, 'a', 0, 100), b: int(obj(raw).b, 'b', 0, 100) }), run: ({ a, b }) => ({ sum: a + b }) },
  'test/mode': { parse: (raw) => ({ mode: oneOf(obj(raw).mode, 'mode', ['fast', 'slow'] as const) }), run: async ({ mode }) => `ran ${mode}` },
  'test/fail': {
    parse: noParams,
    run: () => {
      throw Object.assign(new Error('the runtime is gone'), { code: 'runtime-crashed' });
    },
  },
};

// Compile-time checks (tsc -p tsconfig.json runs over test/unit): each directive below must still be an error.
// @ts-expect-error a table without 'test/fail' is not a ViewHandlers<TestMethods>
const missing: ViewHandlers<TestMethods> = { 'test/add': handlers['test/add'], 'test/mode': handlers['test/mode'] };
const extra: ViewHandlers<TestMethods> = {
  ...handlers,
  // @ts-expect-error a method the view does not declare
  'test/unknown': { parse: noParams, run: () => null },
};
// @ts-expect-error a handler whose result has the wrong type
const wrongResult: ViewHandlers<TestMethods> = { ...handlers, 'test/add': { parse: handlers['test/add'].parse, run: () => ({ total: 1 }) } };
void [missing, extra, wrongResult];

function channel() {
  const sent: RpcMessage[] = [];
  const logged: string[] = [];
  const ch = new ViewChannel<TestMethods, TestNotifications>(handlers, { post: (m) => sent.push(m), log: (level, m) => logged.push(`${level}: ${m}`) });
  const ask = async (method: string, params?: unknown, id = 7) => {
    await ch.receive({ kind: 'request', id, method, params });
    return sent.at(-1) as RpcResponse;
  };
  return { ch, sent, logged, ask };
}

describe('webview channel (host side)', () => {
  it('runs the handler with the parsed params and answers with the same id', async () => {
    const { ask } = channel();
    assert.deepEqual(await ask('test/add', { a: 2, b: 40, extra: 'dropped' }, 41), { kind: 'response', id: 41, result: { sum: 42 } });
    assert.deepEqual(await ask('test/mode', { mode: 'slow' }), { kind: 'response', id: 7, result: 'ran slow' });
  });

  it('refuses a bad shape as bad-request, naming the field, without running anything', async () => {
    const { ask } = channel();
    assert.deepEqual(await ask('test/add', { a: 2, b: 1000 }), { kind: 'response', id: 7, error: { code: 'bad-request', message: 'b must be a whole number in [0, 100]' } });
    assert.deepEqual((await ask('test/mode', { mode: 'reckless' })).error, { code: 'bad-request', message: 'mode must be one of fast, slow' });
    assert.deepEqual((await ask('test/add', 'not an object')).error, { code: 'bad-request', message: 'params must be an object' });
  });

  it('answers unknown methods (including Object.prototype names) with bad-request', async () => {
    const { ask } = channel();
    for (const method of ['test/nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const r = await ask(method, {});
      assert.equal(r.error?.code, 'bad-request', method);
      assert.equal(r.error?.message, `Unknown request ${method}.`);
    }
  });

  it('passes a handler error on with its code, and logs it', async () => {
    const { ask, logged } = channel();
    assert.deepEqual((await ask('test/fail', {})).error, { code: 'runtime-crashed', message: 'the runtime is gone' });
    assert.deepEqual(logged, ['warn: test/fail failed: the runtime is gone']);
  });

  it('drops what is not a request (no answer), and sends notifications in the envelope', async () => {
    const { ch, sent, logged } = channel();
    for (const junk of [null, 'hi', { kind: 'request', id: 'x', method: 'test/add' }, { kind: 'response', id: 1 }, { kind: 'request', id: 1.5, method: 'test/add' }]) await ch.receive(junk);
    assert.equal(sent.length, 0);
    assert.equal(logged.length, 5);
    ch.notify('test/tick', { n: 3 });
    assert.deepEqual(sent, [{ kind: 'notification', method: 'test/tick', params: { n: 3 } }]);
  });

  it('ViewRequestError carries the bad-request code', () => {
    assert.equal(new ViewRequestError('x').code, 'bad-request');
  });
});
