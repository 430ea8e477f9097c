/**
 * The merchant backend of the fault suite: the merchant SDK's notification handler (signature, timestamp and nonce
 * verified) on 127.0.0.1, recording every verified delivery with whether it was acknowledged. `refuse` decides,
 * per notification, to answer 500 instead (the desk then retries on its schedule).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PaySdk, type CashierDeskNotification } from '../../../sdk';

export interface MerchantDelivery {
  eventId: string;
  eventType: string;
  outTradeNo: string;
  attempt: number;
  acknowledged: boolean;
  at: number;
}

export interface FaultMerchant {
  sdk: PaySdk;
  notifyUrl: string;
  /** Verified deliveries, in arrival order. */
  deliveries: MerchantDelivery[];
  /** Requests that reached the endpoint, verified or not. */
  requests: number;
  refuse: (n: CashierDeskNotification) => boolean;
  close(): Promise<void>;
}

export async function startFaultMerchant(gateway: string, appId: string, appKey: string): Promise<FaultMerchant> {
  const server = http.createServer({ keepAlive: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pay/notify`;
  const sdk = new PaySdk({ gateway, appId, appKey, notifyUrl });
  const merchant: FaultMerchant = {
    sdk,
    notifyUrl,
    deliveries: [],
    requests: 0,
    refuse: () => false,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const handler = sdk.notificationHandler(async (n) => {
    const refused = merchant.refuse(n);
    merchant.deliveries.push({
      eventId: n.eventId,
      eventType: n.eventType ?? 'PAYMENT_RESULT',
      outTradeNo: 'outTradeNo' in n ? n.outTradeNo : '',
      attempt: n.attempt,
      acknowledged: !refused,
      at: Date.now(),
    });
    if (refused) throw new Error('merchant refuses this delivery on purpose');
  });
  server.on('request', (req, res) => {
    merchant.requests++;
    return handler(req, res);
  });
  return merchant;
}
