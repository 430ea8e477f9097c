/**
 * Local demo wiring for `npm start`: runs both provider sandboxes in this process (state under .data/sandbox)
 * and seeds a ready demo app bound to every channel, so a newcomer can pay an order within a minute.
 * Development only: credentials here are sandbox credentials, kept in .data/ (never committed).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Db } from '../../db/connection';
import { createApp, findAppWithKeys } from '../../db/queries/apps';
import { bindChannel } from '../../db/queries/app-channels';
import { createChannel } from '../../db/queries/channels';
import { createChannelConfig, findChannelConfigIdByName, updateChannelConfig } from '../../db/queries/channel-configs';
import type { ChannelCredentials, SceneCode } from '../../providers/types';
import { startAlipaySandbox } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { SecretBox } from '../../security/secret-box';
import { PaySdk } from '../../sdk';

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
export async function seedDemo(db: Db, box: SecretBox, sandboxes: SandboxService, dataDir: string): Promise<{ appId: string; appKey: string; newKey: string | null }> {
  const channelIds: number[] = [];
  for (const spec of DEMO_CHANNELS) {
    const creds = sandboxes[spec.provider];
    const existing = await findChannelConfigIdByName(db, spec.name);
    const configId = existing ?? (await createChannelConfig(db, box, { ...creds, name: spec.name }));
    if (existing) await updateChannelConfig(db, box, configId, { ...creds });
    for (const [i, scene] of spec.scenes.entries()) {
      channelIds.push(await createChannel(db, { configId, channelType: creds.channelType, channelName: `${spec.name}${scene.toUpperCase()}`, sceneCode: scene, sort: i + 1 }));
    }
  }
  const keyFile = path.join(dataDir, 'demo-app.json');
  const app = await findAppWithKeys(db, box, DEMO_APP_ID);
  // The key is shown once, when it is created; later runs read it from .data/demo-app.json (mode 600).
  const newKey = app ? null : (await createApp(db, box, { appId: DEMO_APP_ID, name: '演示商户', status: 'APPROVED', notifyUrl: null, returnUrl: null })).appKey;
  const appKey = app ? app.keys[0] : newKey!;
  writeFileSync(keyFile, JSON.stringify({ appId: DEMO_APP_ID, appKey }), { mode: 0o600 });
  for (const [i, id] of channelIds.entries()) await bindChannel(db, DEMO_APP_ID, id, 'APPROVED', i + 1);
  return { appId: DEMO_APP_ID, appKey, newKey };
}

export const DEMO_MERCHANT_PORT = 8303;

/**
 * The demo app's backend: a merchant endpoint built with the merchant SDK, verifying and acknowledging the
 * cashier desk's signed notifications, and a return page for the browser after payment.
 */
export async function startDemoMerchant(publicBaseUrl: string, appId: string, appKey: string, say: (l: string) => void) {
  const notifyUrl = `http://127.0.0.1:${DEMO_MERCHANT_PORT}/pay/notify`;
  const sdk = new PaySdk({ gateway: `${publicBaseUrl}/api/cashier-desk`, appId, appKey, notifyUrl });
  const handler = sdk.notificationHandler(async (n) =>
    say(`demo merchant: ${n.eventType ?? 'PAYMENT_RESULT'} ${n.eventType === 'TRANSFER_RESULT' ? n.outBizNo : n.outTradeNo} ${n.resultCode} ¥${(n.amount / 100).toFixed(2)} (attempt ${n.attempt})`),
  );
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/pay/notify')) return handler(req, res);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>演示商户</title><h1 style="font-family:sans-serif">演示商户：支付完成，感谢您的购买</h1>');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(DEMO_MERCHANT_PORT, '127.0.0.1', resolve));
  return {
    notifyUrl,
    returnUrl: `http://127.0.0.1:${DEMO_MERCHANT_PORT}/return`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
