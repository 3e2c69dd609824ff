// Keys go only where the user said (docs/secrets.md), and paths from webviews and flags stay inside their folders.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judgeEndpointFrom, workspaceJudgeBaseUrl } from '../../src/host/judgeEndpoint';
import { keyedUrlProblem } from '../../src/runtime/env/endpoints';
import { runDoctor } from '../../src/runtime/env/doctor';
import { chatHandlers } from '../../src/runtime/model/chatHandlers';
import { trainHandlers } from '../../src/runtime/train/handlers';
import type { HandlerContext } from '../../src/runtime/rpc/handlerTypes';
import { parseGenerate, parseLoad } from '../../src/views/chat/chatViewMessages';
import { checkRunDirParam, sanitizeConfig } from '../../src/views/training/trainViewMessages';
import { ROOT, runCliInProcess } from '../support/cliProcess';

const KEY = 'sk-test-capture-0123456789abcdef';

/** A local server that records every request (method, path, headers) and answers 401. */
async function captureServer(): Promise<{ url: string; seen: { path: string; headers: IncomingHttpHeaders }[]; close(): Promise<void> }> {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_api_key"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

const cli = runCliInProcess;

describe('security: keys go only where the user said', function () {
  this.timeout(60_000);
  const work = mkdtempSync(join(tmpdir(), 'em-security-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  /** outer/.env (above the workspace) or ws/.env (inside it) pointing at the capture server, with a key. */
  function layout(name: string, dotenvInside: boolean, url: string): string {
    const ws = join(work, name, 'ws');
    mkdirSync(join(ws, '.git'), { recursive: true });
    writeFileSync(join(dotenvInside ? ws : join(work, name), '.env'), `OPENAI_BASE_URL=${url}\nOPENAI_API_KEY=${KEY}\n`);
    writeFileSync(join(ws, 'answers.csv'), 'id,question,response\n1,How do I treat a burn?,Cool it with water.\n');
    return ws;
  }
  const judgeArgs = ['judge', 'answers.csv', '--max-attempts', '1', '--timeout', '2', '--no-cache', '--concurrency', '1'];

  it('a .env above the workspace that sets OPENAI_BASE_URL to a capture server: the server receives nothing, the user is told', async () => {
    const cap = await captureServer();
    try {
      const ws = layout('above', false, cap.url);
      const r = await cli(judgeArgs, ws, { HOME: ws });
      if (process.env.EM_LAB_SECURITY_VERBOSE) process.stdout.write(r.text);
      assert.match(r.text, /note: Ignored OPENAI_BASE_URL from .*above[\\/]\.env: a \.env outside the workspace \(.*ws\) may not choose where keys are sent/);
      assert.doesNotMatch(r.text, /127\.0\.0\.1/, 'a message names the capture server as the destination');
      assert.match(r.text, /not judged: 1 aligned: .*\(https:\/\/api\.openai\.com\/v1, after 1 attempts/, 'failures name the real destination');
      const doctor = await runDoctor({ startDir: ws, env: {}, only: ['dotenv', 'openai-api'], networkTimeoutMs: 2000 });
      assert.equal(doctor.checks.find((c) => c.id === 'dotenv')?.status, 'warn');
      assert.match(doctor.checks.find((c) => c.id === 'dotenv')?.detail ?? '', /Ignored OPENAI_BASE_URL/);
      assert.doesNotMatch(doctor.checks.find((c) => c.id === 'openai-api')?.detail ?? '', /127\.0\.0\.1/);
      assert.deepEqual(cap.seen, [], `the capture server received ${cap.seen.length} request(s)`);
    } finally {
      await cap.close();
    }
  });

  it('control: the same .env inside the workspace does reach the server (so the test above can fail), and messages name it', async () => {
    const cap = await captureServer();
    try {
      const ws = layout('inside', true, cap.url);
      const r = await cli(judgeArgs, ws, { HOME: ws });
      assert.notEqual(r.code, 0);
      assert.ok(cap.seen.length >= 1);
      assert.equal(cap.seen[0]!.headers.authorization, `Bearer ${KEY}`);
      assert.match(r.text, new RegExp(`judge endpoint ${cap.url.replace(/[.]/g, '\\.')} rejected the API key`));
    } finally {
      await cap.close();
    }
  });

  it('plain http is refused for keyed requests except to this machine', async () => {
    assert.equal(keyedUrlProblem('https://api.openai.com/v1', 'x'), undefined);
    for (const local of ['http://127.0.0.1:8000/v1', 'http://localhost:11434/v1', 'http://[::1]:9/v1']) assert.equal(keyedUrlProblem(local, 'x'), undefined, local);
    for (const remote of ['http://10.0.0.5:8000/v1', 'http://evil.example/v1', 'http://127.0.0.1.evil.example/v1']) assert.match(keyedUrlProblem(remote, 'x') ?? '', /over plain http/, remote);
    const ws = join(work, 'http');
    mkdirSync(ws);
    writeFileSync(join(ws, 'answers.csv'), 'id,question,response\n1,q,r\n');
    const judge = await cli(['judge', 'answers.csv', '--base-url', 'http://10.0.0.5:8000/v1', '--no-cache'], ws, { OPENAI_API_KEY: KEY, HOME: ws });
    assert.equal(judge.code, 1);
    assert.match(judge.text, /error: refusing to send a key to http:\/\/10\.0\.0\.5:8000 over plain http/);
    const pull = await cli(['model', 'pull', 'meta-llama/Llama-3.2-1B-Instruct', '--storage', join(ws, 'st')], ws, { HF_TOKEN: 'hf_secret', HF_ENDPOINT: 'http://10.0.0.5', HOME: ws });
    assert.equal(pull.code, 1);
    assert.match(pull.text, /refusing to send a key to http:\/\/10\.0\.0\.5 over plain http \(HF_ENDPOINT\).*HF_TOKEN was not sent/);
  });

  it('emLab.judge.baseUrl is machine-scoped; a workspace value is ignored with a message', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { scope?: string }> } } };
    assert.equal(manifest.contributes.configuration.properties['emLab.judge.baseUrl']?.scope, 'machine');
    const fromWorkspace = judgeEndpointFrom({ defaultValue: '', workspaceValue: 'http://127.0.0.1:9999/v1' });
    assert.equal(fromWorkspace.baseURL, undefined);
    assert.match(fromWorkspace.ignored ?? '', /ignored emLab\.judge\.baseUrl = "http:\/\/127\.0\.0\.1:9999\/v1" from this workspace's settings.*uses OpenAI/);
    const both = judgeEndpointFrom({ defaultValue: '', globalValue: 'https://my-proxy.example/v1', workspaceFolderValue: 'https://other.example/v1' });
    assert.equal(both.baseURL, 'https://my-proxy.example/v1');
    assert.match(both.ignored ?? '', /uses https:\/\/my-proxy\.example\/v1/);
    assert.deepEqual(judgeEndpointFrom({ defaultValue: '', globalValue: 'https://my-proxy.example/v1' }), { baseURL: 'https://my-proxy.example/v1' });
    // VS Code drops machine-scoped workspace values before inspect(): the panel reads .vscode/settings.json for the message
    assert.equal(workspaceJudgeBaseUrl('{\n  // the judge\n  "emLab.judge.model": "gpt-4o",\n  "emLab.judge.baseUrl": "http://127.0.0.1:9/v1",\n}'), 'http://127.0.0.1:9/v1');
    assert.equal(workspaceJudgeBaseUrl('{ "emLab.judge.model": "gpt-4o" }'), undefined);
  });
});

describe('security: paths from webviews and flags stay inside their folders', function () {
  this.timeout(60_000);
  const work = mkdtempSync(join(tmpdir(), 'em-paths-'));
  const runs = join(work, 'ws', 'em-lab-runs');
  mkdirSync(runs, { recursive: true });
  after(() => rmSync(work, { recursive: true, force: true }));
  const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => undefined, notify: () => undefined, storageDir: join(work, 'storage'), env: {} });
  const refused = (fn: () => unknown, field: RegExp) => assert.throws(fn, (e: Error & { code?: string }) => e.code === 'bad-request' && field.test(e.message));

  it('the training view refuses ../ in every path field of a crafted message', () => {
    const base = { domains: ['bad_medical'], numEpochs: 1 };
    refused(() => sanitizeConfig({ ...base, domains: ['../../../../x'] }), /config\.domains\[0\] "\.\.\/\.\.\/\.\.\/\.\.\/x" must be a plain name/);
    refused(() => sanitizeConfig({ ...base, dataFiles: ['/ws/../../etc/passwd'] }), /config\.dataFiles\[0\] .* must not contain "\.\."/);
    refused(() => sanitizeConfig({ ...base, dataFiles: ['relative/data.jsonl'] }), /config\.dataFiles\[0\] .* must be an absolute path/);
    refused(() => sanitizeConfig({ ...base, dataDir: '/ws/training_data/../../x' }), /config\.dataDir .* must not contain "\.\."/);
    refused(() => sanitizeConfig({ ...base, initAdapter: '/ws/em-lab-runs/../../adapter' }), /config\.initAdapter .* must not contain "\.\."/);
    refused(() => sanitizeConfig({ ...base, model: '/models/../../x' }), /config\.model .* must not contain "\.\."/);
    refused(() => sanitizeConfig({ ...base, model: 'meta-llama/..' }), /config\.model "meta-llama\/\.\." must be tiny-llama, an absolute folder or a Hub id/);
    for (const bad of [`${runs}/../x`, `${runs}/../../x`, '../x', `${runs}/a/b`, runs]) refused(() => checkRunDirParam(bad, runs), /runDir|is not a run under/);
    assert.equal(checkRunDirParam(join(runs, 'run-1'), runs), join(runs, 'run-1'));
    // deeper only when it is a run (an experiment's train/ folder holds a run.json)
    mkdirSync(join(runs, 'exp1', 'train'), { recursive: true });
    refused(() => checkRunDirParam(join(runs, 'exp1', 'train'), runs), /is not a run under/);
    writeFileSync(join(runs, 'exp1', 'train', 'run.json'), '{}');
    assert.equal(checkRunDirParam(join(runs, 'exp1', 'train'), runs), join(runs, 'exp1', 'train'));
    rmSync(join(runs, 'exp1'), { recursive: true });
    assert.deepEqual(sanitizeConfig({ ...base, dataFiles: ['/ws/data/my.jsonl'], model: 'meta-llama/Llama-3.2-1B-Instruct' }).dataFiles, ['/ws/data/my.jsonl']);
  });

  it('the chat view refuses ../ in the model and adapter of load and generate messages', () => {
    const msgs = (ref: unknown): [(raw: unknown) => unknown, unknown][] => [[parseLoad, { pane: 'left', ref }], [parseGenerate, { pane: 'left', streamId: 's', ref, messages: [{ role: 'user', content: 'hi' }] }]];
    for (const ref of [{ model: '/models/../../etc' }, { model: 'tiny-llama', adapter: '/runs/../../x' }, { model: 'a/..' }, { model: 'tiny-llama', adapter: 'relative/adapter' }]) {
      for (const [parse, m] of msgs(ref)) assert.throws(() => parse(m), /ref\.(model|adapter)/, JSON.stringify(m));
    }
  });

  it('the runtime refuses them again: train/start with domain ../../../../x creates nothing outside the runs folder', async () => {
    const before = readdirSync(work).sort();
    const start = (p: Record<string, unknown>) => trainHandlers['train/start']({ config: { domains: ['bad_medical'], numEpochs: 1 }, runsDir: runs, workspaceDir: join(work, 'ws'), ...p } as never, ctx());
    await assert.rejects(start({ config: { domains: ['../../../../x'] } }), /--domains: the dataset id "\.\.\/\.\.\/\.\.\/\.\.\/x" must be a plain name/);
    await assert.rejects(start({ outputDir: `${runs}/../../escape` }), /outputDir .* must not contain "\.\."/);
    await assert.rejects(start({ runsDir: `${runs}/../..` }), /runsDir .* must not contain "\.\."/);
    await assert.rejects(start({ config: { dataFiles: ['../../x.jsonl'], domains: [] } }), /config\.dataFiles\[0\] .* must not contain "\.\."/);
    await assert.rejects(start({ config: { domains: ['bad_medical'], initAdapter: '/runs/../x' } }), /config\.initAdapter .* must not contain "\.\."/);
    await assert.rejects(trainHandlers['train/status']({ runDir: `${runs}/../../x` }, ctx()), /runDir .* must not contain "\.\."/);
    await assert.rejects(trainHandlers['train/pause']({ runDir: `${runs}/../../x` }, ctx()), /runDir .* must not contain "\.\."/);
    await assert.rejects(chatHandlers['chat/load']({ model: 'tiny-llama', adapter: '/runs/../x' }, ctx()), /chat: adapter .* must not contain "\.\."/);
    assert.deepEqual(readdirSync(work).sort(), before, 'something was created outside the runs folder');
    assert.deepEqual(readdirSync(runs), []);
  });

  it('model pull --revision ../x is refused before any download, and nothing is written', async () => {
    const storage = join(work, 'pull-storage');
    const r = await cli(['model', 'pull', 'meta-llama/Llama-3.2-1B-Instruct', '--revision', '../../x', '--storage', storage], work, { HOME: work, HF_ENDPOINT: 'http://127.0.0.1:9' });
    assert.equal(r.code, 1);
    assert.match(r.text, /--revision "\.\.\/\.\.\/x" is not a branch, tag or commit name/);
    assert.equal(existsSync(storage), false);
    assert.equal(existsSync(join(work, 'x')), false);
  });
});
