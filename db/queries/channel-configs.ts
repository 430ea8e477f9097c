/** Channel configs (商户信息): a wallet merchant account with its secrets, encrypted at rest. */
import type { Db } from '../connection';
import type { SecretBox } from '../../security/secret-box';
import type { ChannelCredentials, ChannelType } from '../../providers/types';
import type { ChannelView } from './channels';

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

/**
 * The decrypted credentials of an ACTIVE channel config. `anyStatus` also loads a disabled one: refunds of
 * payments taken through it must still reach the provider after the config stopped taking new payments.
 */
export async function loadCredentials(db: Db, box: SecretBox, configId: number, opts: { anyStatus?: boolean } = {}): Promise<ChannelCredentials | null> {
  const row = await db('channel_configs').where({ id: configId, ...(opts.anyStatus ? {} : { status: 'ACTIVE' }) }).first();
  if (!row) return null;
  return {
    channelType: row.channel_type,
    mchId: row.mch_id,
    providerAppId: row.provider_app_id,
    gatewayUrl: row.gateway_url,
    secrets: JSON.parse(box.open(row.secrets_enc)),
  };
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

export interface GatewayInfo {
  configId: number;
  channelType: string;
  gatewayUrl: string;
}

/** Gateway URLs of the given channel configs (active or not: a page only derives origins from them). */
export async function gatewaysOf(db: Db, configIds: readonly number[]): Promise<GatewayInfo[]> {
  if (configIds.length === 0) return [];
  const rows: Array<{ id: number; channel_type: string; gateway_url: string }> = await db('channel_configs')
    .whereIn('id', [...new Set(configIds)])
    .select('id', 'channel_type', 'gateway_url');
  return rows.map((r) => ({ configId: r.id, channelType: r.channel_type, gatewayUrl: r.gateway_url }));
}

/** The id of the channel config with this display name, if any (names identify the demo's configs). */
export async function findChannelConfigIdByName(db: Db, name: string): Promise<number | null> {
  const row = (await db('channel_configs').where({ name }).first('id')) as { id: number } | undefined;
  return row?.id ?? null;
}

/** Active channel configs (id and type), e.g. the ones a daily reconciliation covers. */
export async function listActiveChannelConfigs(db: Db): Promise<Array<{ id: number; channelType: string }>> {
  const rows = (await db('channel_configs').where({ status: 'ACTIVE' }).orderBy('id').select('id', 'channel_type')) as Array<{ id: number; channel_type: string }>;
  return rows.map((r) => ({ id: r.id, channelType: r.channel_type }));
}
