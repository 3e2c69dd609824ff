import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { findDotenv, loadDotenv } from '../../src/runtime/env/findDotenv';
import { effectiveEnv, maskSecret, resolveSetting } from '../../src/runtime/env/secrets';
import { SECRET_SOURCE_ENV } from '../../src/protocol/envMethods';

describe('findDotenv (python-dotenv find_dotenv semantics)', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'emlab-dotenv-')));
    mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('walks up from the start folder to the first .env', () => {
    writeFileSync(join(root, 'a', '.env'), 'X=1\n');
    assert.equal(findDotenv(join(root, 'a', 'b', 'c')), join(root, 'a', '.env'));
  });

  it('prefers the nearest .env and skips a .env that is a directory', () => {
    writeFileSync(join(root, 'a', '.env'), 'X=1\n');
    mkdirSync(join(root, 'a', 'b', 'c', '.env'));
    assert.equal(findDotenv(join(root, 'a', 'b', 'c')), join(root, 'a', '.env'));
    writeFileSync(join(root, 'a', 'b', '.env'), 'X=2\n');
    assert.equal(findDotenv(join(root, 'a', 'b', 'c')), join(root, 'a', 'b', '.env'));
  });

  it('accepts a file as the start and returns undefined when there is none up to the root', function () {
    const ancestors: string[] = [];
    for (let d = root; d !== parse(d).root; d = dirname(d)) ancestors.push(d);
    ancestors.push(parse(root).root);
    if (ancestors.some((d) => existsSync(join(d, '.env')))) this.skip(); // a stray .env above the temp folder
    writeFileSync(join(root, 'a', 'b', 'file.txt'), '');
    assert.equal(findDotenv(join(root, 'a', 'b', 'file.txt')), undefined);
    writeFileSync(join(root, 'a', 'b', '.env'), 'X=2\n');
    assert.equal(findDotenv(join(root, 'a', 'b', 'file.txt')), join(root, 'a', 'b', '.env'));
  });

  it('parses with dotenv (quotes, export, comments) without touching process.env', () => {
    writeFileSync(
      join(root, '.env'),
      ['# comment', 'export OPENAI_API_KEY="sk-quoted-value"', "HF_TOKEN='hf_single'", 'PLAIN=a b # trailing comment', 'EMPTY='].join('\n'),
    );
    const before = process.env.OPENAI_API_KEY;
    const f = loadDotenv(join(root, 'a'));
    assert.equal(f?.path, join(root, '.env'));
    assert.deepEqual(f?.values, { OPENAI_API_KEY: 'sk-quoted-value', HF_TOKEN: 'hf_single', PLAIN: 'a b', EMPTY: '' });
    assert.equal(process.env.OPENAI_API_KEY, before);
  });
});

describe('setting precedence: SecretStorage > environment > .env', () => {
  const dotenv = { path: '/w/.env', values: { OPENAI_API_KEY: 'sk-from-dotenv', HF_TOKEN: 'hf_from_dotenv', ONLY_DOTENV: 'd' } };

  it('takes the environment over .env and reports the shadowed source', () => {
    const r = resolveSetting('OPENAI_API_KEY', { OPENAI_API_KEY: 'sk-from-env' }, dotenv);
    assert.equal(r.value, 'sk-from-env');
    assert.equal(r.source, 'environment');
    assert.deepEqual(r.shadowed, ['dotenv']);
  });

  it('names SecretStorage when the host says the value came from there', () => {
    const r = resolveSetting('OPENAI_API_KEY', { OPENAI_API_KEY: 'sk-from-storage', [SECRET_SOURCE_ENV]: 'OPENAI_API_KEY' }, dotenv);
    assert.equal(r.source, 'secret-storage');
    assert.equal(r.origin, 'VS Code SecretStorage');
    assert.equal(r.value, 'sk-from-storage');
  });

  it('falls back to .env, and treats an empty environment variable as unset', () => {
    const r = resolveSetting('HF_TOKEN', { HF_TOKEN: '' }, dotenv);
    assert.equal(r.value, 'hf_from_dotenv');
    assert.equal(r.source, 'dotenv');
    assert.equal(r.origin, '/w/.env');
    assert.equal(resolveSetting('MISSING', {}, dotenv).value, undefined);
  });

  it('effectiveEnv fills only what the environment lacks', () => {
    const env = effectiveEnv({ OPENAI_API_KEY: 'sk-env', HF_TOKEN: '' }, dotenv);
    assert.equal(env.OPENAI_API_KEY, 'sk-env');
    assert.equal(env.HF_TOKEN, 'hf_from_dotenv');
    assert.equal(env.ONLY_DOTENV, 'd');
  });

  it('masks to the last 4 characters, and hides short values entirely', () => {
    assert.equal(maskSecret('sk-proj-0123456789abcdefWXYZ'), '…WXYZ');
    assert.equal(maskSecret('sk-short'), '(set)');
  });
});
