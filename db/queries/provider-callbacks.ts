import type { Db } from '../connection';

export async function recordProviderCallback(
  db: Db,
  r: {
    orderId: number | null;
    configId: number;
    channelType: string;
    kind: 'PAYMENT' | 'REFUND' | 'TRANSFER';
    eventId: string | null;
    outTradeNo: string | null;
    /** The refund or transfer request number the notification names. */
    outRefundNo?: string | null;
    outcome: string | null;
    result: 'ACCEPTED' | 'REJECTED' | 'MISMATCH';
    detail?: string;
  },
): Promise<void> {
  await db('provider_callbacks').insert({
    kind: r.kind,
    out_refund_no: r.outRefundNo ?? null,
    order_id: r.orderId,
    config_id: r.configId,
    channel_type: r.channelType,
    event_id: r.eventId,
    out_trade_no: r.outTradeNo,
    outcome: r.outcome,
    result: r.result,
    detail: r.detail?.slice(0, 500) ?? null,
  });
}
