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

/**
 * What a broken merchant endpoint does with the first request it gets (later ones are handled normally):
 * never answers; answers the acknowledgement after `slowMs`; answers 200 with a body that is no acknowledgement;
 * redirects to the good endpoint; answers 200 with a body far over the desk's 16 KiB cap.
 */
export type Misbehaviour = 'hang' | 'slow' | 'too-slow' | 'wrong-body' | 'redirect' | 'huge';

export interface FaultMerchant {
  sdk: PaySdk;
  notifyUrl: string;
  /** A notify URL whose first request gets `kind`; one per order. */
  misbehavingUrl(kind: Misbehaviour, id: string): string;
  /** Requests per path (any method, verified or not). */
  requestsByPath: Map<string, number>;
  /** Verified deliveries, in arrival order. */
  deliveries: MerchantDelivery[];
  /** Requests that reached the endpoint, verified or not. */
  requests: number;
  refuse: (n: CashierDeskNotification) => boolean;
  close(): Promise<void>;
}

export async function startFaultMerchant(gateway: string, appId: string, appKey: string, opts: { slowMs?: number; tooSlowMs?: number } = {}): Promise<FaultMerchant> {
  const server = http.createServer({ keepAlive: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const notifyUrl = `${base}/pay/notify`;
  const sdk = new PaySdk({ gateway, appId, appKey, notifyUrl });
  const merchant: FaultMerchant = {
    sdk,
    notifyUrl,
    misbehavingUrl: (kind, id) => `${base}/bad/${kind}/${id}`,
    requestsByPath: new Map(),
    deliveries: [],
    requests: 0,
    refuse: () => false,
    close: async () => {
      for (const r of hanging) r.destroy();
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
  const hanging = new Set<http.ServerResponse>();
  server.on('request', (req, res) => {
    merchant.requests++;
    const path = req.url ?? '/';
    const n = (merchant.requestsByPath.get(path) ?? 0) + 1;
    merchant.requestsByPath.set(path, n);
    const kind = /^\/bad\/([a-z-]+)\//.exec(path)?.[1] as Misbehaviour | undefined;
    if (!kind || n > 1) return handler(req, res);
    // The slow merchant reads the body later (through the SDK); the others never do.
    if (kind !== 'slow') req.resume();
    const ack = JSON.stringify({ code: 1000, msg: '操作成功' });
    switch (kind) {
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'slow':
        setTimeout(() => handler(req, res), opts.slowMs ?? 1500);
        return;
      case 'too-slow':
        setTimeout(() => !res.destroyed && res.writeHead(200, { 'content-type': 'application/json' }).end(ack), opts.tooSlowMs ?? 6000);
        return;
      case 'wrong-body':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
        return;
      case 'redirect':
        res.writeHead(302, { location: notifyUrl }).end();
        return;
      case 'huge': {
        // A well-formed acknowledgement, padded to 8 MiB: only a reader without a cap would ever see its end.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"code":1000,"msg":"');
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        const more = () => {
          while (sent < 128) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end('"}');
        };
        res.on('error', () => {});
        more();
        return;
      }
    }
  });
  return merchant;
}
