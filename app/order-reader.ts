/**
 * The one reader of an order's state, used by the merchant API, the cashier pages and the console.
 *
 * PostgreSQL is the read model: the workflow's activities write it, and a final order (SUCCESS, FINISH, FAIL,
 * CLOSED) is answered from it alone, without calling Temporal. For the merchant API an order that is not final
 * yet asks its workflow, because a verified callback is applied in the workflow a moment before the result is
 * recorded; if the workflow cannot answer, the row is the answer. The cashier page, which every open order's
 * browser polls every 2 seconds, reads the row only (storedOrderView): polling must not load Temporal, and the
 * result is recorded in the same workflow task that applies the callback.
 */
import type { OrderRow } from '../db/queries/orders';
import { isFinal, type OrderStatus } from '../domain/order';
import type { NotificationState } from '../domain/payment';
import type { TemporalGateway } from '../temporal/client';
import type { PaymentState } from '../workflows/messages';

export interface OrderView extends NotificationState {
  row: OrderRow;
  status: OrderStatus;
  /** The workflow's state when it was asked (the order was not final in PostgreSQL), else null. */
  live: PaymentState | null;
}

export function createOrderReader(deps: { temporal: TemporalGateway }) {
  return async function readOrder(row: OrderRow): Promise<OrderView> {
    const live = isFinal(row.status) ? null : await deps.temporal.paymentState(row.workflow_id);
    if (!live) return storedOrderView(row);
    return {
      row,
      live,
      status: live.status,
      channel: live.channel && { channelId: live.channel.channelId, channelType: live.channel.channelType, mchId: live.channel.mchId },
      payTime: live.payTime,
      errorCode: live.errorCode,
      errorMsg: live.errorMsg,
    };
  };
}

/** The order as PostgreSQL records it. */
export function storedOrderView(row: OrderRow): OrderView {
  return {
    row,
    live: null,
    status: row.status,
    channel: row.channel_id !== null && row.channel_type !== null ? { channelId: row.channel_id, channelType: row.channel_type, mchId: row.mch_id ?? '' } : null,
    payTime: row.pay_time?.getTime() ?? null,
    errorCode: row.result_error_code,
    errorMsg: row.result_error_msg,
  };
}

export type ReadOrder = ReturnType<typeof createOrderReader>;
