import { strict as assert } from 'node:assert';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { decodeBase64UrlStrict, deriveFernetKey, fernetDecrypt, fernetEncrypt, fernetKeyFromBase64, fernetKeyFromBytes } from '../../src/runtime/data/fernet';
import { UserError } from '../../src/runtime/errors';

// The Fernet spec's own test vector (github.com/fernet/spec, generate.json / verify.json).
const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

describe('data: Fernet', () => {
  it('decrypts the Fernet spec vector to "hello"', () => {
    const token = decodeBase64UrlStrict(SPEC_TOKEN, 'token');
    assert.equal(fernetDecrypt(fernetKeyFromBase64(SPEC_KEY), token).toString('utf8'), 'hello');
  });

  it('reproduces the spec token exactly from its timestamp and IV (0..15)', () => {
    const iv = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
    const token = fernetEncrypt(fernetKeyFromBase64(SPEC_KEY), Buffer.from('hello'), 499162800, iv); // 1985-10-26T01:20:00-07:00
    assert.equal(token.toString('base64url') + '==', SPEC_TOKEN);
  });

  it('derives the key with PBKDF2-HMAC-SHA256, 100000 iterations (checked against a direct pbkdf2Sync)', async () => {
    const salt = Buffer.alloc(16, 7);
    const key = await deriveFernetKey('pässword', salt);
    const ref = pbkdf2Sync(Buffer.from('pässword', 'utf8'), salt, 100000, 32, 'sha256');
    assert.deepEqual(Buffer.concat([key.signingKey, key.encryptionKey]), ref);
  });

  it('round-trips lengths around the AES block size', () => {
    const key = fernetKeyFromBytes(createHash('sha256').update('k').digest());
    for (const n of [0, 1, 15, 16, 17, 1000]) {
      const data = Buffer.alloc(n, n % 251);
      assert.deepEqual(fernetDecrypt(key, fernetEncrypt(key, data)), data);
    }
  });

  it('checks the HMAC before decrypting: a wrong key or any altered byte is refused', () => {
    const key = fernetKeyFromBytes(Buffer.alloc(32, 1));
    const token = fernetEncrypt(key, Buffer.from('secret data'));
    assert.equal(codeOf(() => fernetDecrypt(fernetKeyFromBytes(Buffer.alloc(32, 2)), token)), 'wrong-password');
    for (const at of [1, 9, 30, token.length - 1]) {
      const bad = Buffer.from(token);
      bad[at]! ^= 0x01;
      assert.equal(codeOf(() => fernetDecrypt(key, bad)), 'wrong-password', `byte ${at}`);
    }
  });

  it('reports impossible tokens as corrupt, not as a wrong password', () => {
    const key = fernetKeyFromBytes(Buffer.alloc(32, 1));
    const token = fernetEncrypt(key, Buffer.from('x'));
    assert.equal(codeOf(() => fernetDecrypt(key, token.subarray(0, 40))), 'corrupt-archive');
    assert.equal(codeOf(() => fernetDecrypt(key, token.subarray(0, token.length - 1))), 'corrupt-archive');
    const badVersion = Buffer.from(token);
    badVersion[0] = 0x81;
    assert.equal(codeOf(() => fernetDecrypt(key, badVersion)), 'corrupt-archive');
  });

  it('decodes base64 strictly (Node would silently skip bad characters)', () => {
    assert.deepEqual(decodeBase64UrlStrict('aGk-_w==', 't'), Buffer.from([0x68, 0x69, 0x3e, 0xff]));
    assert.equal(codeOf(() => decodeBase64UrlStrict('aGk+_w==', 't')), 'corrupt-archive');
    assert.equal(codeOf(() => decodeBase64UrlStrict('aGk-_w=', 't')), 'corrupt-archive');
    assert.equal(codeOf(() => decodeBase64UrlStrict('aGk\u00ff_w==', 't')), 'corrupt-archive');
  });
});
