/**
 * The provider sandboxes of `npm run bench` in a process of their own, so the buyer's payments and the
 * sandboxes' callbacks do not share a core with the load generator. Prints one JSON line with the URLs and
 * merchant credentials, then serves until SIGTERM.
 */
import { startAlipaySandbox } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';

async function main() {
  const alipay = await startAlipaySandbox({ port: 0 });
  const wechat = await startWechatSandbox({ port: 0 });
  const creds = {
    alipayUrl: alipay.url,
    wechatUrl: wechat.url,
    alipay: await alipay.createMerchant({ providerAppId: '2021000117617568', mchId: '2021000117617568' }),
    wechat: await wechat.createMerchant({ mchId: '1607531827', providerAppId: 'wxd930ea5d5a258f4f' }),
  };
  process.stdout.write(JSON.stringify(creds) + '\n');
  const stop = async () => {
    await alipay.close();
    await wechat.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  console.error('bench sandboxes failed:', err);
  process.exit(1);
});
