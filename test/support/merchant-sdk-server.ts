/** A merchant backend for end-to-end tests: the merchant SDK's notification handler on 127.0.0.1. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PaySdk, type PaymentNotification, type RefundNotification, type TransferNotification } from '../../sdk';

export interface SdkMerchant {
  sdk: PaySdk;
  notifyUrl: string;
  notifications: PaymentNotification[];
  refundNotifications: RefundNotification[];
  transferNotifications: TransferNotification[];
  /** Make the handler fail (500) for the next n notifications, so the desk retries. */
  failNext: number;
  close(): Promise<void>;
}

export async function startSdkMerchant(gateway: string, appId: string, appKey: string, signType: 'HMAC-SHA256' | 'HMAC-SM3' = 'HMAC-SHA256'): Promise<SdkMerchant> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pay/notify`;
  const sdk = new PaySdk({ gateway, appId, appKey, signType, notifyUrl });
  const merchant: SdkMerchant = {
    sdk,
    notifyUrl,
    notifications: [],
    refundNotifications: [],
    transferNotifications: [],
    failNext: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on(
    'request',
    sdk.notificationHandler(async (n) => {
      if (merchant.failNext > 0) {
        merchant.failNext--;
        throw new Error('merchant busy');
      }
      if (n.eventType === 'REFUND_RESULT') merchant.refundNotifications.push(n);
      else if (n.eventType === 'TRANSFER_RESULT') merchant.transferNotifications.push(n);
      else merchant.notifications.push(n);
    }),
  );
  return merchant;
}
