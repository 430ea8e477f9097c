/** app_channels: channel-binding applications an app makes and an administrator decides, and what they bind. */
import type { Db } from '../connection';
import type { BindingStatus, ChannelType, SceneCode } from '../../domain/channel';

export interface BindingRow {
  id: number;
  app_id: string;
  channel_id: number;
  status: BindingStatus;
  sort: number;
  applied_at: Date | null;
  auto_approve_at: Date | null;
  decided_at: Date | null;
  decided_by: string | null;
  decision_note: string | null;
  workflow_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function findBinding(db: Db, appId: string, channelId: number): Promise<BindingRow | null> {
  return ((await db<BindingRow>('app_channels').where({ app_id: appId, channel_id: channelId }).first()) as BindingRow | undefined) ?? null;
}

export async function findBindingById(db: Db, id: number): Promise<BindingRow | null> {
  return ((await db<BindingRow>('app_channels').where({ id }).first()) as BindingRow | undefined) ?? null;
}

/**
 * Records an application. A new pair becomes PENDING; a REJECTED one is re-opened as PENDING (a fresh
 * application); PENDING and APPROVED rows are returned unchanged, so repeating an application is harmless.
 * Returns the row and whether this call opened a (new) application.
 */
export async function openApplication(
  db: Db,
  a: { appId: string; channelId: number; workflowId: string; autoApproveAt: Date; sort?: number },
): Promise<{ row: BindingRow; opened: boolean }> {
  const now = new Date();
  const fresh = { status: 'PENDING', applied_at: now, auto_approve_at: a.autoApproveAt, decided_at: null, decided_by: null, decision_note: null, workflow_id: a.workflowId, updated_at: now };
  const inserted = (await db('app_channels')
    .insert({ app_id: a.appId, channel_id: a.channelId, sort: a.sort ?? 1, ...fresh })
    .onConflict(['app_id', 'channel_id'])
    .ignore()
    .returning('*')) as BindingRow[];
  if (inserted.length === 1) return { row: inserted[0], opened: true };
  const reopened = (await db('app_channels').where({ app_id: a.appId, channel_id: a.channelId, status: 'REJECTED' }).update(fresh).returning('*')) as BindingRow[];
  if (reopened.length === 1) return { row: reopened[0], opened: true };
  const row = await findBinding(db, a.appId, a.channelId);
  if (!row) throw new Error('binding vanished between insert and select');
  if (row.status === 'PENDING' && !row.workflow_id) {
    // A row bound before 002 (or by a script) without bookkeeping: record the application's workflow now.
    const [patched] = (await db('app_channels').where({ id: row.id }).update({ workflow_id: a.workflowId, applied_at: row.applied_at ?? now, auto_approve_at: row.auto_approve_at ?? a.autoApproveAt }).returning('*')) as BindingRow[];
    return { row: patched, opened: false };
  }
  return { row, opened: false };
}

/**
 * The workflow's decision. Only a PENDING row changes (first decision wins, a late retry changes nothing);
 * returns the status the row has afterwards and whether this call changed it.
 */
export async function decideBinding(
  db: Db,
  d: { appId: string; channelId: number; status: 'APPROVED' | 'REJECTED'; decidedBy: string; note: string | null },
): Promise<{ status: BindingStatus; changed: boolean } | null> {
  const updated = (await db('app_channels')
    .where({ app_id: d.appId, channel_id: d.channelId, status: 'PENDING' })
    .update({ status: d.status, decided_at: db.fn.now(), decided_by: d.decidedBy.slice(0, 64), decision_note: d.note?.slice(0, 256) ?? null, updated_at: db.fn.now() })
    .returning('status')) as Array<{ status: BindingStatus }>;
  if (updated.length === 1) return { status: updated[0].status, changed: true };
  const row = await findBinding(db, d.appId, d.channelId);
  return row ? { status: row.status, changed: false } : null;
}

export interface BindingListItem extends BindingRow {
  app_name: string;
  app_status: string;
  channel_type: string;
  channel_name: string;
  scene_code: string;
  scene_name: string;
  config_id: number;
  config_name: string;
  mch_id: string;
}

export async function listBindings(
  db: Db,
  f: { status?: BindingStatus; appId?: string; page: number; pageSize: number },
): Promise<{ items: BindingListItem[]; total: number }> {
  const q = db('app_channels as ac')
    .join('apps as a', 'a.app_id', 'ac.app_id')
    .join('channels as c', 'c.id', 'ac.channel_id')
    .join('channel_configs as cc', 'cc.id', 'c.config_id');
  if (f.status) q.where('ac.status', f.status);
  if (f.appId) q.where('ac.app_id', f.appId);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q
    .select(
      'ac.*',
      'a.name as app_name',
      'a.status as app_status',
      'c.channel_type',
      'c.channel_name',
      'c.scene_code',
      'c.scene_name',
      'c.config_id',
      'cc.name as config_name',
      'cc.mch_id',
    )
    .orderByRaw('coalesce(ac.applied_at, ac.created_at) desc, ac.id desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)) as BindingListItem[];
  return { items, total: Number(n) };
}

export async function bindChannel(db: Db, appId: string, channelId: number, status: 'PENDING' | 'APPROVED' = 'APPROVED', sort = 1): Promise<void> {
  await db('app_channels')
    .insert({ app_id: appId, channel_id: channelId, status, sort })
    .onConflict(['app_id', 'channel_id'])
    .merge(['status', 'sort']);
}

/** A channel bound and approved for an app, in the shape of the unified-order response's `channels`. */
export interface AppChannel {
  id: number;
  appId: string;
  appName: string;
  channelId: number;
  channelType: ChannelType;
  channelName: string;
  sceneName: string;
  sceneCode: SceneCode;
  configId: number;
  mchId: string;
  sort: number;
}

export async function listApprovedAppChannels(db: Db, appId: string): Promise<AppChannel[]> {
  const rows = await db('app_channels as ac')
    .join('apps as a', 'a.app_id', 'ac.app_id')
    .join('channels as c', 'c.id', 'ac.channel_id')
    .join('channel_configs as cc', 'cc.id', 'c.config_id')
    .where({ 'ac.app_id': appId, 'ac.status': 'APPROVED', 'c.status': 'ACTIVE', 'cc.status': 'ACTIVE' })
    .orderBy([{ column: 'ac.sort' }, { column: 'c.id' }])
    .select(
      'ac.id',
      'ac.app_id',
      'a.name as app_name',
      'c.id as channel_id',
      'c.channel_type',
      'c.channel_name',
      'c.scene_name',
      'c.scene_code',
      'c.config_id',
      'cc.mch_id',
      'ac.sort',
    );
  return rows.map((r) => ({
    id: r.id,
    appId: r.app_id,
    appName: r.app_name,
    channelId: r.channel_id,
    channelType: r.channel_type,
    channelName: r.channel_name,
    sceneName: r.scene_name,
    sceneCode: r.scene_code,
    configId: r.config_id,
    mchId: r.mch_id,
    sort: r.sort,
  }));
}
