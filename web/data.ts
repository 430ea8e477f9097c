/** Read-only lookups the pages need beyond the order view (gateway URLs; never secrets). */
import type { Db } from '../db/connection';

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

/** The channel config behind a channel id, if the channel exists. */
export async function channelById(db: Db, channelId: number): Promise<{ configId: number; channelType: string } | null> {
  const row: { config_id: number; channel_type: string } | undefined = await db('channels').where({ id: channelId }).first('config_id', 'channel_type');
  return row ? { configId: row.config_id, channelType: row.channel_type } : null;
}
