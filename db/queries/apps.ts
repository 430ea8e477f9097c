import { randomBytes, randomInt } from 'node:crypto';
import type { Db } from '../connection';
import type { SecretBox } from '../../security/secret-box';
import type { SignType } from '../../signature';

import type { AppStatus } from '../../domain/app';

export type { AppStatus };

export interface AppRow {
  app_id: string;
  name: string;
  status: AppStatus;
  notify_url: string | null;
  return_url: string | null;
  contact: string | null;
  sign_type: SignType;
  app_key_enc: string;
  previous_app_key_enc: string | null;
  previous_key_valid_until: Date | null;
  key_rotated_at: Date | null;
  new_key_first_used_at: Date | null;
}

export interface AppWithKeys {
  appId: string;
  name: string;
  status: AppStatus;
  notifyUrl: string | null;
  returnUrl: string | null;
  signType: SignType;
  /** The current key first; the previous key while a rotation's grace period lasts. */
  keys: string[];
  /** While the previous key is valid: when the rotation happened and whether the app has authenticated with the new key yet. */
  rotation: { rotatedAt: Date; newKeyInUse: boolean } | null;
}

export function generateAppKey(): string {
  return randomBytes(24).toString('base64url'); // 32 chars, 192 bits
}

export async function createApp(
  db: Db,
  box: SecretBox,
  input: { name: string; status?: AppStatus; notifyUrl?: string | null; returnUrl?: string | null; contact?: string | null; signType?: SignType; appId?: string },
): Promise<{ appId: string; appKey: string }> {
  const appKey = generateAppKey();
  for (let tries = 0; ; tries++) {
    const appId = input.appId ?? String(randomInt(10_000_000, 99_999_999));
    const inserted = await db('apps')
      .insert({
        app_id: appId,
        name: input.name,
        status: input.status ?? 'PENDING',
        notify_url: input.notifyUrl ?? null,
        return_url: input.returnUrl ?? null,
        contact: input.contact ?? null,
        sign_type: input.signType ?? 'HMAC-SHA256',
        app_key_enc: box.seal(appKey),
      })
      .onConflict('app_id')
      .ignore()
      .returning('app_id');
    if (inserted.length === 1) return { appId, appKey };
    if (input.appId || tries > 5) throw new Error(`app id ${appId} already exists`);
  }
}

export async function findAppWithKeys(db: Db, box: SecretBox, appId: string, now = new Date()): Promise<AppWithKeys | null> {
  const row = (await db<AppRow>('apps').where({ app_id: appId }).first()) as AppRow | undefined;
  if (!row) return null;
  const keys = [box.open(row.app_key_enc)];
  const inGrace = !!row.previous_app_key_enc && !!row.previous_key_valid_until && row.previous_key_valid_until > now;
  if (inGrace) keys.push(box.open(row.previous_app_key_enc!));
  return {
    appId: row.app_id,
    name: row.name,
    status: row.status,
    notifyUrl: row.notify_url,
    returnUrl: row.return_url,
    signType: row.sign_type,
    keys,
    rotation: inGrace && row.key_rotated_at ? { rotatedAt: row.key_rotated_at, newKeyInUse: row.new_key_first_used_at !== null } : null,
  };
}

/**
 * The key notifications are signed with. After a rotation the merchant may still verify with the previous key only
 * (it deploys the new key when it can, within the grace period), so notifications keep using the previous key until
 * the app has authenticated a request with the new one, which proves the merchant holds it. After the grace period
 * only the current key exists.
 */
export function notificationKey(app: Pick<AppWithKeys, 'keys' | 'rotation'>): string {
  return app.rotation && !app.rotation.newKeyInUse && app.keys.length > 1 ? app.keys[1] : app.keys[0];
}

/**
 * Records that the app authenticated with its current key (once per rotation). Conditional on the rotation it read:
 * a request verified with a key that a concurrent rotation has just made "previous" must not mark the newer key used.
 */
export async function markNewKeyInUse(db: Db, app: Pick<AppWithKeys, 'appId' | 'rotation'>): Promise<void> {
  if (!app.rotation || app.rotation.newKeyInUse) return;
  await db('apps')
    .where({ app_id: app.appId })
    .whereNull('new_key_first_used_at')
    // pg Dates carry milliseconds; the column keeps microseconds.
    .whereRaw(`date_trunc('milliseconds', key_rotated_at) = ?`, [app.rotation.rotatedAt])
    .update({ new_key_first_used_at: db.fn.now() });
}

