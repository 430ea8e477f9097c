/**
 * Local demo wiring for `npm start`: runs both provider sandboxes in this process (state under .data/sandbox)
 * and seeds a ready demo app bound to every channel, so a newcomer can pay an order within a minute.
 * Development only: credentials here are sandbox credentials, kept in .data/ (never committed).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../../db/connection';
import { createApp, findAppWithKeys } from '../../db/queries/apps';
import { bindChannel, createChannel, createChannelConfig, updateChannelConfig } from '../../db/queries/channels';
import type { ChannelCredentials, SceneCode } from '../../providers/types';
import { startAlipaySandbox } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { SecretBox } from '../../security/secret-box';

export const DEMO_APP_ID = '10123';
const ALIPAY_PORT = 8301;
const WECHAT_PORT = 8302;

export interface SandboxService {
  alipayUrl: string;
  wechatUrl: string;
  alipay: ChannelCredentials;
  wechat: ChannelCredentials;
  stop(): Promise<void>;
}

export async function startSandboxService(dir: string): Promise<SandboxService> {
  mkdirSync(dir, { recursive: true });
  const credsFile = path.join(dir, 'demo-merchants.json');
  const alipayState = path.join(dir, 'alipay.json');
  const wechatState = path.join(dir, 'wechat.json');
  const reuse = existsSync(credsFile) && existsSync(alipayState) && existsSync(wechatState);
  if (!reuse) for (const f of [credsFile, alipayState, wechatState]) rmSync(f, { force: true });
  const alipay = await startAlipaySandbox({ port: ALIPAY_PORT, stateFile: alipayState });
  const wechat = await startWechatSandbox({ port: WECHAT_PORT, stateFile: wechatState });
  let creds: { alipay: ChannelCredentials; wechat: ChannelCredentials };
  if (reuse) {
    creds = JSON.parse(readFileSync(credsFile, 'utf8'));
  } else {
    creds = {
      alipay: await alipay.createMerchant({ providerAppId: '2021000117617568', mchId: '2021000117617568' }),
      wechat: await wechat.createMerchant({ mchId: '1607531827', providerAppId: 'wxd930ea5d5a258f4f' }),
    };
    writeFileSync(credsFile, JSON.stringify(creds), { mode: 0o600 });
  }
  return {
    alipayUrl: alipay.url,
    wechatUrl: wechat.url,
    ...creds,
    stop: async () => {
      await alipay.close();
      await wechat.close();
    },
  };
}

const DEMO_CHANNELS: Array<{ provider: 'alipay' | 'wechat'; scenes: SceneCode[]; name: string }> = [
  { provider: 'alipay', scenes: ['h5', 'native', 'app'], name: '演示支付宝' },
  { provider: 'wechat', scenes: ['h5', 'native', 'app', 'jsapi'], name: '演示微信支付' },
];

/** Creates (first run) or refreshes (later runs) the demo channel configs, channels and the demo app. */
export async function seedDemo(db: Db, box: SecretBox, sandboxes: SandboxService, dataDir: string): Promise<{ appId: string; appKey: string }> {
  const channelIds: number[] = [];
  for (const spec of DEMO_CHANNELS) {
    const creds = sandboxes[spec.provider];
    const existing = await db('channel_configs').where({ name: spec.name }).first();
    const configId = existing ? existing.id : await createChannelConfig(db, box, { ...creds, name: spec.name });
    if (existing) await updateChannelConfig(db, box, configId, { ...creds });
    for (const [i, scene] of spec.scenes.entries()) {
      channelIds.push(await createChannel(db, { configId, channelType: creds.channelType, channelName: `${spec.name}${scene.toUpperCase()}`, sceneCode: scene, sort: i + 1 }));
    }
  }
  const keyFile = path.join(dataDir, 'demo-app.json');
  let appKey: string;
  const app = await findAppWithKeys(db, box, DEMO_APP_ID);
  if (app) {
    appKey = app.keys[0];
  } else {
    appKey = (await createApp(db, box, { appId: DEMO_APP_ID, name: '演示商户', status: 'APPROVED', notifyUrl: null, returnUrl: null })).appKey;
  }
  writeFileSync(keyFile, JSON.stringify({ appId: DEMO_APP_ID, appKey }), { mode: 0o600 });
  for (const [i, id] of channelIds.entries()) await bindChannel(db, DEMO_APP_ID, id, 'APPROVED', i + 1);
  return { appId: DEMO_APP_ID, appKey };
}
