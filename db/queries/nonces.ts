import type { Db } from '../connection';
import type { NonceStore } from '../../signature';

/**
 * Replay protection backed by PostgreSQL: a nonce is accepted once per app within its TTL, across every API
 * process and restart. The primary key decides atomically; expired rows are swept opportunistically.
 */
export class PgNonceStore implements NonceStore {
  private lastSweep = 0;
  constructor(private readonly db: Db) {}

  async claim(appId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      await this.db('nonces').where('expires_at', '<', new Date(now)).del();
    }
    const inserted = await this.db.raw(
      `insert into nonces (app_id, nonce, expires_at) values (?, ?, ?)
       on conflict (app_id, nonce) do update set expires_at = excluded.expires_at where nonces.expires_at < now()
       returning nonce`,
      [appId, nonce, expiresAt],
    );
    return inserted.rows.length === 1;
  }
}
