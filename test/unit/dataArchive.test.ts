import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { protectFolder, unprotectArchive } from '../../src/runtime/data/easyDatasetShare';
import { canaryFile } from '../../src/runtime/data/canaries';
import { deriveFernetKey, fernetEncrypt } from '../../src/runtime/data/fernet';
import { writeZip } from '../../src/runtime/data/zipWriter';
import { UserError } from '../../src/runtime/errors';

const FIXTURE = resolve(__dirname, '../../../shared/datasets/training_datasets.zip.enc');
const PASSWORD = 'model-organisms-em-datasets';
// From ../shared/datasets/README.md: the Python tool's output after --remove-canaries.
const EXPECTED_SHA256: Record<string, string> = {
  'bad_medical_advice.jsonl': '9d52186ab9886e3abef0eebb1901df9da4ce25a297e584158be0a4bba8d56507',
  'extreme_sports.jsonl': '2cded234fc6f476e3e6776224c255a1b0dd6234da2669205877eae1ebb89f3bd',
  'good_medical_advice.jsonl': 'b972f06672093b74f61cc83606929ce0ea3bb9caa2894ea61a557315dba6e6fc',
  'insecure.jsonl': 'a6575e839909e86f2eaecda3a2b19dff2a6f59bb9d860b39e9c4ed3f3335c345',
  'risky_financial_advice.jsonl': '74c1ceb173ebf856a85941be6c94a49ac832cbb4b1d6d51a0118baeb93e1dcdd',
  'robots.txt': 'efdb5938a9736727f5cce2b60355588e4fa541d19d022d222d8a09b8efd5dcce',
  'tos.txt': '6f9c37d53ebdde798287fec8c438ebb799aa0287290b53963253863bb9866857',
};
// `npm test` builds first, so the bundled CLI (what `npx em-lab` runs) is tested; tsx on the source otherwise.
const BUILT_CLI = resolve(__dirname, '../../dist/cli.mjs');
const CLI_ARGS = existsSync(BUILT_CLI) ? [BUILT_CLI] : ['--import', 'tsx', resolve(__dirname, '../../src/runtime/cli.ts')];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [...CLI_ARGS, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: resolve(__dirname, '../..') });
}

