import type { Db } from '../connection';
import type { SecretBox } from '../../security/secret-box';
import type { ChannelCredentials, ChannelType, SceneCode } from '../../providers/types';

export const SCENE_NAMES: Record<SceneCode, string> = { h5: 'H5支付', native: '扫码支付', app: 'APP支付', jsapi: '公众号/小程序支付' };

export interface ChannelConfigInput {
  channelType: ChannelType;
  name: string;
  mchId: string;
  providerAppId: string;
  gatewayUrl: string;
  secrets: Record<string, string>;
}

export async function createChannelConfig(db: Db, box: SecretBox, input: ChannelConfigInput): Promise<number> {
  const [row] = await db('channel_configs')
    .insert({
      channel_type: input.channelType,
      name: input.name,
      mch_id: input.mchId,
      provider_app_id: input.providerAppId,
      gateway_url: input.gatewayUrl,
      secrets_enc: box.seal(JSON.stringify(input.secrets)),
    })
    .returning('id');
  return row.id as number;
}

export async function updateChannelConfig(db: Db, box: SecretBox, id: number, input: Partial<ChannelConfigInput>): Promise<void> {
  const patch: Record<string, unknown> = { updated_at: db.fn.now() };
  if (input.name !== undefined) patch.name = input.name;
  if (input.mchId !== undefined) patch.mch_id = input.mchId;
  if (input.providerAppId !== undefined) patch.provider_app_id = input.providerAppId;
  if (input.gatewayUrl !== undefined) patch.gateway_url = input.gatewayUrl;
  if (input.secrets !== undefined) patch.secrets_enc = box.seal(JSON.stringify(input.secrets));
  await db('channel_configs').where({ id }).update(patch);
}

export async function loadCredentials(db: Db, box: SecretBox, configId: number): Promise<ChannelCredentials | null> {
  const row = await db('channel_configs').where({ id: configId, status: 'ACTIVE' }).first();
  if (!row) return null;
  return {
    channelType: row.channel_type,
    mchId: row.mch_id,
    providerAppId: row.provider_app_id,
    gatewayUrl: row.gateway_url,
    secrets: JSON.parse(box.open(row.secrets_enc)),
  };
}

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

export async function bindChannel(db: Db, appId: string, channelId: number, status: 'PENDING' | 'APPROVED' = 'APPROVED', sort = 1): Promise<void> {
  await db('app_channels')
    .insert({ app_id: appId, channel_id: channelId, status, sort })
    .onConflict(['app_id', 'channel_id'])
    .merge(['status', 'sort']);
}

/** A channel bound and approved for an app, in the shape of the unified-order response (DESIGN.md §3). */
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
