// Forks the REAL built runtime (dist/runtime.mjs; `npm test` builds first) over real IPC through the host's
// RuntimeConnection: handshake, requests, concurrency, progress, cancel, timeout, protocol mismatch, crash with the
// stderr tail, capped restart, stop and dispose.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeConnection, type ConnectionOptions, type RuntimeExit } from '../../src/host/runtimeConnection';
import { RuntimeRequestError } from '../../src/host/runtimeErrors';
import { buildRuntimeEnv } from '../../src/host/runtimeEnv';
import { PROTOCOL_VERSION } from '../../src/protocol/rpc';

const runtimePath = join(__dirname, '..', '..', 'dist', 'runtime.mjs');

function connect(extra: Partial<ConnectionOptions> = {}): RuntimeConnection {
  return new RuntimeConnection({ runtimePath, handshakeTimeoutMs: 15_000, restartDelayMs: 50, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<RuntimeRequestError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RuntimeRequestError, `expected RuntimeRequestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the promise to reject');
}

function nextExit(c: RuntimeConnection): Promise<RuntimeExit> {
  return new Promise((resolve) => {
    const off = c.onExit((e) => {
      off();
      resolve(e);
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Generous: the 2-core dev machine runs several test suites at once (load average above 10), and forking plus the
// handshake can take seconds there. Waiting ends as soon as the condition holds.
async function waitFor(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runtime process (real dist/runtime.mjs over IPC)', function () {
  this.timeout(30_000);
  const open: RuntimeConnection[] = [];
  const make = (extra: Partial<ConnectionOptions> = {}) => {
    const c = connect(extra);
    open.push(c);
    return c;
  };

  before(function () {
    if (!existsSync(runtimePath)) assert.fail(`${runtimePath} is missing: run \`npm run build\` first (npm test does).`);
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.dispose();
  });

  it('answers the handshake with its protocol version and pid, then serves requests (typed arrays intact)', async () => {
    const c = make();
    assert.equal(c.state, 'stopped');
    const info = await c.start();
    assert.equal(info.protocolVersion, PROTOCOL_VERSION);
    assert.ok(info.pid > 0 && info.pid !== process.pid);
    assert.equal(c.state, 'idle');
    const { value } = await c.request('debug/echo', { value: { a: [1, 'two'], f: new Float32Array([0.5, -2]) } });
    assert.deepEqual(value, { a: [1, 'two'], f: new Float32Array([0.5, -2]) });
  });

  it('starts lazily on the first request, once, even for concurrent callers', async () => {
    const c = make();
    const results = await Promise.all([1, 2, 3].map((v) => c.request('debug/echo', { value: v })));
    assert.deepEqual(results.map((r) => r.value), [1, 2, 3]);
    const pids = new Set(await Promise.all([0, 1].map(async () => (await c.start()).pid)));
    assert.equal(pids.size, 1);
  });

  it('runs requests concurrently: a quick one answers while a long one is still running', async () => {
    const c = make();
    await c.start();
    // No timing: the long request is still pending when the quick one answers, whatever the machine's load.
    const ac = new AbortController();
    let slowSettled = false;
    const slow = c.request('debug/sleep', { ms: 60_000 }, { signal: ac.signal }).finally(() => (slowSettled = true));
    await waitFor(() => c.state === 'busy');
    const echo = await c.request('debug/echo', { value: 1 });
    assert.equal(echo.value, 1);
    assert.equal(slowSettled, false);
    assert.equal(c.pendingCount, 1);
    ac.abort();
    await slow.catch(() => undefined);
    assert.equal(c.state, 'idle');
  });

  it('relays progress notifications to the request and to listeners', async () => {
    const c = make();
    const seen: number[] = [];
    const global: string[] = [];
    c.onNotification('progress', (p) => global.push(p.message ?? ''));
    const r = await c.request('debug/progress', { count: 3, intervalMs: 10 }, { onProgress: (p) => seen.push(p.fraction ?? -1) });
    assert.equal(r.sent, 3);
    assert.deepEqual(seen, [1 / 3, 2 / 3, 1]);
    assert.deepEqual(global, ['step 1/3', 'step 2/3', 'step 3/3']);
  });

  it('cancel rejects at once and the worker really stops the request', async () => {
    const c = make();
    await c.start();
    const ac = new AbortController();
    const sleeping = c.request('debug/sleep', { ms: 60_000 }, { signal: ac.signal });
    await waitFor(async () => (await c.request('debug/inflight', {})).ids.length === 2);
    const t0 = Date.now();
    ac.abort();
    const err = await rejection(sleeping);
    assert.equal(err.code, 'cancelled');
    assert.ok(Date.now() - t0 < 1000, 'the caller is released at once, not when the runtime answers');
    await waitFor(async () => (await c.request('debug/inflight', {})).ids.length === 1); // only the inflight query itself
  });

  it('times a request out, cancels it in the runtime, and 0 means no timeout', async () => {
    const c = make({ defaultTimeoutMs: 200 });
    await c.start();
    const err = await rejection(c.request('debug/sleep', { ms: 10_000 }));
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /debug\/sleep.*0\.2 s/);
    await waitFor(async () => (await c.request('debug/inflight', {}, { timeoutMs: 10_000 })).ids.length === 1);
    const r = await c.request('debug/sleep', { ms: 300 }, { timeoutMs: 0 });
    assert.ok(r.sleptMs >= 290);
  });

  it('refuses a protocol version mismatch with a clear error, exits, and is not auto-restarted', async () => {
    const c = make({ protocolVersion: PROTOCOL_VERSION + 41 });
    const exited = nextExit(c);
    const err = await rejection(c.start());
    assert.equal(err.code, 'protocol-mismatch');
    assert.match(err.message, new RegExp(`protocol version ${PROTOCOL_VERSION + 41}.*speaks ${PROTOCOL_VERSION}`));
    assert.match(err.message, /npm run build/);
    const exit = await exited;
    assert.equal(exit.expected, true);
    assert.equal(exit.willRestart, false);
    assert.equal(c.state, 'stopped');
  });

  it('on a crash rejects every pending request with the stderr tail, fires exit once, and restarts', async () => {
    const c = make();
    const first = await c.start();
    const exits: RuntimeExit[] = [];
    c.onExit((e) => exits.push(e));
    const pending = c.request('debug/sleep', { ms: 60_000 });
    const crash = c.request('debug/crash', { message: 'boom-7f3a' });
    const [e1, e2] = await Promise.all([rejection(pending), rejection(crash)]);
    for (const e of [e1, e2]) {
      assert.equal(e.code, 'runtime-crashed');
      assert.match(e.stderrTail ?? '', /debug\/crash requested: boom-7f3a/);
      assert.match(e.message, /exit code 3/);
    }
    assert.equal(exits.length, 1);
    assert.equal(exits[0]!.expected, false);
    assert.equal(exits[0]!.willRestart, true);
    assert.match(exits[0]!.stderrTail, /boom-7f3a/);
    await waitFor(() => c.state === 'idle');
    const again = await c.request('debug/echo', { value: 'back' });
    assert.equal(again.value, 'back');
    assert.notEqual(c.pid, first.pid);
    assert.equal(exits.length, 1);
  });

  it('caps auto-restart; an explicit start lifts the cap', async () => {
    const c = make({ maxRestarts: 1 });
    await c.start();
    let exit = nextExit(c);
    await rejection(c.request('debug/crash', { message: 'one' }));
    assert.equal((await exit).willRestart, true);
    await waitFor(() => c.state === 'idle');
    exit = nextExit(c);
    await rejection(c.request('debug/crash', { message: 'two' }));
    assert.equal((await exit).willRestart, false);
    assert.equal(c.state, 'crashed');
    const refused = await rejection(c.request('debug/echo', { value: 1 }));
    assert.equal(refused.code, 'runtime-crashed');
    assert.match(refused.message, /not restarted automatically.*Restart Runtime/s);
    assert.match(refused.stderrTail ?? '', /debug\/crash requested: two/);
    await c.start();
    assert.equal((await c.request('debug/echo', { value: 2 })).value, 2);
  });

  it('stop ends the process gracefully and rejects what was pending; restart gives a new process', async () => {
    const c = make();
    const { pid } = await c.start();
    const pending = c.request('debug/sleep', { ms: 60_000 });
    await waitFor(() => c.state === 'busy');
    await c.stop();
    assert.equal((await rejection(pending)).code, 'runtime-stopped');
    assert.equal(c.state, 'stopped');
    assert.equal(isAlive(pid), false);
    const again = await c.restart();
    assert.notEqual(again.pid, pid);
  });

  it('dispose is idempotent, kills the process and fails later requests', async () => {
    const c = make();
    const { pid } = await c.start();
    c.dispose();
    c.dispose();
    await waitFor(() => !isAlive(pid));
    assert.equal((await rejection(c.request('debug/echo', { value: 1 }))).code, 'runtime-stopped');
  });

  it('passes malloc tuning and secrets by environment, never argv', async function () {
    if (process.platform !== 'linux') this.skip();
    const secret = 'sk-test-do-not-log-1234';
    const c = make({ env: () => buildRuntimeEnv(process.env, { OPENAI_API_KEY: secret }) });
    const { pid } = await c.start();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('MALLOC_MMAP_THRESHOLD_=1073741824'));
    assert.ok(environ.includes('MALLOC_TRIM_THRESHOLD_=4294967296'));
    assert.ok(environ.includes('ELECTRON_RUN_AS_NODE=1'));
    assert.ok(environ.includes(`OPENAI_API_KEY=${secret}`));
    assert.ok(environ.includes('EM_LAB_SECRETS_FROM_STORAGE=OPENAI_API_KEY'));
    assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(secret));
  });

  it('env/doctor runs in the worker with the secrets from its environment and names SecretStorage as their source', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'emlab-rt-doctor-')));
    try {
      writeFileSync(join(dir, '.env'), 'OPENAI_API_KEY=sk-dotenv-should-be-shadowed-0000\n');
      const key = 'sk-proj-fromSecretStorage0123456789abcd';
      const c = make({ env: () => buildRuntimeEnv({ ...process.env, OPENAI_BASE_URL: 'https://em-lab-offline.invalid/v1', HF_ENDPOINT: 'https://em-lab-offline.invalid' }, { OPENAI_API_KEY: key }) });
      const report = await c.request('env/doctor', { startDir: dir, networkTimeoutMs: 2000 });
      const byId = Object.fromEntries(report.checks.map((x) => [x.id, x]));
      assert.equal(report.dotenvPath, join(dir, '.env'));
      assert.equal(byId['openai-key']?.detail, 'Set from VS Code SecretStorage (…abcd); also set in .env (ignored).');
      assert.match(byId['openai-api']?.detail ?? '', /^Unreachable: https:\/\/em-lab-offline\.invalid/);
      assert.equal(byId['onnxruntime']?.status, 'ok');
      assert.equal(report.ok, true);
      assert.ok(!JSON.stringify(report).includes(key));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a runtime that never answers the handshake is killed after the handshake timeout; a missing bundle says how to build it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emlab-rt-silent-'));
    try {
      const silent = join(dir, 'silent.mjs');
      writeFileSync(silent, "process.on('message', () => {}); process.stderr.write('silent runtime up\\n');\n");
      const c = make({ runtimePath: silent, handshakeTimeoutMs: 2500 }); // long enough for node to start on a busy machine
      const exited = nextExit(c);
      const err = await rejection(c.start());
      assert.equal(err.code, 'handshake-timeout');
      assert.match(err.message, /within 2\.5 s/);
      const exit = await exited;
      assert.equal(exit.expected, true);
      assert.equal(exit.willRestart, false);
      assert.match(exit.stderrTail, /silent runtime up/);
      const missing = await rejection(make({ runtimePath: join(dir, 'nope.mjs') }).start());
      assert.equal(missing.code, 'runtime-missing');
      assert.match(missing.message, /npm run build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
