/** What the administrator console reads and changes: apps, channel configs and channels, orders. */
import type { Db } from '../connection';
import type { SecretBox } from '../../security/secret-box';
import { generateAppKey, type AppRow, type AppStatus } from './apps';

const escapeLike = (s: string) => s.replace(/[%_\\]/g, '\\$&');

/** An app as the console lists it: the row without its key material, plus binding counts. */
export interface AppListItem extends Omit<AppRow, 'app_key_enc' | 'previous_app_key_enc'> {
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
      updated_at: db.fn.now(),
    })
    .returning('app_id')) as unknown[];
  return rows.length === 1 ? { appKey, previousKeyValidUntil: graceUntil } : null;
}

export interface ChannelConfigView {
  id: number;
  channel_type: string;
  name: string;
  mch_id: string;
  provider_app_id: string;
  gateway_url: string;
  status: string;
  created_at: Date;
  updated_at: Date;
  /** Names of the stored secret fields (never their values). */
  secretFields: string[];
  channels: ChannelView[];
}

export interface ChannelView {
  id: number;
  config_id: number;
  channel_type: string;
  channel_name: string;
  scene_code: string;
  scene_name: string;
  sort: number;
  status: string;
}

function secretFieldNames(box: SecretBox, sealed: string): string[] {
  try {
    return Object.keys(JSON.parse(box.open(sealed)) as Record<string, unknown>).sort();
  } catch {
    return [];
  }
}

export async function listChannelConfigs(db: Db, box: SecretBox): Promise<ChannelConfigView[]> {
  const configs = await db('channel_configs').orderBy('id');
  const channels = (await db('channels').orderBy([{ column: 'config_id' }, { column: 'sort' }, { column: 'id' }])) as ChannelView[];
  return configs.map((c) => ({
    id: c.id,
    channel_type: c.channel_type,
    name: c.name,
    mch_id: c.mch_id,
    provider_app_id: c.provider_app_id,
    gateway_url: c.gateway_url,
    status: c.status,
    created_at: c.created_at,
    updated_at: c.updated_at,
    secretFields: secretFieldNames(box, c.secrets_enc),
    channels: channels
      .filter((ch) => ch.config_id === c.id)
      .map((ch) => ({ id: ch.id, config_id: ch.config_id, channel_type: ch.channel_type, channel_name: ch.channel_name, scene_code: ch.scene_code, scene_name: ch.scene_name, sort: ch.sort, status: ch.status })),
  }));
}

export async function getChannelConfig(db: Db, box: SecretBox, id: number): Promise<ChannelConfigView | null> {
  return (await listChannelConfigs(db, box)).find((c) => c.id === id) ?? null;
}

export async function channelConfigExists(db: Db, id: number): Promise<{ id: number; channel_type: string } | null> {
  return ((await db('channel_configs').where({ id }).first('id', 'channel_type')) as { id: number; channel_type: string } | undefined) ?? null;
}

export async function setChannelConfigStatus(db: Db, id: number, status: 'ACTIVE' | 'DISABLED'): Promise<void> {
  await db('channel_configs').where({ id }).update({ status, updated_at: db.fn.now() });
}

export async function findChannel(db: Db, id: number): Promise<ChannelView | null> {
  return ((await db('channels').where({ id }).first()) as ChannelView | undefined) ?? null;
}

export async function updateChannel(db: Db, id: number, patch: { channelName?: string; sort?: number; status?: 'ACTIVE' | 'DISABLED' }): Promise<void> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (patch.channelName !== undefined) row.channel_name = patch.channelName;
  if (patch.sort !== undefined) row.sort = patch.sort;
  if (patch.status !== undefined) row.status = patch.status;
  await db('channels').where({ id }).update(row);
}

export interface OrderListItem {
  id: number;
  app_id: string;
  app_name: string;
  out_trade_no: string;
  amount: number;
  order_title: string;
  status: string;
  channel_type: string | null;
  notify_status: string;
  pay_time: Date | null;
  created_at: Date;
  workflow_id: string;
}

export interface OrderSearch {
  outTradeNo?: string;
  status?: string;
  appId?: string;
  createdFrom?: Date;
  createdTo?: Date;
  page: number;
  pageSize: number;
}

export async function searchOrders(db: Db, f: OrderSearch): Promise<{ items: OrderListItem[]; total: number }> {
  const q = db('orders as o').join('apps as a', 'a.app_id', 'o.app_id');
  if (f.outTradeNo) q.where('o.out_trade_no', f.outTradeNo);
  if (f.status) q.where('o.status', f.status);
  if (f.appId) q.where('o.app_id', f.appId);
  if (f.createdFrom) q.where('o.created_at', '>=', f.createdFrom);
  if (f.createdTo) q.where('o.created_at', '<', f.createdTo);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q
    .select('o.id', 'o.app_id', 'a.name as app_name', 'o.out_trade_no', 'o.amount', 'o.order_title', 'o.status', 'o.channel_type', 'o.notify_status', 'o.pay_time', 'o.created_at', 'o.workflow_id')
    .orderBy([{ column: 'o.created_at', order: 'desc' }, { column: 'o.id', order: 'desc' }])
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)) as OrderListItem[];
  return { items, total: Number(n) };
}

export async function countOverview(db: Db): Promise<{ pendingApps: number; pendingBindings: number; ordersToday: number; notifyProblems: number }> {
  const since = new Date(Date.now() - 24 * 3600_000);
  const [a, b, o, p] = await Promise.all([
    db('apps').where({ status: 'PENDING' }).count({ n: '*' }),
    db('app_channels').where({ status: 'PENDING' }).count({ n: '*' }),
    db('orders').where('created_at', '>=', since).count({ n: '*' }),
    db('orders').whereIn('notify_status', ['PENDING', 'NOTIFY_EXHAUSTED']).count({ n: '*' }),
  ]);
  const n = (r: Array<Record<string, unknown>>) => Number(r[0].n);
  return { pendingApps: n(a), pendingBindings: n(b), ordersToday: n(o), notifyProblems: n(p) };
}
