/**
 * WeChat Pay (微信支付) APIv3 adapter on the real wechatpay-node-v3 SDK.
 *
 * The SDK builds and signs requests; everything it leaves unchecked is done here:
 * - response signatures (VerifyingPayRequest, installed with pay.createHttp) — the SDK never verifies them;
 * - notification signatures and AES-256-GCM decryption with the tag checked — the SDK's decipher_gcm skips it;
 * - HTTP status handling — SDK calls resolve {status, data, error} and never throw on HTTP errors.
 * Refunds (refunds / find_refunds / REFUND.* notifications) are in refund.ts; the notification envelope
 * checks both kinds of notification share are in notification.ts; trade bills (tradebill + the streamed,
 * hash-verified file download) are in bill.ts; 商家转账 (transfer-bills, cancel, MCHTRANSFER.BILL.FINISHED) in transfer.ts.
 */
import type { Ih5 } from 'wechatpay-node-v3/dist/lib/interface';
import type { Output } from 'wechatpay-node-v3/dist/define';
import {
  ProviderError,
  type BillEntry,
  type CallbackAck,
  type ChannelCredentials,
  type PaymentProvider,
  type PrepayRequest,
  type PrepayResult,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type SceneCode,
  type TradeOutcome,
  type TransferOutcome,
  type TransferRequest,
  type VerifiedNotification,
  type VerifiedRefundNotification,
  type VerifiedTransferNotification,
} from '../types';
import { downloadTradeBill } from './bill';
import { WechatClientCache } from './client';
import { isSignedError } from './http';
import {
  assertFen,
  assertNotifyUrl,
  assertOutTradeNo,
  errorForStatus,
  formatRfc3339Shanghai,
  mapTransaction,
  parseErrorBody,
  truncateCodePoints,
  type WechatTransaction,
} from './mapping';
import { openNotification } from './notification';
import { applyRefund, findRefund, verifyRefundNotification } from './refund';
import {
  cancelTransferBill,
  CASH_MARKETING_SCENE,
  createTransferBill,
  findTransferBill,
  verifyTransferNotification,
  type WechatTransferScene,
} from './transfer';

export type { WechatSecrets } from './client';
export type { WechatTransferScene } from './transfer';

export interface WechatProviderOptions {
  /** Per-request timeout (connect + idle), default 10 s. */
  httpTimeoutMs?: number;
  /** Minimum gap between two /v3/certificates downloads per merchant, default 60 s. */
  certRefreshMinIntervalMs?: number;
  userAgent?: string;
  /**
   * Download trade bills gzip-compressed (tar_type=GZIP), default true; the hash is checked over the
   * decompressed file either way.
   */
  billGzip?: boolean;
  /**
   * 商家转账 scene (transfer_scene_id and its report infos) for transfer(); default 现金营销 (1000) with the
   * remark as 活动名称 and 奖励说明. It must be a scene the merchant was granted at 商户平台.
   */
  transferScene?: WechatTransferScene;
}

const SCENES: readonly SceneCode[] = ['h5', 'native', 'app', 'jsapi'];

/** WeChat caps description at 127 characters. */
const MAX_DESCRIPTION = 127;

function appendQuery(url: string, key: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ProviderError('BAD_RESPONSE', `prepay answer lacks ${what}`);
  return value;
}

