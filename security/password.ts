/**
 * Administrator password hashes in the format `scrypt$N$r$p$salt$hash` (salt and hash in base64). Verification
 * is constant-time and always does the full scrypt work, whether or not the username matched.
 */
import { randomBytes, scrypt as scryptCb, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP-style defaults: N=2^15, r=8, p=1 (32 MiB, ~50–100 ms per check). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function parsePasswordHash(encoded: string): ParsedHash | null {
  const parts = encoded.trim().split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x) ? Number(x) : NaN));
  if (!Number.isInteger(N) || N < 1024 || N > 1_048_576 || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null;
  if (!B64.test(parts[4]) || !B64.test(parts[5])) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const hash = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

function options(p: ScryptParams): ScryptOptions {
  return { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r * p.p + 16 * 1024 * 1024 };
}

function encode(p: ScryptParams, salt: Buffer, hash: Buffer): string {
  return `scrypt$${p.N}$${p.r}$${p.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function scrypt(password: string, salt: Buffer, keyLen: number, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, keyLen, options(p), (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('password must be a non-empty string');
  const salt = randomBytes(SALT_LEN);
  return encode(params, salt, await scrypt(password, salt, KEY_LEN, params));
}

/** Synchronous variant for start-up code (one hash, before the server listens). */
export function hashPasswordSync(password: string, params: ScryptParams = DEFAULT_SCRYPT): string {
  const salt = randomBytes(SALT_LEN);
  return encode(params, salt, scryptSync(password.normalize('NFKC'), salt, KEY_LEN, options(params)));
}

/** True when `password` matches `encoded`. A malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (!parsed) return false;
  const candidate = await scrypt(typeof password === 'string' ? password : '', parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}
