// The doctor against a fake OpenAI / Hugging Face on 127.0.0.1: key accepted, rejected (401), rate-limited (429),
// a closed port, a server that never answers, an unresolvable host. Keys must never appear in any output.
import { strict as assert } from 'node:assert';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctorExitCode, requiredChecksPass, runDoctor } from '../../src/runtime/env/doctor';
import { HF_TOKEN, keyShapeProblem, OPENAI_KEY } from '../../src/runtime/env/keyChecks';
import { nodeVersionOk } from '../../src/runtime/env/systemChecks';
import { doctorCommand } from '../../src/runtime/cli/doctorCommands';
import { SECRET_SOURCE_ENV, type DoctorCheck, type DoctorReport } from '../../src/protocol/envMethods';
import { captureIO } from '../support/captureIO';

const GOOD_KEY = 'sk-proj-GOODgoodGOODgood0123456789abcd';
const BAD_KEY = 'sk-proj-BADbadBADbadBAD0123456789wxyz';
const LIMITED_KEY = 'sk-proj-LIMITlimitLIMIT0123456789qrst';
const GOOD_HF = 'hf_GOODgoodGOODgood0123456789abcdefgh';

interface Fake {
  server: Server;
  url: string;
  seen: { path: string; headers: IncomingHttpHeaders }[];
}

