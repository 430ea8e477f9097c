/**
 * The bench's merchant backend: verifies every notification with the merchant SDK and acknowledges it, except
 * the first attempt of orders whose outTradeNo marks them for a retry (so the bench also measures a scheduled
 * retry under load). Resolves waiters when an order's first notification arrives.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PaySdk, type CashierDeskNotification } from '../../sdk';

export const RETRY_MARK = '-r';

export interface BenchMerchant {
  notifyUrl: string;
  /** Resolves when the first notification (any attempt) for outTradeNo arrives. */
  notified(outTradeNo: string): Promise<void>;
  acknowledged: Set<string>;
  received: number;
  stop(): Promise<void>;
}

export async function startBenchMerchant(gateway: string, appId: string, appKey: string): Promise<BenchMerchant> {
  const waiters = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const waiter = (no: string) => {
    let w = waiters.get(no);
    if (!w) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      w = { promise, resolve };
      waiters.set(no, w);
    }
    return w;
  };
  const merchant: BenchMerchant = {
    notifyUrl: '',
    notified: (no) => waiter(no).promise,
    acknowledged: new Set(),
    received: 0,
    stop: async () => {},
  };
  const sdk = new PaySdk({ gateway, appId, appKey });
  const handler = sdk.notificationHandler(async (n: CashierDeskNotification) => {
    if (n.eventType !== 'PAYMENT_RESULT' && n.eventType !== undefined) return;
    merchant.received++;
    waiter(n.outTradeNo).resolve();
    if (n.outTradeNo.endsWith(RETRY_MARK) && n.attempt === 1) throw new Error('first attempt refused on purpose');
    merchant.acknowledged.add(n.outTradeNo);
  });
  const server = http.createServer({ keepAlive: true }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  merchant.notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  merchant.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return merchant;
}