/** App/JSAPI client parameters as strings (the SDK builds and signs them from the prepay_id). */
function stringParams(data: unknown, required: string[]): Record<string, string> {
  if (!data || typeof data !== 'object') throw new ProviderError('BAD_RESPONSE', 'prepay answer is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  for (const k of required) requireString(out[k], k);
  return out;
}

function isSuccess(out: Output): boolean {
  return out.status === 200 || out.status === 204;
}

export function createWechatProvider(options: WechatProviderOptions = {}): PaymentProvider {
  const httpTimeoutMs = options.httpTimeoutMs ?? 10_000;
  const clients = new WechatClientCache({
    httpTimeoutMs,
    certRefreshMinIntervalMs: options.certRefreshMinIntervalMs ?? 60_000,
    userAgent: options.userAgent ?? 'cashier-desk wechatpay-node-v3/2.2.1',
  });

  async function prepay(creds: ChannelCredentials, req: PrepayRequest): Promise<PrepayResult> {
    const client = clients.get(creds);
    assertOutTradeNo(req.outTradeNo);
    const total = assertFen(req.amountFen);
    assertNotifyUrl(req.notifyUrl);
    const description = truncateCodePoints((req.subject || req.description || '').trim(), MAX_DESCRIPTION);
    if (!description) throw new ProviderError('REJECTED', 'subject/description is required', 'PARAM_ERROR');
    const common = {
      description,
      out_trade_no: req.outTradeNo,
      time_expire: formatRfc3339Shanghai(req.expireAt),
      notify_url: req.notifyUrl,
      amount: { total, currency: 'CNY' },
    };
    const { pay } = client;

    switch (req.sceneCode) {
      case 'h5': {
        if (!req.clientIp) throw new ProviderError('REJECTED', 'WeChat H5 needs the payer client IP', 'PARAM_ERROR');
        // h5_info.app_name is optional for type Wap at WeChat; the SDK's typing insists on it.
        const h5Info = { type: 'Wap' } as Ih5['scene_info']['h5_info'];
        const out = await pay.transactions_h5({ ...common, scene_info: { payer_client_ip: req.clientIp, h5_info: h5Info } });
        if (out.status !== 200) throw errorForStatus('transactions_h5', out.status, out.error);
        const h5Url = requireString((out.data as { h5_url?: unknown })?.h5_url, 'h5_url');
        // WeChat returns the browser to redirect_url after payment (must be on the merchant's H5 domain).
        return { kind: 'redirect', url: req.returnUrl ? appendQuery(h5Url, 'redirect_url', req.returnUrl) : h5Url };
      }
      case 'native': {
        const out = await pay.transactions_native(
          req.clientIp ? { ...common, scene_info: { payer_client_ip: req.clientIp } } : common,
        );
        if (out.status !== 200) throw errorForStatus('transactions_native', out.status, out.error);
        return { kind: 'qr', codeUrl: requireString((out.data as { code_url?: unknown })?.code_url, 'code_url') };
      }
      case 'app': {
        const out = await pay.transactions_app(common);
        if (out.status !== 200) throw errorForStatus('transactions_app', out.status, out.error);
        // The SDK replaced data by {appid, partnerid, package, timestamp, noncestr, prepayid, sign}.
        return { kind: 'app', params: stringParams(out.data, ['appid', 'partnerid', 'prepayid', 'package', 'noncestr', 'timestamp', 'sign']) };
      }
      case 'jsapi': {
        if (!req.openid) throw new ProviderError('REJECTED', 'WeChat JSAPI needs the payer openid', 'PARAM_ERROR');
        const out = await pay.transactions_jsapi({ ...common, payer: { openid: req.openid } });
        if (out.status !== 200) throw errorForStatus('transactions_jsapi', out.status, out.error);
        // {appId, timeStamp, nonceStr, package: 'prepay_id=…', signType: 'RSA', paySign}
        return { kind: 'jsapi', params: stringParams(out.data, ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) };
      }
      default:
        throw new ProviderError('REJECTED', `scene ${String(req.sceneCode)} is not supported by WeChat Pay`, 'PARAM_ERROR');
    }
  }

  async function query(creds: ChannelCredentials, outTradeNo: string): Promise<TradeOutcome> {
    const client = clients.get(creds);
    assertOutTradeNo(outTradeNo);
    const out = await client.pay.query({ out_trade_no: outTradeNo });
    if (out.status === 200) {
      const tx = out.data as WechatTransaction;
      // A signed answer about another order or merchant would still be the wrong answer to act on.
      if (!tx || tx.out_trade_no !== outTradeNo || tx.mchid !== client.mchId) {
        throw new ProviderError('BAD_RESPONSE', 'query answer is for another out_trade_no/mchid');
      }
      return mapTransaction(tx, 'BAD_RESPONSE');
    }
    if (out.status === 404 && parseErrorBody(out.error).code === 'ORDER_NOT_EXIST') {
      // Concluding "no such trade" must rest on a signed answer: an unsigned 404 could come from anywhere.
      if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'unsigned ORDER_NOT_EXIST answer');
      return { status: 'NOT_FOUND', raw: parseErrorBody(out.error) };
    }
    throw errorForStatus('query', out.status, out.error);
  }

  async function close(creds: ChannelCredentials, outTradeNo: string): Promise<void> {
    const client = clients.get(creds);
    assertOutTradeNo(outTradeNo);
    const out = await client.pay.close(outTradeNo);
    if (isSuccess(out)) return;
    if (out.status === 404 && parseErrorBody(out.error).code === 'ORDER_NOT_EXIST') {
      // Never created at WeChat: nothing to close (the interface contract), but only on a signed answer.
      if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'unsigned ORDER_NOT_EXIST answer');
      return;
    }
    // ORDERPAID etc. surface as REJECTED with the WeChat code: the caller must query, not assume closed.
    throw errorForStatus('close', out.status, out.error);
  }

  async function verifyCallback(creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedNotification> {
    // Signature, envelope, event type and tag-checked decryption: shared with verifyRefundCallback. Only
    // TRANSACTION.* events are payment outcomes; REFUND.* events are refused here (verifyRefundCallback).
    const opened = await openNotification(clients.get(creds), cb, {
      acceptsEventType: (t) => t.startsWith('TRANSACTION.'),
      originalType: 'transaction',
    });
    const tx = opened.resource as WechatTransaction;

    // It must be about this channel's merchant and app (a shared APIv3 key must not mix merchants).
    if (tx.mchid !== creds.mchId) throw new ProviderError('BAD_CALLBACK', 'callback mchid does not match the channel config');
    if (tx.appid !== creds.providerAppId) throw new ProviderError('BAD_CALLBACK', 'callback appid does not match the channel config');
    if (typeof tx.out_trade_no !== 'string' || !tx.out_trade_no) throw new ProviderError('BAD_CALLBACK', 'callback lacks out_trade_no');

    return {
      outTradeNo: tx.out_trade_no,
      eventId: opened.eventId,
      providerAppId: tx.appid,
      mchId: tx.mchid,
      outcome: mapTransaction(tx, 'BAD_CALLBACK'),
    };
  }

  function callbackAck(ok: boolean, message?: string): CallbackAck {
    // WeChat: success = 200/204 without body; anything else is retried. The status code decides.
    if (ok) return { status: 204, contentType: 'text/plain; charset=utf-8', body: '' };
    return {
      status: 400,
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify({ code: 'FAIL', message: (message ?? '失败').slice(0, 200) }),
    };
  }

  // Refunds live in refund.ts; they share this adapter's client cache (and so its platform certificates).
  const refund = async (creds: ChannelCredentials, req: RefundRequest): Promise<RefundOutcome> => applyRefund(clients.get(creds), req);
  const queryRefund = async (creds: ChannelCredentials, q: { outTradeNo: string; outRefundNo: string }): Promise<RefundOutcome> =>
    findRefund(clients.get(creds), q);
  const verifyRefundCallback = async (creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedRefundNotification> =>
    verifyRefundNotification(clients.get(creds), creds, cb);

  // 商家转账 lives in transfer.ts; same client cache (platform certificates also encrypt user_name).
  const transferScene = options.transferScene ?? CASH_MARKETING_SCENE;
  const transfer = async (creds: ChannelCredentials, req: TransferRequest): Promise<TransferOutcome> =>
    createTransferBill(clients.get(creds), req, transferScene);
  const queryTransfer = async (creds: ChannelCredentials, outBizNo: string): Promise<TransferOutcome> => findTransferBill(clients.get(creds), outBizNo);
  const cancelTransfer = async (creds: ChannelCredentials, outBizNo: string): Promise<TransferOutcome> =>
    cancelTransferBill(clients.get(creds), outBizNo);
  const verifyTransferCallback = async (creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedTransferNotification> =>
    verifyTransferNotification(clients.get(creds), creds, cb);

  // An async generator, so configuration errors (clients.get) surface on iteration like every other failure.
  // Rows are provisional until TOTALS arrives: on any error the caller must discard the whole bill (bill.ts).
  async function* downloadBill(creds: ChannelCredentials, day: string): AsyncGenerator<BillEntry> {
    yield* downloadTradeBill(clients.get(creds), day, { billType: 'ALL', gzip: options.billGzip ?? true, idleTimeoutMs: httpTimeoutMs });
  }

  return {
    channelType: 'wx-pay',
    scenes: SCENES,
    prepay,
    query,
    close,
    verifyCallback,
    callbackAck,
    refund,
    queryRefund,
    verifyRefundCallback,
    transfer,
    queryTransfer,
    cancelTransfer,
    verifyTransferCallback,
    downloadBill,
  };
}
