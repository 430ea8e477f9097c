/** Order lifecycle and the merchant-facing result codes (`resultCode` of query-pay-result). Pure. */

export const ORDER_STATUSES = ['CREATED', 'PAYING', 'SUCCESS', 'FAIL', 'CLOSED', 'FINISH'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type NotifyStatus = 'NONE' | 'PENDING' | 'ACKED' | 'NOTIFY_EXHAUSTED' | 'STOPPED';
export type ResultCode = 'SUCCESS' | 'FINISH' | 'FAIL' | 'NULL';

const transitions: Record<OrderStatus, readonly OrderStatus[]> = {
  CREATED: ['PAYING', 'SUCCESS', 'FAIL', 'CLOSED'],
  PAYING: ['PAYING', 'SUCCESS', 'FAIL', 'CLOSED'],
  SUCCESS: ['FINISH'],
  FINISH: [],
  FAIL: [],
  CLOSED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

export function isFinal(status: OrderStatus): boolean {
  return status === 'SUCCESS' || status === 'FINISH' || status === 'FAIL' || status === 'CLOSED';
}

export function isPaid(status: OrderStatus): boolean {
  return status === 'SUCCESS' || status === 'FINISH';
}

export interface MerchantResult {
  resultCode: ResultCode;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
}

/** Maps an order's status to the merchant API's resultCode; an expired, unpaid order is a FAIL with ORDER_CLOSED. */
export function merchantResult(status: OrderStatus, errorCode?: string | null, errorMsg?: string | null): MerchantResult {
  switch (status) {
    case 'SUCCESS':
      return { resultCode: 'SUCCESS', resultErrorCode: null, resultErrorMsg: null };
    case 'FINISH':
      return { resultCode: 'FINISH', resultErrorCode: null, resultErrorMsg: null };
    case 'FAIL':
      return { resultCode: 'FAIL', resultErrorCode: errorCode ?? 'PAY_FAILED', resultErrorMsg: errorMsg ?? '支付失败' };
    case 'CLOSED':
      return { resultCode: 'FAIL', resultErrorCode: errorCode ?? 'ORDER_CLOSED', resultErrorMsg: errorMsg ?? '订单已关闭（超时未支付）' };
    default:
      return { resultCode: 'NULL', resultErrorCode: null, resultErrorMsg: null };
  }
}

/** "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai (UTC+8, no DST), the format of payTime in the merchant API. */
export function formatShanghai(epochMs: number): string {
  const d = new Date(epochMs + 8 * 3600_000);
  const p = (n: number) => n.toString().padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/**
 * The trade number we send to providers: unique per (order, channel), so one merchant outTradeNo can be
 * tried on several channels and two apps sharing a merchant account can never collide at the provider.
 */
export function providerOutTradeNo(orderId: number, channelId: number): string {
  // Zero-padded: WeChat Pay wants 6-32 characters, and fixed width keeps provider-side sorting sane.
  return `CD${orderId.toString().padStart(10, '0')}C${channelId}`;
}

export function parseProviderOutTradeNo(value: string): { orderId: number; channelId: number } | null {
  const m = /^CD(\d{1,16})C(\d{1,9})$/.exec(value);
  return m ? { orderId: Number(m[1]), channelId: Number(m[2]) } : null;
}
