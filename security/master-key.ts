import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseMasterKey, type Config } from '../config';

/**
 * The master key from configuration; outside production, a key generated once and kept in .data/master.key
 * (mode 600) so `npm start` works on embedded defaults and survives restarts. Never in the repo.
 */
export function resolveMasterKey(config: Config, dataDir: string): Buffer {
  if (config.masterKey) return config.masterKey;
  if (config.env === 'production') throw new Error('CASHIER_MASTER_KEY is required in production');
  const file = path.join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return parseMasterKey(readFileSync(file, 'utf8').trim());
}
