// The robustness corpus: every bad input below is generated here (nothing large in git) and run through the real
// command. Each must end with a non-zero exit (or, where the input is usable, an explicit warning), a message that
// names the file or flag and the problem, no "internal error" or stack trace, within a time bound, and leave
// nothing behind: no temporary files in its folder, nothing outside the system temp folder. Cases that need a
// real process (exit codes, peak RSS, injected OS errors) spawn dist/cli.js; the rest run in-process (faster).
// The summary table at the end gives the totals per kind of input.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflateRaw } from 'node:zlib';
import { deriveFernetKey, fernetEncrypt, type FernetKey } from '../../src/runtime/data/fernet';
import { ensureTinyLlama } from '../../src/runtime/model/tinyLlama';
import { CLI, ROOT, runCliInProcess, runCliProcess } from '../support/cliProcess';
import { ARCHIVE_CASES } from './corpus/archives';
import { CSV_CASES, JSONL_CASES, QUESTION_CASES } from './corpus/datasets';
import { FLAG_CASES } from './corpus/flags';
import { ADAPTER_CASES, MODEL_CASES } from './corpus/models';
import { PASSWORD, type BadCase, type CaseKind, type CorpusContext } from './corpus/types';

const CASES: BadCase[] = [...ARCHIVE_CASES, ...JSONL_CASES, ...MODEL_CASES, ...ADAPTER_CASES, ...CSV_CASES, ...QUESTION_CASES, ...FLAG_CASES];
const STACK = /internal error|\n\s+at .+:\d+:\d+\)?\n/;
const LEFTOVER = /\.tmp-\d+$|\.partial-\d+-[0-9a-f]+$|\.old-\d+-[0-9a-f]+$|^train\.lock$/;

/** Deflates 1 GiB of zeros as a stream (never holding it): a zip bomb's payload, about 4.7 MB. */
async function bombPayload(): Promise<Buffer> {
  const d = createDeflateRaw({ level: 1 });
  const chunks: Buffer[] = [];
  d.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => d.on('end', r));
  const zero = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1024; i++) if (!d.write(zero)) await new Promise((r) => d.once('drain', r));
  d.end();
  await ended;
  return Buffer.concat(chunks);
}

function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => LEFTOVER.test(f.split(/[\\/]/).pop()!));
}

function gitStatus(): string | undefined {
  try {
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT, encoding: 'utf8' });
  } catch {
    return undefined; // not a git checkout: the check below falls back to the top-level listing
  }
}

describe('robustness corpus: bad inputs get their own clear error', function () {
  this.timeout(120_000);
  const root = mkdtempSync(join(tmpdir(), 'em-corpus-'));
  const storage = join(root, 'storage');
  const results = new Map<CaseKind, { cases: number; clean: number }>();
  let ctx: CorpusContext;
  let statusBefore: string | undefined;
  let rootListingBefore: string[];
  let maxRss = 0;

  before(async () => {
    assert.ok(existsSync(CLI), 'dist/cli.js is missing: npm test builds it first');
    statusBefore = gitStatus();
    rootListingBefore = readdirSync(ROOT).sort();
    const salt = randomBytes(16);
    const key: FernetKey = await deriveFernetKey(PASSWORD, salt);
    const tinyFolder = ensureTinyLlama(storage);
    ctx = {
      storage,
      tinyFolder,
      encrypt: (zip) => Buffer.concat([salt, Buffer.from(fernetEncrypt(key, zip).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'), 'latin1')]),
      bomb: await bombPayload(),
    };
  });

  after(() => {
    const rows = [...results].map(([kind, r]) => `  ${kind.padEnd(10)} ${String(r.cases).padStart(5)} ${String(r.clean).padStart(6)}`);
    const total = [...results.values()].reduce((a, r) => ({ cases: a.cases + r.cases, clean: a.clean + r.clean }), { cases: 0, clean: 0 });
    process.stdout.write(`\n  robustness corpus (peak RSS of spawned cases ${maxRss.toFixed(0)} MiB)\n  kind       cases  clean\n${rows.join('\n')}\n  ${'total'.padEnd(10)} ${String(total.cases).padStart(5)} ${String(total.clean).padStart(6)}\n`);
    rmSync(root, { recursive: true, force: true });
  });

  it(`holds at least 60 cases across every kind of input (${CASES.length})`, () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
    assert.deepEqual([...new Set(CASES.map((c) => c.kind))].sort(), ['adapter', 'archive', 'csv', 'flags', 'jsonl', 'model', 'questions']);
  });

  for (const c of CASES) {
    it(`${c.kind}: ${c.name}`, async () => {
      const tally = results.get(c.kind) ?? { cases: 0, clean: 0 };
      results.set(c.kind, tally);
      tally.cases++;
      const dir = mkdtempSync(join(root, 'case-'));
      const argv = c.make(dir, ctx);
      const env = { EM_LAB_STORAGE: storage, HOME: dir };
      let code: number | null;
      let text: string;
      let ms: number;
      let rss = '';
      if (c.process) {
        const r = await runCliProcess(argv, { cwd: dir, env, measureRss: true, ...(c.process.faults ? { faults: c.process.faults(dir) } : {}), timeoutMs: (c.timeMs ?? 30_000) * 2 });
        ({ code, ms } = r);
        text = r.stdout + r.stderr;
        assert.ok(r.maxRssMiB !== undefined, `no RSS reading (exit ${r.code}, signal ${r.signal}): ${text}`);
        maxRss = Math.max(maxRss, r.maxRssMiB);
        rss = `, peak RSS ${r.maxRssMiB.toFixed(0)} MiB`;
        assert.ok(r.maxRssMiB < c.process.rssMiB, `peak RSS ${r.maxRssMiB.toFixed(0)} MiB is over the ${c.process.rssMiB} MiB bound`);
      } else {
        const t0 = Date.now();
        ({ code, text } = await runCliInProcess(argv, dir, env));
        ms = Date.now() - t0;
      }
      if (process.env.EM_LAB_CORPUS_VERBOSE) process.stdout.write(`      [exit ${code}, ${ms} ms${rss}] ${text.trim().split('\n').filter((l) => /error|warning|:\d+:/.test(l)).join(' | ')}\n`);
      if ((c.outcome ?? 'error') === 'error') assert.notEqual(code, 0, `exit 0 for a bad input; output: ${text}`);
      assert.match(text, c.expect);
      assert.doesNotMatch(text, STACK, 'a stack trace reached the user');
      assert.ok(ms < (c.timeMs ?? 30_000), `took ${ms} ms`);
      assert.deepEqual(leftovers(dir), [], 'temporary files were left behind');
      c.check?.(dir);
      tally.clean++;
    });
  }

  it('left nothing outside the system temp folder (the checkout is unchanged)', () => {
    if (statusBefore !== undefined) assert.equal(gitStatus(), statusBefore);
    assert.deepEqual(readdirSync(ROOT).sort(), rootListingBefore);
    const cases = readdirSync(root).filter((n) => n !== 'storage');
    assert.ok(cases.every((n) => n.startsWith('case-')), `unexpected entries beside the case folders: ${cases.filter((n) => !n.startsWith('case-')).join(', ')}`);
  });
});
