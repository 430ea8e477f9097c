/**
 * Pure, side-effect-free pieces of the Alipay adapter: amount, time and trade-status conversions.
 * Kept separate from the SDK wiring so they can be unit-tested exhaustively.
 */
import { fenToYuanString, isValidFen, yuanStringToFen } from '../../domain/money';
import { ProviderError, type TradeOutcome } from '../types';

/** Alipay interprets every wall-clock timestamp it sends or receives as China Standard Time (UTC+8, no DST). */
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
const ALIPAY_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * Formats an instant as Alipay's `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai, independent of the process TZ.
 * (alipay-sdk's own `timestamp` uses the process's local zone, which is wrong on UTC servers.)
 */
export function toAlipayTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  // toISOString of the shifted instant yields the Shanghai wall clock; drop millis and the 'Z'.
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** Parses Alipay's `yyyy-MM-dd HH:mm:ss` (Asia/Shanghai) into an instant; throws RangeError on anything else. */
export function parseAlipayTime(text: string): Date {
  const m = ALIPAY_TIME.exec(text);
  if (!m) throw new RangeError(`not an Alipay time (yyyy-MM-dd HH:mm:ss): ${JSON.stringify(text)}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const utc = Date.UTC(y, mo - 1, d, h, mi, s) - SHANGHAI_OFFSET_MS;
  const date = new Date(utc);
  // Date.UTC silently rolls over (Feb 30 → Mar 2); a round trip rejects such impossible dates.
  if (toAlipayTime(date) !== text) throw new RangeError(`impossible Alipay time: ${JSON.stringify(text)}`);
  return date;
}

/** Integer fen → Alipay `total_amount` (yuan, exactly two decimals). Refuses amounts Alipay would reject. */
export function fenToAlipayAmount(fen: number): string {
  if (!isValidFen(fen)) throw new RangeError(`amount out of Alipay's range [0.01, 100000000.00] yuan: ${fen} fen`);
  return fenToYuanString(fen);
}

/** Alipay yuan string (e.g. "19.99", "100", "0.1") → integer fen. */
export function alipayAmountToFen(yuan: string): number {
  return yuanStringToFen(yuan);
}

export type AlipayTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';

/** Alipay trade_status → normalized status. Unknown values return undefined (caller decides how to fail). */
export function mapTradeStatus(status: string | undefined): 'WAITING' | 'SUCCESS' | 'FINISH' | 'CLOSED' | undefined {
  switch (status) {
    case 'WAIT_BUYER_PAY':
      return 'WAITING';
    case 'TRADE_SUCCESS':
      return 'SUCCESS';
    case 'TRADE_FINISHED':
      return 'FINISH';
    case 'TRADE_CLOSED':
      return 'CLOSED';
    default:
      return undefined;
  }
}

/**
 * Builds a TradeOutcome from the fields Alipay uses in both query responses and notifications.
 * `failKind` decides which ProviderError kind a malformed-but-authentic message raises
 * (BAD_RESPONSE for a query answer, BAD_CALLBACK for a notification).
 */
export function toTradeOutcome(
  fields: {
    trade_status?: string;
    total_amount?: string;
    trade_no?: string;
    /** gmt_payment (notification) or send_pay_date (query). */
    pay_time?: string;
  },
  failKind: 'BAD_RESPONSE' | 'BAD_CALLBACK',
  raw?: unknown,
): TradeOutcome {
  const status = mapTradeStatus(fields.trade_status);
  if (!status) throw new ProviderError(failKind, `unknown Alipay trade_status ${JSON.stringify(fields.trade_status)}`);
  if (status === 'WAITING' || status === 'CLOSED') return { status, raw };

  // Paid: amount and trade number are what the workflow reconciles against the order; both must be sound.
  if (!fields.trade_no) throw new ProviderError(failKind, 'paid Alipay trade without trade_no');
  let amountFen: number;
  try {
    amountFen = alipayAmountToFen(fields.total_amount ?? '');
  } catch {
    throw new ProviderError(failKind, `paid Alipay trade with invalid total_amount ${JSON.stringify(fields.total_amount)}`);
  }
  let payTime: Date;
  if (fields.pay_time) {
    try {
      payTime = parseAlipayTime(fields.pay_time);
    } catch {
      throw new ProviderError(failKind, `paid Alipay trade with invalid payment time ${JSON.stringify(fields.pay_time)}`);
    }
  } else {
    // The buyer's money has moved (the message is authentic): recording SUCCESS matters more than the exact
    // payment instant, which Alipay has always sent in practice. Fall back to "now" rather than strand the order.
    payTime = new Date();
  }
  return { status, amountFen, providerTradeNo: fields.trade_no, payTime, raw };
}
