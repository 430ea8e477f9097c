/** Channels: one scene (H5, Native, App, JSAPI) of a channel config. */
import type { Db } from '../connection';
import { SCENE_NAMES, type ChannelType, type SceneCode } from '../../domain/channel';

export async function createChannel(
  db: Db,
  input: { configId: number; channelType: ChannelType; channelName: string; sceneCode: SceneCode; sort?: number },
): Promise<number> {
  const [row] = await db('channels')
    .insert({
      config_id: input.configId,
      channel_type: input.channelType,
      channel_name: input.channelName,
      scene_code: input.sceneCode,
      scene_name: SCENE_NAMES[input.sceneCode],
      sort: input.sort ?? 1,
    })
    .onConflict(['config_id', 'scene_code'])
    .merge(['channel_name', 'sort'])
    .returning('id');
  return row.id as number;
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

/** A channel an app may apply for: exists, active, and its config active. */
export interface ApplicableChannel {
  id: number;
  channel_type: string;
  channel_name: string;
  scene_code: string;
  config_id: number;
}

export async function findApplicableChannels(db: Db, ids: number[]): Promise<ApplicableChannel[]> {
  return db('channels as c')
    .join('channel_configs as cc', 'cc.id', 'c.config_id')
    .whereIn('c.id', ids)
    .where({ 'c.status': 'ACTIVE', 'cc.status': 'ACTIVE' })
    .select('c.id', 'c.channel_type', 'c.channel_name', 'c.scene_code', 'c.config_id');
}

/** The channel config behind a channel id, if the channel exists. */
export async function channelById(db: Db, channelId: number): Promise<{ configId: number; channelType: string } | null> {
  const row: { config_id: number; channel_type: string } | undefined = await db('channels').where({ id: channelId }).first('config_id', 'channel_type');
  return row ? { configId: row.config_id, channelType: row.channel_type } : null;
}

/** The channel of a config with this scene, if one exists (a config has at most one channel per scene). */
export async function findChannelByScene(db: Db, configId: number, sceneCode: SceneCode): Promise<{ id: number } | null> {
  return ((await db('channels').where({ config_id: configId, scene_code: sceneCode }).first('id')) as { id: number } | undefined) ?? null;
}

/** The channel `channelId` if it belongs to config `configId` and is bound to app `appId` (a callback's claim). */
export async function findAppChannelInConfig(db: Db, a: { channelId: number; configId: number; appId: string }): Promise<{ id: number; scene_code: SceneCode } | null> {
  const row = await db('channels as c')
    .join('app_channels as ac', 'ac.channel_id', 'c.id')
    .where({ 'c.id': a.channelId, 'c.config_id': a.configId, 'ac.app_id': a.appId })
    .first('c.id', 'c.scene_code');
  return (row as { id: number; scene_code: SceneCode } | undefined) ?? null;
}

/** Ids of every active channel, oldest first. */
export async function listActiveChannelIds(db: Db): Promise<number[]> {
  return (await db('channels').where({ status: 'ACTIVE' }).orderBy('id').select('id')).map((c: { id: number }) => c.id);
}
