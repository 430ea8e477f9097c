/** Administrator sessions and login attempts (admin_sessions, admin_login_attempts). */
import type { Db } from '../connection';

export interface AdminSessionRow {
  id_hash: string;
  username: string;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export async function insertSession(
  db: Db,
  s: { idHash: string; username: string; csrfToken: string; ip: string; userAgent: string | null; expiresAt: Date },
): Promise<void> {
  await db('admin_sessions').insert({
    id_hash: s.idHash,
    username: s.username,
    csrf_token: s.csrfToken,
    ip: s.ip.slice(0, 64),
    user_agent: s.userAgent?.slice(0, 256) ?? null,
    expires_at: s.expiresAt,
  });
}

/** The session if it exists and has neither passed its absolute expiry nor been idle too long. */
export async function findLiveSession(db: Db, idHash: string, idleSeconds: number, now = new Date()): Promise<AdminSessionRow | null> {
  const row = (await db<AdminSessionRow>('admin_sessions').where({ id_hash: idHash }).first()) as AdminSessionRow | undefined;
  if (!row) return null;
  if (row.expires_at <= now || row.last_seen_at.getTime() + idleSeconds * 1000 <= now.getTime()) {
    await db('admin_sessions').where({ id_hash: idHash }).delete();
    return null;
  }
  return row;
}

export async function touchSession(db: Db, idHash: string, now = new Date()): Promise<void> {
  await db('admin_sessions').where({ id_hash: idHash }).update({ last_seen_at: now });
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db('admin_sessions').where({ id_hash: idHash }).delete();
}

export async function purgeExpiredSessions(db: Db, idleSeconds: number, now = new Date()): Promise<number> {
  return db('admin_sessions')
    .where('expires_at', '<=', now)
    .orWhere('last_seen_at', '<=', new Date(now.getTime() - idleSeconds * 1000))
    .delete();
}

export async function recordLoginAttempt(db: Db, a: { username: string; ip: string; success: boolean }): Promise<number> {
  const [row] = await db('admin_login_attempts').insert({ username: a.username.slice(0, 64), ip: a.ip.slice(0, 64), success: a.success }).returning('id');
  return Number((row as { id: string | number }).id);
}

/** A claimed attempt (recorded as a failure before the password was checked) that turned out right. */
export async function markLoginAttemptSucceeded(db: Db, id: number): Promise<void> {
  await db('admin_login_attempts').where({ id }).update({ success: true });
}

/** A claimed attempt refused by the lockout: it checked nothing, so it does not count. */
export async function deleteLoginAttempt(db: Db, id: number): Promise<void> {
  await db('admin_login_attempts').where({ id }).delete();
}

/** Failures since `since` for the username and for the IP, and when the oldest of each leaves the window. */
export async function recentFailures(db: Db, username: string, ip: string, since: Date): Promise<{ byUser: number; byIp: number; oldestUser: Date | null; oldestIp: Date | null }> {
  const [u, i] = await Promise.all([
    db('admin_login_attempts').where({ username: username.slice(0, 64), success: false }).where('at', '>', since).count<{ n: string }[]>({ n: '*' }).min({ oldest: 'at' }).first(),
    db('admin_login_attempts').where({ ip: ip.slice(0, 64), success: false }).where('at', '>', since).count<{ n: string }[]>({ n: '*' }).min({ oldest: 'at' }).first(),
  ]);
  const rowU = u as unknown as { n: string | number; oldest: Date | null };
  const rowI = i as unknown as { n: string | number; oldest: Date | null };
  return { byUser: Number(rowU.n), byIp: Number(rowI.n), oldestUser: rowU.oldest, oldestIp: rowI.oldest };
}

/** A successful login forgives that username's failures (the per-IP count stays until the window passes). */
export async function clearUserFailures(db: Db, username: string): Promise<void> {
  await db('admin_login_attempts').where({ username: username.slice(0, 64), success: false }).delete();
}

export async function purgeOldLoginAttempts(db: Db, before: Date): Promise<void> {
  await db('admin_login_attempts').where('at', '<', before).delete();
}
