// Fernet (https://github.com/fernet/spec) and the easy-dataset-share key derivation, with node:crypto only.
// Token layout (decoded): 0x80 | timestamp (8, big-endian) | IV (16) | AES-128-CBC ciphertext, PKCS7 | HMAC (32).
// The HMAC-SHA256 over everything before it is checked in constant time BEFORE any decryption, so a wrong key
// is reported as such and never yields garbage plaintext.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { UserError } from '../errors';

const pbkdf2Async = promisify(pbkdf2);

/** easy-dataset-share: PBKDF2-HMAC-SHA256, 100 000 iterations (~60 ms on one core), 32-byte key. */
export const PBKDF2_ITERATIONS = 100_000;
export const SALT_BYTES = 16;
const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16; // version + timestamp + IV
const HMAC_BYTES = 32;
const BLOCK = 16;

/** A Fernet key: 16 bytes signing + 16 bytes encryption (the two halves of the 32-byte key). */
export interface FernetKey {
  signingKey: Buffer;
  encryptionKey: Buffer;
}

export function fernetKeyFromBytes(key32: Buffer): FernetKey {
  if (key32.length !== 32) throw new Error(`A Fernet key is 32 bytes, got ${key32.length}.`);
  return { signingKey: key32.subarray(0, 16), encryptionKey: key32.subarray(16, 32) };
}

/** The url-safe base64 form Fernet keys are usually written in (44 characters). */
export function fernetKeyFromBase64(key: string): FernetKey {
  return fernetKeyFromBytes(decodeBase64UrlStrict(key, 'Fernet key'));
}

export async function deriveFernetKey(password: string, salt: Buffer): Promise<FernetKey> {
  const key = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, PBKDF2_ITERATIONS, 32, 'sha256');
  return fernetKeyFromBytes(key);
}

/**
 * Strict url-safe base64 (as Python's base64.urlsafe_b64decode with validation): only A-Z a-z 0-9 - _ and
 * trailing `=`, length a multiple of 4 once padded. Node's own decoder silently skips bad characters, which would
 * turn a corrupt file into a confusing HMAC failure ("wrong password"), so we check first.
 */
export function decodeBase64UrlStrict(text: string, what: string): Buffer {
  const trimmed = text.replace(/\s+$/, '');
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(trimmed)) {
    const bad = trimmed.search(/[^A-Za-z0-9_=-]/);
    throw new UserError('corrupt-archive', `The ${what} is not valid base64: unexpected character at offset ${bad}. The file is corrupt; download it again.`);
  }
  if (trimmed.length % 4 !== 0) {
    throw new UserError('corrupt-archive', `The ${what} is not valid base64: its length (${trimmed.length}) is not a multiple of 4, so the file is probably truncated. Download it again.`);
  }
  return Buffer.from(trimmed, 'base64url');
}

/**
 * Decrypts a Fernet token (already base64-decoded). Throws UserError 'wrong-password' on an HMAC mismatch and
 * 'corrupt-archive' when the token cannot be a Fernet token at all (too short, bad version, bad padding after a
 * valid HMAC).
 */
export function fernetDecrypt(key: FernetKey, token: Buffer): Buffer {
  if (token.length < HEADER_BYTES + BLOCK + HMAC_BYTES) {
    throw new UserError('corrupt-archive', `The encrypted data is too short (${token.length} bytes) to be a Fernet token; the file is truncated or not an easy-dataset-share archive.`);
  }
  if (token[0] !== VERSION) {
    throw new UserError('corrupt-archive', `The encrypted data does not start with the Fernet version byte 0x80 (found 0x${token[0]!.toString(16)}); the file is corrupt or not an easy-dataset-share archive.`);
  }
  const bodyLength = token.length - HEADER_BYTES - HMAC_BYTES;
  if (bodyLength % BLOCK !== 0) {
    throw new UserError('corrupt-archive', `The ciphertext length (${bodyLength} bytes) is not a multiple of 16; the file is truncated or corrupt.`);
  }
  const signed = token.subarray(0, token.length - HMAC_BYTES);
  const expected = createHmac('sha256', key.signingKey).update(signed).digest();
  if (!timingSafeEqual(expected, token.subarray(token.length - HMAC_BYTES))) {
    throw new UserError('wrong-password', 'The signature check failed: wrong password or key (or the encrypted data was altered).');
  }
  const iv = token.subarray(9, HEADER_BYTES);
  const decipher = createDecipheriv('aes-128-cbc', key.encryptionKey, iv);
  try {
    return Buffer.concat([decipher.update(token.subarray(HEADER_BYTES, token.length - HMAC_BYTES)), decipher.final()]);
  } catch {
    throw new UserError('corrupt-archive', 'The data passed its signature check but its padding is invalid; the archive was made by a faulty tool.');
  }
}

/** Encrypts into a Fernet token (raw bytes; base64url-encode it for the text form). */
export function fernetEncrypt(key: FernetKey, plaintext: Buffer, nowSeconds = Math.floor(Date.now() / 1000), iv: Buffer = randomBytes(16)): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(nowSeconds), 1);
  iv.copy(header, 9);
  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv);
  const body = Buffer.concat([header, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signingKey).update(body).digest();
  return Buffer.concat([body, mac]);
}
