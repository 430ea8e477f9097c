/**
 * The administrator credential: ADMIN_USERNAME + ADMIN_PASSWORD_HASH from configuration. Outside production,
 * when no hash is configured, a random password is generated once and kept in `<dataDir>/admin-password`
 * (mode 600) so `npm start` can print it and the API verifies against the same one after restarts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminConfig, Config } from '../config';
import { hashPasswordSync, parsePasswordHash } from './password';

export interface AdminCredential {
  username: string;
  passwordHash: string;
  /** `config`: ADMIN_PASSWORD_HASH; `file`: generated for development into `file`. */
  source: 'config' | 'file';
  /** Only for `file`: the development password, so `npm start` can show it. Never logged elsewhere. */
  password?: string;
  file?: string;
  /** Only for `file`: true when this call generated the password (so it is shown once, not at every start). */
  created?: boolean;
}

export const ADMIN_PASSWORD_FILE = 'admin-password';

export function resolveAdminCredential(config: { env: Config['env']; admin: Pick<AdminConfig, 'username' | 'passwordHash'> }, dataDir: string): AdminCredential {
  const { username, passwordHash } = config.admin;
  if (passwordHash) {
    if (!parsePasswordHash(passwordHash)) throw new Error('ADMIN_PASSWORD_HASH is not a valid scrypt$N$r$p$salt$hash value');
    return { username, passwordHash, source: 'config' };
  }
  if (config.env === 'production') throw new Error('ADMIN_PASSWORD_HASH is required in production');
  const file = path.join(dataDir, ADMIN_PASSWORD_FILE);
  let password: string | undefined;
  try {
    password = readFileSync(file, 'utf8').trim();
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let created = false;
  if (!password) {
    mkdirSync(dataDir, { recursive: true });
    const fresh = randomBytes(15).toString('base64url'); // 20 characters, 120 bits
    try {
      writeFileSync(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
      password = fresh;
      created = true;
    } catch (err) {
      // Another process (npm start vs the API) created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      password = readFileSync(file, 'utf8').trim();
    }
  }
  if (!password) throw new Error(`${file} is empty: delete it to generate a new administrator password`);
  // Cheaper parameters than DEFAULT_SCRYPT are not used even here: the hash only lives in memory.
  return { username, passwordHash: hashPasswordSync(password), source: 'file', password, file, created };
}
