/** Alipay notifications are only trusted for the seller the channel config names (when it names one). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAlipayProvider } from '../../providers/alipay';
import { ProviderError, type ChannelCredentials } from '../../providers/types';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';

let sandbox: AlipaySandboxHandle;
let server: http.Server;
const bodies: Buffer[] = [];

beforeAll(async () => {
  sandbox = await startAlipaySandbox();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.end('success');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await sandbox.close();
});

test('seller_id must match the configured sellerId', async () => {
  const provider = createAlipayProvider();
  const creds: ChannelCredentials = await sandbox.createMerchant();
  const notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
  await provider.prepay(creds, { sceneCode: 'native', outTradeNo: 'CD0000000001C1', amountFen: 1999, subject: 's', description: 'd', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
  await sandbox.pay('CD0000000001C1');
  await sandbox.idle();
  const rawBody = bodies[bodies.length - 1];
  const seller = new URLSearchParams(rawBody.toString()).get('seller_id')!;
  expect(seller).toMatch(/^2088\d+$/);
  const ok = await provider.verifyCallback({ ...creds, secrets: { ...creds.secrets, sellerId: seller } }, { headers: {}, rawBody });
  expect(ok.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1999 });
  const err = await provider.verifyCallback({ ...creds, secrets: { ...creds.secrets, sellerId: '2088000000000000' } }, { headers: {}, rawBody }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).kind).toBe('BAD_CALLBACK');
});
