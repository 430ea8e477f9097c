/**
 * `npm run demo:order [amountFen]`: with `npm start` running, creates an order for the demo app through the
 * merchant SDK and prints the cashier link to open in a browser.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config';
import { PaySdk } from '../sdk';
import { DEMO_MERCHANT_PORT } from './lib/demo';

async function main() {
  const config = loadConfig();
  const { appId, appKey } = JSON.parse(readFileSync(path.resolve(__dirname, '..', '.data', 'demo-app.json'), 'utf8'));
  const sdk = new PaySdk({ gateway: `${config.publicBaseUrl}/api/cashier-desk`, appId, appKey });
  const amount = Number(process.argv[2] ?? 1999);
  const outTradeNo = `DEMO${Date.now()}${randomBytes(2).toString('hex')}`;
  const order = await sdk.unifiedOrder({
    amount,
    orderTitle: '演示订单',
    goodsDesc: '收银台演示商品',
    outTradeNo,
    thirdPartyUser: 'demo-user',
    notifyUrl: `http://127.0.0.1:${DEMO_MERCHANT_PORT}/pay/notify`,
    returnUrl: `http://127.0.0.1:${DEMO_MERCHANT_PORT}/return`,
  });
  // One channel per type: Alipay H5 for phones, WeChat Native (a QR code) for desktop browsers.
  const pick = (type: string, scene: string) => order.channels.find((c) => c.channelType === type && c.sceneCode === scene)?.channelId;
  const chosen = [pick('ali-pay', 'h5'), pick('wx-pay', 'native')].filter((id): id is number => typeof id === 'number');
  const url = await sdk.getPaymentListUrl(order, chosen.length ? chosen : undefined);
  console.log(`order ${outTradeNo} (¥${(amount / 100).toFixed(2)}) created; open the cashier page:\n\n  ${url}\n`);
  console.log(`query it:  the SDK's queryOrder('${outTradeNo}'), or find OutTradeNo="${outTradeNo}" in the Temporal Web UI`);
}

main().catch((err) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