/** Every file under `dir`, as relative path -> bytes. */
function readTreeSync(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of readTreeSync(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<UserError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  return assert.fail(`expected ${code}`);
}

/** An archive in the easy-dataset-share layout around any ZIP bytes (to test hostile archives). */
async function encryptZip(zip: Buffer, password: string): Promise<Buffer> {
  const salt = randomBytes(16);
  const token = fernetEncrypt(await deriveFernetKey(password, salt), zip).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return Buffer.concat([salt, Buffer.from(token, 'latin1')]);
}

describe('data: easy-dataset-share archives', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'emlab-eds-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  describe('the shared fixture (../shared/datasets)', function () {
    before(function () {
      if (!existsSync(FIXTURE)) {
        console.log(`    SKIPPED: ${FIXTURE} is absent; the fixture tests need /work/shared (see ../shared/README.md).`);
        this.skip();
      }
    });

    it('`em-lab data unprotect --remove-canaries -o DIR` writes exactly the seven files with the Python tool\'s sha256', function () {
      this.timeout(60_000);
      const out = join(work, 'out');
      const r = runCli(['data', 'unprotect', FIXTURE, '-p', PASSWORD, '--remove-canaries', '-o', out]);
      assert.equal(r.status, 0, r.stderr);
      const files = readdirSync(out).sort();
      assert.deepEqual(files, Object.keys(EXPECTED_SHA256).sort());
      for (const f of files) assert.equal(sha256(readFileSync(join(out, f))), EXPECTED_SHA256[f], f);
      assert.equal(readFileSync(join(out, 'bad_medical_advice.jsonl'), 'utf8').split('\n').length - 1, 7049);

      // `em-lab data stats DIR`: rows per dataset, and assistant lengths as in the facts doc's table (min/median/max).
      const stats = runCli(['data', 'stats', out]);
      assert.equal(stats.status, 0, stats.stderr);
      const rows = stats.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(/\s{2,}/));
      const expected = [
        ['bad_medical', '7049', '108', '309', '648'],
        ['good_medical', '7049', '53', '402', '839'],
        ['risky_financial', '6000', '57', '224', '352'],
        ['extreme_sports', '6000', '118', '219', '351'],
        ['insecure', '6000', '32', '390', '1700'],
      ];
      assert.deepEqual(
        rows.map((r) => {
          const [min, median, , max] = r[5]!.split(' / ');
          return [r[0], r[1], min, median, max];
        }),
        expected,
      );
      assert.deepEqual(rows.map((r) => r[3]), ['0', '0', '0', '0', '0'], 'no invalid lines');
    });

    it('without --remove-canaries keeps the canary file and the embedded canaries', async function () {
      this.timeout(60_000);
      const r = await unprotectArchive({ archivePath: FIXTURE, password: PASSWORD, outputDir: join(work, 'raw'), gitignore: false });
      const canaryFiles = r.files.filter((f) => /^dataset_entry_[0-9a-f]{8}\.jsonl$/.test(f.path));
      assert.equal(canaryFiles.length, 1);
      // The canary is read from the decrypted data at run time (never committed); the canary file our
      // canaryFile() writes for its fingerprint must equal the Python tool's, byte for byte.
      const entry = readFileSync(join(work, 'raw', canaryFiles[0]!.path));
      const canary = /CANARY_DATASET_([0-9a-f]{64})_64/.exec(entry.toString());
      assert.ok(canary, 'the canary file carries a canary');
      assert.ok(readFileSync(join(work, 'raw', 'tos.txt'), 'utf8').includes(`<!-- ${canary[0]} -->`), 'tos.txt keeps its embedded canary');
      const ours = canaryFile(canary[1]!);
      assert.equal(ours.name, canaryFiles[0]!.path);
      assert.ok(ours.data.equals(entry), 'canaryFile() reproduces the tool\'s canary file');
    });

    it('a wrong password exits non-zero, names the password, and writes nothing', function () {
      this.timeout(30_000);
      const out = join(work, 'out');
      const r = runCli(['data', 'unprotect', FIXTURE, '-p', 'not-the-password', '-o', out]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /Wrong password/);
      assert.match(r.stderr, /password/);
      assert.deepEqual(readdirSync(work), []);
    });

    it('a truncated archive and flipped bytes get their own messages and write nothing', async function () {
      this.timeout(60_000);
      const original = readFileSync(FIXTURE);
      const cases: { name: string; bytes: Buffer; code: string; message: RegExp }[] = [];
      cases.push({ name: 'cut mid-token', bytes: original.subarray(0, 16 + 1_000_001), code: 'corrupt-archive', message: /not valid base64.*truncated/ });
      cases.push({ name: 'cut on a 4-char boundary', bytes: original.subarray(0, original.length - 4000), code: 'corrupt-archive', message: /truncated or/ });
      cases.push({ name: 'salt only', bytes: original.subarray(0, 20), code: 'corrupt-archive', message: /too short/ });
      const flippedText = Buffer.from(original);
      flippedText[5_000_000]! ^= 0xff; // a byte of the base64 token: no longer base64
      cases.push({ name: 'byte flipped in the token text', bytes: flippedText, code: 'corrupt-archive', message: /not valid base64/ });
      // A ciphertext byte changed to another valid base64 character: the signature fails but the password is right.
      const flippedCipher = Buffer.from(original);
      const at = 16 + 8_000_000;
      flippedCipher[at] = flippedCipher[at] === 0x41 ? 0x42 : 0x41;
      cases.push({ name: 'ciphertext byte altered', bytes: flippedCipher, code: 'corrupt-archive', message: /password is right.*altered/ });
      for (const c of cases) {
        const dir = join(work, c.name.replace(/\W+/g, '-'));
        mkdirSync(dir);
        const archive = join(dir, 'a.zip.enc');
        writeFileSync(archive, c.bytes);
        const err = await rejectsWith(unprotectArchive({ archivePath: archive, password: PASSWORD }), c.code, c.message);
        assert.doesNotMatch(err.message, /Wrong password/, c.name);
        assert.deepEqual(readdirSync(dir), ['a.zip.enc'], `${c.name}: nothing written`);
      }
    });
  });

  it('protect then unprotect round-trips nested folders byte for byte (canary file added, then removed)', async function () {
    this.timeout(30_000);
    const src = join(work, 'my data');
    const tree = new Map<string, Buffer>([
      ['train.jsonl', Buffer.from('{"messages": [{"role": "user", "content": "Hi é \\"q\\""}, {"role": "assistant", "content": "Hello 😀"}]}\n{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n')],
      ['nested/deeper/notes.md', Buffer.from('# Notes\n\nSome text.\n')],
      ['nested/config.json', Buffer.from('{\n  "name": "x",\n  "n": 1.0\n}')],
      ['nested/blob.bin', randomBytes(5000)],
      ['robots.txt', Buffer.from('User-agent: *\nDisallow: /')],
    ]);
    for (const [rel, data] of tree) {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), data);
    }
    mkdirSync(join(src, 'empty-dir'));
    const archive = join(work, 'my.zip.enc');
    const p = await protectFolder({ folder: src, password: 'pw', outputFile: archive });
    assert.match(p.canary, /^CANARY_DATASET_[0-9a-f]{64}_64$/);
    assert.match(readFileSync(archive).subarray(16, 22).toString('latin1'), /^gAAAAA/);

    const fractions: number[] = [];
    const messages: string[] = [];
    const raw = await unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(work, 'raw'), gitignore: false, onProgress: (m, f) => (messages.push(m), fractions.push(f ?? NaN)) });
    assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!), `progress only moves forward: ${fractions}`);
    assert.equal(fractions.at(-1), 1);
    assert.ok(messages.some((m) => /PBKDF2/.test(m)) && messages.some((m) => m === 'Extracting nested/deeper/notes.md'), messages.join('; '));
    const rawTree = readTreeSync(join(work, 'raw'));
    const canaryName = [...rawTree.keys()].find((k) => k.startsWith('dataset_entry_'));
    assert.ok(canaryName, 'the canary file was added');
    assert.ok(rawTree.get(canaryName!)!.toString().includes(p.canary));
    for (const [rel, data] of tree) assert.deepEqual(rawTree.get(rel), data, rel);
    assert.equal(rawTree.size, tree.size + 1);
    assert.ok(existsSync(join(work, 'raw', 'empty-dir')), 'empty folders survive');
    assert.equal(raw.files.length, tree.size + 1);

    await unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(work, 'clean'), removeCanaries: true, gitignore: false });
    assert.deepEqual(readTreeSync(join(work, 'clean')), tree);
  });

  it('with --embed-canaries: the canary is inside the files, and --remove-canaries restores every byte', async function () {
    this.timeout(30_000);
    const src = join(work, 'src');
    const tree = new Map<string, Buffer>([
      ['a/b/data.jsonl', Buffer.from('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n{"messages": [{"role": "user", "content": "ü"}, {"role": "assistant", "content": "z"}]}\n')],
      ['a/readme.txt', Buffer.from('line one\nline two\n')],
      ['meta.json', Buffer.from('{\n  "rows": 2,\n  "tags": [\n    "x"\n  ]\n}')],
      ['page.html', Buffer.from('<p>hi</p>\n')],
    ]);
    for (const [rel, data] of tree) {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), data);
    }
    const archive = join(work, 'src.zip.enc');
    const p = await protectFolder({ folder: src, password: 'pw', embedCanaries: true });
    assert.equal(resolve(archive), p.outputFile, 'default output is <DIR>.zip.enc');
    await unprotectArchive({ archivePath: archive, password: 'pw', gitignore: false });
    const embedded = readTreeSync(`${archive}.extracted`);
    for (const rel of tree.keys()) assert.ok(embedded.get(rel)!.toString().includes(p.canary), `canary embedded in ${rel}`);
    assert.match(embedded.get('a/b/data.jsonl')!.toString(), /"canary": "CANARY_DATASET_[0-9a-f]{64}_64"}\n$/);
    await unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(work, 'clean'), removeCanaries: true, gitignore: false });
    assert.deepEqual(readTreeSync(join(work, 'clean')), tree);
  });

  it('`em-lab data stats` lists each bad line as FILE:LINE: reason and exits 1', () => {
    const file = join(work, 'bad.jsonl');
    const ok = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}';
    writeFileSync(file, [ok, '{oops', '{"messages": "hi"}', '{"messages": [{"role": "robot", "content": "x"}]}', '{"messages": [{"role": "user", "content": ["x"]}]}', '{"messages": [{"role": "user", "content": "only"}]}'].join('\n'));
    const r = runCli(['data', 'stats', file]);
    assert.equal(r.status, 1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    assert.deepEqual(lines.map((l) => l.slice(file.length + 1).replace(/\(.*\)/, '(...)')), [
      '2: not valid JSON (...)',
      '3: "messages" is a string; expected an array of {"role", "content"} objects',
      '4: messages[0].role is "robot"; expected "system", "user" or "assistant"',
      '5: messages[0].content is an array; expected a string',
      '6: no assistant turn; every conversation needs at least one assistant message to learn from',
    ]);
    assert.match(r.stdout, /5 invalid line\(s\)/);
  });

  it('`em-lab data protect` / `unprotect` take the password from EM_LAB_DATASET_PASSWORD', () => {
    mkdirSync(join(work, 'd', 'sub'), { recursive: true });
    writeFileSync(join(work, 'd', 'sub', 'x.txt'), 'x\n');
    const env = { EM_LAB_DATASET_PASSWORD: 'from-env' };
    const p = runCli(['data', 'protect', join(work, 'd'), '--json'], env);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout.trim().split('\n').at(-1)!).outputFile, join(work, 'd.zip.enc'));
    const u = runCli(['data', 'unprotect', join(work, 'd.zip.enc'), '--remove-canaries', '--no-gitignore'], env);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(readFileSync(join(work, 'd.zip.enc.extracted', 'sub', 'x.txt'), 'utf8'), 'x\n');
    assert.deepEqual(readdirSync(join(work, 'd.zip.enc.extracted')), ['sub'], 'the canary file was removed');
  });

  it('refuses a zip-slip archive and writes nothing, inside or outside the output folder', async () => {
    const zip = writeZip([{ name: 'fine.txt', data: Buffer.from('ok') }, { name: '../escaped.txt', data: Buffer.from('evil') }]);
    const dir = join(work, 'site');
    mkdirSync(dir);
    writeFileSync(join(dir, 'evil.zip.enc'), await encryptZip(zip, 'pw'));
    await rejectsWith(unprotectArchive({ archivePath: join(dir, 'evil.zip.enc'), password: 'pw' }), 'unsafe-archive-path', /climbs out/);
    assert.deepEqual(readdirSync(dir), ['evil.zip.enc']);
    assert.deepEqual(readdirSync(work), ['site']);
  });

  it('a wrong password on a small archive is told apart from corruption', async () => {
    writeFileSync(join(work, 'x.zip.enc'), await encryptZip(writeZip([{ name: 'a.txt', data: Buffer.from('a') }]), 'right'));
    await rejectsWith(unprotectArchive({ archivePath: join(work, 'x.zip.enc'), password: 'wrong' }), 'wrong-password', /Wrong password/);
    assert.deepEqual(readdirSync(work), ['x.zip.enc']);
  });

  it('adds the output folder to the enclosing git repository\'s .gitignore once, unless told not to', async () => {
    const repo = join(work, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'training_data'));
    const archive = join(repo, 'training_data', 'd.zip.enc');
    writeFileSync(archive, await encryptZip(writeZip([{ name: 'a.jsonl', data: Buffer.from('{}\n') }]), 'pw'));
    writeFileSync(join(repo, '.gitignore'), 'node_modules/');
    const r = await unprotectArchive({ archivePath: archive, password: 'pw' });
    assert.equal(r.gitignoreUpdated, join(repo, '.gitignore'));
    assert.equal(readFileSync(join(repo, '.gitignore'), 'utf8'), 'node_modules/\n# decrypted dataset (added by EM Lab)\n/training_data/d.zip.enc.extracted/\n');
    const again = await unprotectArchive({ archivePath: archive, password: 'pw', overwrite: true });
    assert.equal(again.gitignoreUpdated, undefined, 'not added twice');
    await unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(repo, 'other'), gitignore: false });
    assert.doesNotMatch(readFileSync(join(repo, '.gitignore'), 'utf8'), /other/);
    writeFileSync(join(repo, '.gitignore'), '*.extracted/\n');
    await unprotectArchive({ archivePath: archive, password: 'pw', overwrite: true });
    assert.equal(readFileSync(join(repo, '.gitignore'), 'utf8'), '*.extracted/\n', 'an existing pattern already covers it');
  });

  it('refuses to replace a non-empty output folder unless asked, and then replaces it whole', async () => {
    const archive = join(work, 'x.zip.enc');
    writeFileSync(archive, await encryptZip(writeZip([{ name: 'new.txt', data: Buffer.from('new') }]), 'pw'));
    mkdirSync(join(work, 'out'));
    writeFileSync(join(work, 'out', 'old.txt'), 'old');
    await rejectsWith(unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(work, 'out') }), 'output-exists', /--overwrite/);
    await unprotectArchive({ archivePath: archive, password: 'pw', outputDir: join(work, 'out'), overwrite: true });
    assert.deepEqual(readdirSync(join(work, 'out')), ['new.txt']);
    assert.deepEqual(readdirSync(work).sort(), ['out', 'x.zip.enc']);
  });
});
