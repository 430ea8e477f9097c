/**
 * Merchant statements (对账单 for merchants): one day of an app's payments and refunds as CSV (UTF-8), one row
 * each, totals last. The HTTP route signs the exact bytes, so the merchant can prove what it downloaded.
 */
import type { Db } from '../db/connection';
import { statementRows } from '../db/queries/statements';
import { DomainError, ErrorCode } from '../domain/errors';
import { formatShanghai } from '../domain/order';
import { isDay, isPastDay, shanghaiDayRange } from '../domain/reconciliation';

export const STATEMENT_HEADER = ['type', 'orderId', 'outTradeNo', 'refundId', 'outRefundNo', 'channelType', 'providerTradeNo', 'amount', 'time'] as const;
export const STATEMENT_TOTALS_HEADER = ['totalPaymentCount', 'totalPaymentAmount', 'totalRefundCount', 'totalRefundAmount', 'netAmount'] as const;

/** RFC 4180 quoting, and a leading quote mark for cells a spreadsheet would run as a formula. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (cells: Array<string | number | null>) => cells.map(csvCell).join(',') + '\r\n';

export function createStatementService(deps: { db: Db }) {
  return {
    /** The CSV of `day` for `appId`. 4000 for a malformed date; 4040 for a day that is not over yet. */
    async statement(appId: string, day: string): Promise<Buffer> {
      if (!isDay(day)) throw new DomainError(ErrorCode.VALIDATION, `参数校验失败: day must be yyyy-MM-dd: ${day.slice(0, 20)}`);
      if (!isPastDay(day, Date.now())) throw new DomainError(ErrorCode.NOT_FOUND, `${day} 的对账单尚未生成（当日结束后可下载）`);
      const { start, end } = shanghaiDayRange(day);
      const rows = await statementRows(deps.db, appId, start, end);
      let text = line([...STATEMENT_HEADER]);
      const totals = { paymentCount: 0, paymentAmount: 0, refundCount: 0, refundAmount: 0 };
      for (const r of rows) {
        text += line([r.type, r.order_id, r.out_trade_no, r.refund_id, r.out_refund_no, r.channel_type, r.provider_trade_no, r.amount, formatShanghai(r.at.getTime())]);
        if (r.type === 'PAYMENT') {
          totals.paymentCount++;
          totals.paymentAmount += r.amount;
        } else {
          totals.refundCount++;
          totals.refundAmount += r.amount;
        }
      }
      text += line([...STATEMENT_TOTALS_HEADER]);
      text += line([totals.paymentCount, totals.paymentAmount, totals.refundCount, totals.refundAmount, totals.paymentAmount - totals.refundAmount]);
      return Buffer.from(text, 'utf8');
    },
  };
}

export type StatementService = ReturnType<typeof createStatementService>;