async function fakeApi(): Promise<Fake> {
  const seen: Fake['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const auth = req.headers.authorization ?? '';
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/models') {
      if (auth === `Bearer ${GOOD_KEY}`) return res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini' }, { id: 'gpt-4.1' }] }));
      if (auth === `Bearer ${LIMITED_KEY}`) return res.writeHead(429).end(JSON.stringify({ error: { code: 'insufficient_quota', message: 'quota' } }));
      // OpenAI echoes part of the key in its message: the doctor must not print it.
      return res.writeHead(401).end(JSON.stringify({ error: { code: 'invalid_api_key', message: `Incorrect API key provided: ${auth.slice(7)}` } }));
    }
    if (req.url === '/api/whoami-v2') {
      if (auth === `Bearer ${GOOD_HF}`) return res.end(JSON.stringify({ type: 'user', name: 'em-student' }));
      return res.writeHead(401).end(JSON.stringify({ error: 'Invalid credentials in Authorization header' }));
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** Accepts connections and never answers: what a black-holing firewall looks like. */
async function silentServer(): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer(() => undefined);
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

function byId(report: DoctorReport, id: string): DoctorCheck {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  return c;
}

const NET = ['openai-key', 'openai-api', 'hf-token', 'hf-api'];

describe('doctor', function () {
  this.timeout(20_000);
  let fake: Fake;
  let dir: string;
  before(async () => {
    fake = await fakeApi();
  });
  after(() => fake.server.close());
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'emlab-doctor-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const envFor = (key: string, hf = GOOD_HF): NodeJS.ProcessEnv => ({ OPENAI_API_KEY: key, OPENAI_BASE_URL: `${fake.url}/v1`, HF_TOKEN: hf, HF_ENDPOINT: fake.url });

  it('reports an accepted OpenAI key and HF token, sending them as Bearer tokens', async () => {
    const report = await runDoctor({ startDir: dir, env: envFor(GOOD_KEY), only: NET });
    assert.equal(byId(report, 'openai-api').status, 'ok');
    assert.match(byId(report, 'openai-api').detail, /key accepted \(2 models visible\)/);
    assert.equal(byId(report, 'hf-api').status, 'ok');
    assert.match(byId(report, 'hf-api').detail, /user em-student/);
    assert.ok(fake.seen.some((s) => s.path === '/v1/models' && s.headers.authorization === `Bearer ${GOOD_KEY}`));
    assert.equal(byId(report, 'openai-key').detail, 'Set from the environment (…abcd).');
  });

  it('reports a rejected key (401) as failed without printing the key or the server message', async () => {
    const report = await runDoctor({ startDir: dir, env: envFor(BAD_KEY, 'hf_WRONGwrongWRONG0123456789abcdefgh'), only: NET });
    const openai = byId(report, 'openai-api');
    assert.equal(openai.status, 'fail');
    assert.match(openai.detail, /rejected the key \(HTTP 401, invalid_api_key\)/);
    assert.equal(openai.action, 'setOpenAiKey');
    assert.equal(byId(report, 'hf-api').status, 'fail');
    const text = JSON.stringify(report);
    assert.ok(!text.includes(BAD_KEY) && !text.includes(BAD_KEY.slice(0, 20)), 'key leaked into the report');
    assert.ok(!text.includes('hf_WRONG'));
    assert.ok(text.includes('…wxyz'));
    assert.equal(report.ok, true, 'optional checks do not fail the report');
  });

  it('reports rate limiting (429) as a warning', async () => {
    const report = await runDoctor({ startDir: dir, env: envFor(LIMITED_KEY), only: ['openai-api'] });
    assert.equal(byId(report, 'openai-api').status, 'warn');
    assert.match(byId(report, 'openai-api').detail, /429 \(insufficient_quota\)/);
  });

  it('offline: a refused connection and an unresolvable host give "unreachable" quickly', async () => {
    const closed = await fakeApi();
    const closedUrl = closed.url;
    await new Promise((r) => closed.server.close(r));
    // The causes in the details (not a timeout) show these failed at once rather than at the 5 s limit.
    const report = await runDoctor({
      startDir: dir,
      env: { OPENAI_API_KEY: GOOD_KEY, OPENAI_BASE_URL: `${closedUrl}/v1`, HF_TOKEN: GOOD_HF, HF_ENDPOINT: 'https://em-lab-offline.invalid' },
      only: NET,
    });
    assert.equal(byId(report, 'openai-api').status, 'warn');
    assert.match(byId(report, 'openai-api').detail, /^Unreachable: .*ECONNREFUSED/);
    assert.match(byId(report, 'hf-api').detail, /^Unreachable: https:\/\/em-lab-offline\.invalid.*(ENOTFOUND|EAI_AGAIN)/);
  });

  it('a server that never answers times out at the network limit instead of hanging', async () => {
    const silent = await silentServer();
    try {
      const t0 = Date.now();
      const report = await runDoctor({ startDir: dir, env: { OPENAI_API_KEY: GOOD_KEY, OPENAI_BASE_URL: silent.url }, networkTimeoutMs: 300, only: ['openai-api'] });
      const elapsed = Date.now() - t0;
      assert.match(byId(report, 'openai-api').detail, /no answer within 0\.3 s/);
      assert.ok(elapsed >= 290 && elapsed < 10_000, `took ${elapsed} ms`); // ends at the 0.3 s limit, not at the 10.3 s per-check deadline
    } finally {
      for (const s of silent.sockets) s.destroy();
      silent.server.close();
    }
  });

  it('without a key still tells reachable from unreachable (401 to an unauthenticated GET)', async () => {
    const report = await runDoctor({ startDir: dir, env: { OPENAI_BASE_URL: `${fake.url}/v1` }, only: ['openai-key', 'openai-api'] });
    assert.equal(byId(report, 'openai-key').status, 'warn');
    assert.equal(byId(report, 'openai-api').status, 'skip');
    assert.match(byId(report, 'openai-api').detail, /is reachable \(HTTP 401/);
    assert.equal(fake.seen.at(-1)?.headers.authorization, undefined);
  });

  it('names the source that wins and the ones it shadows (.env found by walking up)', async () => {
    writeFileSync(join(dir, '.env'), `OPENAI_API_KEY=${BAD_KEY}\nHF_TOKEN=${GOOD_HF}\n`);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const report = await runDoctor({ startDir: sub, env: { OPENAI_API_KEY: GOOD_KEY, [SECRET_SOURCE_ENV]: 'OPENAI_API_KEY' }, only: ['dotenv', 'openai-key', 'hf-token'] });
    assert.equal(report.dotenvPath, join(dir, '.env'));
    assert.match(byId(report, 'dotenv').detail, /2 variables: OPENAI_API_KEY, HF_TOKEN/);
    assert.equal(byId(report, 'openai-key').detail, 'Set from VS Code SecretStorage (…abcd); also set in .env (ignored).');
    assert.equal(byId(report, 'hf-token').detail, `Set from .env (${join(dir, '.env')}) (…efgh).`);
    assert.ok(!JSON.stringify(report).includes(BAD_KEY));
  });

  it('warns about malformed keys without printing them', async () => {
    const report = await runDoctor({ startDir: dir, env: { OPENAI_API_KEY: 'sk-abc def', HF_TOKEN: 'api_0123456789abcdefghijkl' }, only: ['openai-key', 'hf-token'] });
    assert.equal(byId(report, 'openai-key').status, 'warn');
    assert.match(byId(report, 'openai-key').detail, /whitespace/);
    assert.match(byId(report, 'hf-token').detail, /does not start with "hf_"/);
    assert.ok(!JSON.stringify(report).includes('sk-abc') && !JSON.stringify(report).includes('api_0123'));
  });

  it('key shapes: typical keys pass; quotes, whitespace, prefixes and truncation are caught', () => {
    assert.equal(keyShapeProblem(OPENAI_KEY, 'sk-proj-' + 'a'.repeat(40)), undefined);
    assert.equal(keyShapeProblem(OPENAI_KEY, 'sk-' + 'A1_-'.repeat(12)), undefined);
    assert.match(keyShapeProblem(OPENAI_KEY, '"sk-' + 'a'.repeat(40) + '"') ?? '', /quotes/);
    assert.match(keyShapeProblem(OPENAI_KEY, 'sk-abc') ?? '', /complete/);
    assert.equal(keyShapeProblem(HF_TOKEN, 'hf_' + 'aB3'.repeat(11) + 'x'), undefined);
    assert.match(keyShapeProblem(HF_TOKEN, 'hf_abc\n') ?? '', /whitespace/);
  });

  it('exit code: required failures give 1, optional ones 0 unless --strict', () => {
    const check = (required: boolean, status: DoctorCheck['status']): DoctorCheck => ({ id: 'x', title: 'x', detail: '', required, status, durationMs: 0 });
    const report = (checks: DoctorCheck[]): DoctorReport => ({ checks, ok: requiredChecksPass(checks), startDir: '/', durationMs: 0 });
    assert.equal(doctorExitCode(report([check(true, 'ok'), check(true, 'warn'), check(false, 'fail')])), 0);
    assert.equal(doctorExitCode(report([check(true, 'ok'), check(false, 'fail')]), true), 1);
    assert.equal(doctorExitCode(report([check(true, 'fail'), check(false, 'ok')])), 1);
    assert.equal(doctorExitCode(report([check(true, 'skip'), check(false, 'warn')]), true), 0);
  });

  it('node version gate is >= 20.15', () => {
    assert.equal(nodeVersionOk('20.15.0'), true);
    assert.equal(nodeVersionOk('v22.1.0'), true);
    assert.equal(nodeVersionOk('20.14.9'), false);
    assert.equal(nodeVersionOk('19.99.0'), false);
  });

  it('`em-lab doctor --json` runs every check offline and writes JSON lines with a summary', async () => {
    const io = captureIO({ json: true, cwd: dir, env: { OPENAI_API_KEY: GOOD_KEY, OPENAI_BASE_URL: 'https://em-lab-offline.invalid/v1', HF_ENDPOINT: 'https://em-lab-offline.invalid' } });
    const code = await doctorCommand.run({ options: { dir, timeout: '2' }, positionals: [] }, io);
    const ids = io.events.filter((e) => e.event === 'check').map((e) => e.id);
    assert.deepEqual(ids, ['node', 'dotenv', 'openai-key', 'openai-api', 'hf-token', 'hf-api', 'onnxruntime', 'cuda', 'training-data', 'disk']);
    const summary = io.events.find((e) => e.event === 'summary');
    assert.equal(summary?.exitCode, code);
    assert.equal(code, 0, JSON.stringify(io.events.filter((e) => e.status === 'fail')));
    assert.match(String(io.events.find((e) => e.id === 'openai-api')?.detail), /^Unreachable/);
    assert.equal(io.events.find((e) => e.id === 'onnxruntime')?.status, 'ok');
    assert.match(String(io.events.find((e) => e.id === 'disk')?.detail), /not created yet/);
    assert.ok(!JSON.stringify(io.events).includes(GOOD_KEY));
  });

  it('readable output uses ✓ / ! / ✗ marks and shows fixes', async () => {
    const io = captureIO({ cwd: dir, env: { OPENAI_API_KEY: BAD_KEY, OPENAI_BASE_URL: `${fake.url}/v1` } });
    await doctorCommand.run({ options: { dir, timeout: '2' }, positionals: [] }, io);
    const text = io.stdout.join('\n');
    assert.match(text, /^✓ Node\.js version: /m);
    assert.match(text, /^✗ OpenAI API reachable and key accepted \(optional\): .*401/m);
    assert.match(text, /^ {4}fix: The key is wrong/m);
    assert.match(text, /^! Training data \(optional\)/m);
  });

  it('names what the reader can do where they read it: VS Code commands in VS Code, em-lab commands in a terminal', async () => {
    const only = ['openai-key', 'training-data'];
    const cli = await runDoctor({ startDir: dir, env: {}, only });
    const vscode = await runDoctor({ startDir: dir, env: {}, only, surface: 'vscode' });
    for (const id of only) {
      const inTerminal = byId(cli, id).fix ?? '';
      const inVsCode = byId(vscode, id).fix ?? '';
      assert.ok(inTerminal && inVsCode, `${id} has a fix on both surfaces`);
      assert.doesNotMatch(inVsCode, /em-lab /, `${id} in VS Code: ${inVsCode}`);
      assert.match(inVsCode, /"EM Lab: /, `${id} in VS Code: ${inVsCode}`);
      assert.doesNotMatch(inTerminal, /^Run "EM Lab: /, `${id} in a terminal: ${inTerminal}`);
    }
    assert.match(byId(cli, 'openai-key').fix ?? '', /Add OPENAI_API_KEY=\.\.\. to \.env/);
    assert.match(byId(cli, 'training-data').fix ?? '', /em-lab data unprotect .*training_datasets\.zip\.enc -p model-organisms-em-datasets --remove-canaries/);
  });

  it('refuses a bad --timeout with a message naming the option', async () => {
    await assert.rejects(() => doctorCommand.run({ options: { dir, timeout: 'abc' }, positionals: [] }, captureIO({ cwd: dir })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'bad-option');
      assert.match(err.message, /--timeout expects a number of seconds/);
      return true;
    });
  });
});
