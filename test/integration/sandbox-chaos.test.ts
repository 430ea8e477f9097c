/**
 * The sandboxes' chaos control (used by npm run test:faults): off by default, rates validated, a 5xx rate fails
 * the real adapters' calls as unavailable, a callback drop rate loses payment notifications (kept in the log).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDefaultProviders } from '../../providers';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';

let alipay: AlipaySandboxHandle;
let wechat: WechatSandboxHandle;
let receiver: http.Server;
let notifyUrl: string;
let received = 0;
const providers = createDefaultProviders();

beforeAll(async () => {
  alipay = await startAlipaySandbox();
  wechat = await startWechatSandbox();
  receiver = http.createServer((req, res) => {
    received++;
    req.resume();
    req.on('end', () => res.writeHead(200).end('success'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
});

afterAll(async () => {
  await alipay?.close();
  await wechat?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

const prepayRequest = (outTradeNo: string) => ({ sceneCode: 'native' as const, outTradeNo, amountFen: 100, subject: 's', description: 'd', notifyUrl, expireAt: new Date(Date.now() + 600_000) });

test('off by default; GET shows rates and counts; a rate outside 0…1 is a 400', async () => {
  for (const url of [alipay.url, wechat.url]) {
    expect(await (await fetch(`${url}/__sim/chaos`)).json()).toEqual({ http5xxRate: 0, callbackDropRate: 0, counts: { http5xx: 0, callbacksDropped: 0 } });
    const bad = await fetch(`${url}/__sim/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ http5xxRate: 1.5 }) });
    expect(bad.status).toBe(400);
  }
});

test.each(['ali-pay', 'wx-pay'] as const)('%s: a 5xx rate of 1 makes every call unavailable; a drop rate of 1 loses the payment callback', async (channelType) => {
  const sandbox = channelType === 'ali-pay' ? alipay : wechat;
  const creds = await sandbox.createMerchant();
  const provider = providers.get(channelType);
  const no = `C${channelType === 'ali-pay' ? 'A' : 'W'}${Date.now()}`;
  await fetch(`${sandbox.url}/__sim/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ http5xxRate: 1 }) });
  await expect(provider.prepay(creds, prepayRequest(no))).rejects.toMatchObject({ name: 'ProviderError', kind: 'UNAVAILABLE' });
  await fetch(`${sandbox.url}/__sim/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ http5xxRate: 0, callbackDropRate: 1 }) });
  await provider.prepay(creds, prepayRequest(no));
  const before = received;
  if (channelType === 'ali-pay') {
    await alipay.pay(no, { appId: creds.mchId });
    expect(alipay.notifications({ outTradeNo: no }).map((d) => d.kind)).toEqual(['lost']);
  } else {
    await wechat.pay(no, { mchid: creds.mchId });
    const log = await wechat.notifications({ outTradeNo: no });
    expect(log.map((d) => d.mode)).toEqual(['lost']);
    expect(log[0].sent?.body).toContain('TRANSACTION.SUCCESS');
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(received).toBe(before);
  const state = (await (await fetch(`${sandbox.url}/__sim/chaos`)).json()) as { counts: { http5xx: number; callbacksDropped: number } };
  expect(state.counts.http5xx).toBeGreaterThanOrEqual(1);
  expect(state.counts.callbacksDropped).toBe(1);
  await fetch(`${sandbox.url}/__sim/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ http5xxRate: 0, callbackDropRate: 0 }) });
});
