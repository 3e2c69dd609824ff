import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile } from '../../src/runtime/data/download';
import { UserError } from '../../src/runtime/errors';

describe('data: training-data download', () => {
  let dir: string;
  let server: Server;
  let base: string;
  const body = Buffer.alloc(300_000, 7);
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/archive') {
        res.setHeader('content-length', body.length);
        res.write(body.subarray(0, 100_000));
        setTimeout(() => res.end(body.subarray(100_000)), 20);
      } else if (req.url === '/cut') {
        res.setHeader('content-length', body.length);
        res.write(body.subarray(0, 1000));
        setTimeout(() => res.destroy(), 20);
      } else {
        res.statusCode = 404;
        res.end('not here');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emlab-dl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('downloads to the destination with byte progress', async () => {
    const fractions: number[] = [];
    const dest = join(dir, 'training_data', 'a.zip.enc');
    const r = await downloadFile({ url: `${base}/archive`, destination: dest, onProgress: (_, f) => fractions.push(f ?? NaN) });
    assert.equal(r.bytes, body.length);
    assert.deepEqual(readFileSync(dest), body);
    assert.equal(fractions.at(-1), 1);
    assert.deepEqual(readdirSync(join(dir, 'training_data')), ['a.zip.enc']);
  });

  for (const [name, url, pattern] of [
    ['a 404', '/missing', /answered 404/],
    ['a cut connection', '/cut', /stopped after|ended after/],
    ['an unreachable server', 'http://127.0.0.1:9/x', /Could not reach/],
  ] as const) {
    it(`on ${name}: says where to put the file by hand and leaves nothing behind`, async () => {
      const dest = join(dir, 'a.zip.enc');
      await assert.rejects(downloadFile({ url: url.startsWith('/') ? base + url : url, destination: dest }), (e: unknown) => {
        assert.ok(e instanceof UserError && e.code === 'download-failed');
        assert.match(e.message, pattern);
        assert.ok(e.message.includes(`save it as ${dest}`), e.message);
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
    });
  }
});