const escapeLike = (s: string) => s.replace(/[%_\\]/g, '\\$&');

/** An app as the console lists it: the row without its key material, plus binding counts. */
export interface AppListItem extends Omit<AppRow, 'app_key_enc' | 'previous_app_key_enc' | 'new_key_first_used_at'> {
  key_rotated_at: Date | null;
  status_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  bindings_approved: number;
  bindings_pending: number;
}

/** Columns safe to show: never app_key_enc / previous_app_key_enc. */
const APP_COLUMNS = [
  'a.app_id',
  'a.name',
  'a.status',
  'a.notify_url',
  'a.return_url',
  'a.contact',
  'a.sign_type',
  'a.previous_key_valid_until',
  'a.key_rotated_at',
  'a.status_changed_at',
  'a.created_at',
  'a.updated_at',
];

function appsQuery(db: Db) {
  return db('apps as a').select(
    ...APP_COLUMNS,
    db.raw(`(select count(*)::int from app_channels ac where ac.app_id = a.app_id and ac.status = 'APPROVED') as bindings_approved`),
    db.raw(`(select count(*)::int from app_channels ac where ac.app_id = a.app_id and ac.status = 'PENDING') as bindings_pending`),
  );
}

export async function listApps(db: Db, f: { status?: AppStatus; q?: string; page: number; pageSize: number }): Promise<{ items: AppListItem[]; total: number }> {
  const filter = (q: ReturnType<Db>) => {
    if (f.status) q.where('a.status', f.status);
    if (f.q) {
      const like = `%${escapeLike(f.q)}%`;
      q.where((w) => w.where('a.app_id', f.q!).orWhereILike('a.name', like).orWhereILike('a.contact', like));
    }
    return q;
  };
  const [{ n }] = (await filter(db('apps as a')).count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await filter(appsQuery(db)).orderBy('a.created_at', 'desc').limit(f.pageSize).offset((f.page - 1) * f.pageSize)) as AppListItem[];
  return { items, total: Number(n) };
}

export async function getApp(db: Db, appId: string): Promise<AppListItem | null> {
  return ((await appsQuery(db).where('a.app_id', appId).first()) as AppListItem | undefined) ?? null;
}

/** Moves an app to `to` from one of `from`; returns false when the app was in none of them. */
export async function setAppStatus(db: Db, appId: string, from: AppStatus[], to: AppStatus): Promise<boolean> {
  const n = await db('apps').where({ app_id: appId }).whereIn('status', from).update({ status: to, status_changed_at: db.fn.now(), updated_at: db.fn.now() });
  return n === 1;
}

export async function updateApp(db: Db, appId: string, patch: { name?: string; notifyUrl?: string | null; returnUrl?: string | null; contact?: string | null }): Promise<boolean> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.notifyUrl !== undefined) row.notify_url = patch.notifyUrl;
  if (patch.returnUrl !== undefined) row.return_url = patch.returnUrl;
  if (patch.contact !== undefined) row.contact = patch.contact;
  return (await db('apps').where({ app_id: appId }).update(row)) === 1;
}

/**
 * Key rotation: a new current key; the key that was current stays valid until `graceUntil` (only two keys
 * are ever valid: a key still in an earlier grace period is dropped). Returns the new key, once.
 */
export async function rotateAppKey(db: Db, box: SecretBox, appId: string, graceUntil: Date): Promise<{ appKey: string; previousKeyValidUntil: Date } | null> {
  const appKey = generateAppKey();
  const rows = (await db('apps')
    .where({ app_id: appId })
    .update({
      previous_app_key_enc: db.ref('app_key_enc'),
      previous_key_valid_until: graceUntil,
      app_key_enc: box.seal(appKey),
      key_rotated_at: db.fn.now(),
      new_key_first_used_at: null, // the merchant has yet to prove it holds the new key
      updated_at: db.fn.now(),
    })
    .returning('app_id')) as unknown[];
  return rows.length === 1 ? { appKey, previousKeyValidUntil: graceUntil } : null;
}
