/**
 * Payment exceptions: money a provider took where no payment was wanted. Each is recorded once per provider
 * trade (a redelivered callback finds the first record) and, under the default policy
 * (EXCEPTION_AUTO_REFUND=true), a late or duplicate payment is refunded in full at once. The order's own result
 * never changes because of it.
 */
import type { Db } from '../db/connection';
import * as audit from '../db/queries/audit-log';
import { findOrderById } from '../db/queries/orders';
import { insertOrFindPaymentException } from '../db/queries/payment-exceptions';
import { providerOutTradeNo } from '../domain/order';
import { isAutoRefundable, type DetectedPaymentException } from '../domain/refund';
import type { Logger } from '../observability/logger';
import type { RefundService } from './refunds';

export interface PaymentExceptionServiceDeps {
  db: Db;
  refunds: RefundService;
  log: Logger;
  autoRefund: boolean;
}

/** The system actor of automatic refunds in the audit log. */
const SYSTEM = { username: 'system', ip: null };

export function createPaymentExceptionService(deps: PaymentExceptionServiceDeps) {
  const { db, log } = deps;
  return {
    /**
     * Records a detected exception and applies the refund policy. Idempotent, so the workflow's activity and a
     * provider's redelivery may call it again: the refund number is derived from the exception.
     */
    async record(d: DetectedPaymentException): Promise<{ exceptionId: number; refundId: number | null }> {
      const order = await findOrderById(db, d.orderId);
      if (!order) throw new Error(`order ${d.orderId} not found`);
      const { row, created } = await insertOrFindPaymentException(db, {
        order_id: order.id,
        app_id: order.app_id,
        kind: d.kind,
        channel_id: d.channel.channelId,
        channel_type: d.channel.channelType,
        scene_code: d.channel.sceneCode,
        config_id: d.channel.configId,
        mch_id: d.channel.mchId,
        provider_out_trade_no: providerOutTradeNo(order.id, d.channel.channelId),
        provider_trade_no: d.providerTradeNo,
        amount: d.amount,
        order_status: d.orderStatus,
        detected_by: d.detectedBy.slice(0, 64),
      });
      if (created) {
        log.error('payment exception recorded', { exceptionId: row.id, kind: d.kind, orderId: order.id, outTradeNo: order.out_trade_no, amount: d.amount, channelId: d.channel.channelId });
        await audit.insertAudit(db, {
          actor: SYSTEM.username,
          action: 'exception.record',
          targetType: 'payment_exception',
          targetId: row.id,
          detail: { kind: d.kind, orderId: order.id, outTradeNo: order.out_trade_no, amount: d.amount, detectedBy: row.detected_by },
        });
      }
      if (!deps.autoRefund || !isAutoRefundable(row.kind)) return { exceptionId: row.id, refundId: null };
      const refund = await deps.refunds.refundPaymentException(row.id, SYSTEM);
      return { exceptionId: row.id, refundId: refund.refundId };
    },
  };
}

export type PaymentExceptionService = ReturnType<typeof createPaymentExceptionService>;
