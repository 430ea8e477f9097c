import { randomBytes, randomInt } from 'node:crypto';
import type { Db } from '../connection';
import type { SecretBox } from '../../security/secret-box';
import type { SignType } from '../../signature';

export type AppStatus = 'PENDING' | 'APPROVED' | 'DISABLED';

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
  if (row.previous_app_key_enc && row.previous_key_valid_until && row.previous_key_valid_until > now) keys.push(box.open(row.previous_app_key_enc));
  return {
    appId: row.app_id,
    name: row.name,
    status: row.status,
    notifyUrl: row.notify_url,
    returnUrl: row.return_url,
    signType: row.sign_type,
    keys,
  };
}
