/**
 * Refund use-cases: a merchant's refund, an administrator's refund, and the automatic refund of a payment
 * exception. Each creates the refund row together with its reservation (db/queries/refunds.ts holds the
 * invariant), then starts its RefundWorkflow; a lost start is healed by startLostWorkflows.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/connection';
import type { AppWithKeys } from '../db/queries/apps';
import * as audit from '../db/queries/audit-log';
import { findChannel } from '../db/queries/channels';
import { findOrderById, findOrderByOutTradeNo, type OrderRow } from '../db/queries/orders';
import { findPaymentExceptionById } from '../db/queries/payment-exceptions';
import * as refunds from '../db/queries/refunds';
import { DomainError, ErrorCode } from '../domain/errors';
import { fenToYuanString } from '../domain/money';
import { formatShanghai, providerOutTradeNo } from '../domain/order';
import { exceptionOutRefundNo, type RefundSource } from '../domain/refund';
import type { Logger } from '../observability/logger';
import type { TemporalGateway } from '../temporal/client';
import { WorkflowIds } from '../temporal/workflow-ids';

export interface RefundServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  log: Logger;
  config: { providerPollIntervalSeconds: number };
}

/** A merchant refund request after validation (the HTTP schema produces it). */
export interface RefundInput {
  outTradeNo: string;
  outRefundNo: string;
  amount: number;
  reason?: string;
  notifyUrl?: string;
}

/** GET /refunds/{outRefundNo} and the console: a refund as the merchant API states it. */
export interface RefundView {
  refundId: number;
  outRefundNo: string;
  outTradeNo: string;
  amount: number;
  status: refunds.RefundRow['status'];
  refundTime: string | null;
  channelType: string;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
}

export function refundView(row: refunds.RefundRow, outTradeNo: string): RefundView {
  return {
    refundId: row.id,
    outRefundNo: row.out_refund_no,
    outTradeNo,
    amount: row.amount,
    status: row.status,
    refundTime: row.refund_time ? formatShanghai(row.refund_time.getTime()) : null,
    channelType: row.channel_type,
    resultErrorCode: row.result_error_code,
    resultErrorMsg: row.result_error_msg,
  };
}

function refundRequestHash(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export function createRefundService(deps: RefundServiceDeps) {
  const { db, temporal, config } = deps;

  /** The order's paid channel, as the refund row records it (the trade the money is returned from). */
  async function paidTradeOf(order: OrderRow) {
    if (order.channel_id === null || order.channel_type === null) throw new DomainError(ErrorCode.CONFLICT, '订单未支付，不能退款');
    const channel = await findChannel(db, order.channel_id);
    if (!channel) throw new DomainError(ErrorCode.CONFLICT, '订单的支付渠道不存在');
    return {
      channel_id: order.channel_id,
      channel_type: order.channel_type,
      scene_code: channel.scene_code,
      config_id: channel.config_id,
      mch_id: order.mch_id ?? '',
      provider_out_trade_no: providerOutTradeNo(order.id, order.channel_id),
      trade_amount: order.amount,
    };
  }

  /** Why an order cannot be refunded, or null when its status allows it (the reservation re-checks atomically). */
  function refusal(order: OrderRow): DomainError | null {
    if (order.status === 'FINISH') return new DomainError(ErrorCode.CONFLICT, '交易已完结（FINISH），不能再退款');
    if (order.status !== 'SUCCESS') return new DomainError(ErrorCode.CONFLICT, `订单未支付成功（${order.status}），不能退款`);
    return null;
  }

  /** Starts the refund's workflow unless its start is already noted. */
  async function ensureWorkflow(row: refunds.RefundRow, outTradeNo: string): Promise<void> {
    if (row.workflow_started_at) return;
    await temporal.startRefund(
      {
        refundId: row.id,
        orderId: row.order_id,
        appId: row.app_id,
        outRefundNo: row.out_refund_no,
        outTradeNo,
        amount: row.amount,
        notify: row.notify_url !== null,
        pollIntervalMs: config.providerPollIntervalSeconds * 1000,
      },
      { reason: row.reason, source: row.source },
    );
    await refunds.markRefundWorkflowStarted(db, row.id);
  }

  /** Creates (or finds, for the same request) a refund and starts its workflow. */
  async function createRefund(order: OrderRow, r: Omit<refunds.NewRefund, 'workflow_id'>): Promise<{ row: refunds.RefundRow; created: boolean }> {
    const result = await refunds.createRefundWithReservation(db, { ...r, workflow_id: WorkflowIds.refund(r.app_id, r.out_refund_no) });
    switch (result.outcome) {
      case 'EXISTS':
        if (result.row.request_hash !== r.request_hash) throw new DomainError(ErrorCode.CONFLICT, `outRefundNo ${r.out_refund_no} 已用于内容不同的退款`);
        await ensureWorkflow(result.row, order.out_trade_no);
        return { row: result.row, created: false };
      case 'NOT_REFUNDABLE':
        throw refusal({ ...order, status: result.orderStatus as OrderRow['status'] }) ?? new DomainError(ErrorCode.CONFLICT, '订单不可退款');
      case 'EXCEEDS_REFUNDABLE':
        throw new DomainError(ErrorCode.CONFLICT, `退款金额超过可退金额（剩余可退 ${result.refundable} 分，¥${fenToYuanString(result.refundable)}）`);
      case 'CREATED':
        deps.log.info('refund created', { appId: r.app_id, outRefundNo: r.out_refund_no, refundId: result.row.id, orderId: order.id, amount: r.amount, source: r.source });
        await ensureWorkflow(result.row, order.out_trade_no);
        return { row: result.row, created: true };
    }
  }

  async function orderRefund(order: OrderRow, a: { outRefundNo: string; amount: number; reason: string | null; notifyUrl: string | null; source: RefundSource; createdBy: string | null; requestHash: string }) {
    const existing = await refunds.findRefundByOutRefundNo(db, order.app_id, a.outRefundNo);
    if (existing) {
      // Same request again: the same refund, whatever the order's state is now.
      if (existing.request_hash !== a.requestHash) throw new DomainError(ErrorCode.CONFLICT, `outRefundNo ${a.outRefundNo} 已用于内容不同的退款`);
      await ensureWorkflow(existing, order.out_trade_no);
      return existing;
    }
    const refused = refusal(order);
    if (refused) throw refused;
    const { row } = await createRefund(order, {
      app_id: order.app_id,
      out_refund_no: a.outRefundNo,
      order_id: order.id,
      payment_exception_id: null,
      source: a.source,
      created_by: a.createdBy,
      amount: a.amount,
      reason: a.reason,
      notify_url: a.notifyUrl,
      request_hash: a.requestHash,
      ...(await paidTradeOf(order)),
    });
    return row;
  }

  return {
    /** POST /refunds. Another app's order is simply not found (4040), like query-pay-result. */
    async merchantRefund(app: AppWithKeys, input: RefundInput): Promise<RefundView> {
      const order = await findOrderByOutTradeNo(db, app.appId, input.outTradeNo);
      if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      const notifyUrl = input.notifyUrl ?? order.notify_url;
      const reason = input.reason ?? null;
      const row = await orderRefund(order, {
        outRefundNo: input.outRefundNo,
        amount: input.amount,
        reason,
        notifyUrl,
        source: 'MERCHANT',
        createdBy: null,
        requestHash: refundRequestHash([input.outTradeNo, input.outRefundNo, input.amount, reason, notifyUrl]),
      });
      return refundView(row, order.out_trade_no);
    },

    /** GET /refunds/{outRefundNo}: the app's own refunds only. */
    async merchantRefundView(app: AppWithKeys, outRefundNo: string): Promise<RefundView> {
      const row = await refunds.findRefundByOutRefundNo(db, app.appId, outRefundNo);
      const order = row ? await findOrderById(db, row.order_id) : null;
      if (!row || !order) throw new DomainError(ErrorCode.NOT_FOUND, '退款不存在');
      return refundView(row, order.out_trade_no);
    },

    /**
     * An administrator refunds (part of) an order from the console: same invariant, audited, the merchant is
     * notified like for its own refunds. `requestId` (from the form) makes a double submit one refund.
     */
    async adminRefund(actor: { username: string; ip: string | null }, orderId: number, a: { amount: number; reason: string; requestId?: string }): Promise<RefundView> {
      const order = await findOrderById(db, orderId);
      if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      const outRefundNo = `admin:${a.requestId ?? randomBytes(8).toString('hex')}`;
      const detail = { orderId, outTradeNo: order.out_trade_no, amount: a.amount, amountYuan: fenToYuanString(a.amount), reason: a.reason, outRefundNo };
      try {
        const row = await orderRefund(order, {
          outRefundNo,
          amount: a.amount,
          reason: a.reason,
          notifyUrl: order.notify_url,
          source: 'ADMIN',
          createdBy: actor.username,
          requestHash: refundRequestHash([order.out_trade_no, outRefundNo, a.amount, a.reason]),
        });
        await audit.insertAudit(db, { actor: actor.username, action: 'order.refund', targetType: 'order', targetId: orderId, ip: actor.ip, detail: { ...detail, refundId: row.id } });
        return refundView(row, order.out_trade_no);
      } catch (err) {
        await audit.insertAudit(db, { actor: actor.username, action: 'order.refund', targetType: 'order', targetId: orderId, ip: actor.ip, outcome: 'FAILED', detail: { ...detail, error: (err as Error).message } });
        throw err;
      }
    },

    /**
     * Refunds a payment exception's money in full (the policy, or an administrator). Idempotent per exception:
     * its refund number is derived from the exception, so a second call finds the first refund.
     */
    async refundPaymentException(exceptionId: number, actor: { username: string; ip: string | null }): Promise<RefundView> {
      const e = await findPaymentExceptionById(db, exceptionId);
      if (!e) throw new DomainError(ErrorCode.NOT_FOUND, '异常支付不存在');
      const order = await findOrderById(db, e.order_id);
      if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      const outRefundNo = exceptionOutRefundNo(e.id);
      const reason = `异常支付退款（${e.kind}）`;
      const { row, created } = await createRefund(order, {
        app_id: e.app_id,
        out_refund_no: outRefundNo,
        order_id: e.order_id,
        payment_exception_id: e.id,
        source: 'EXCEPTION',
        created_by: actor.username,
        amount: e.amount,
        reason,
        // The order's result did not change; the merchant is not asked to acknowledge money it never saw.
        notify_url: null,
        request_hash: refundRequestHash([e.id, e.amount]),
        channel_id: e.channel_id,
        channel_type: e.channel_type,
        scene_code: e.scene_code,
        config_id: e.config_id,
        mch_id: e.mch_id,
        provider_out_trade_no: e.provider_out_trade_no,
        trade_amount: e.amount,
      });
      if (!created) return refundView(row, order.out_trade_no);
      await audit.insertAudit(db, {
        actor: actor.username,
        action: 'exception.refund',
        targetType: 'payment_exception',
        targetId: e.id,
        ip: actor.ip,
        detail: { kind: e.kind, orderId: e.order_id, outTradeNo: order.out_trade_no, amount: e.amount, refundId: row.id, providerOutTradeNo: e.provider_out_trade_no },
      });
      return refundView(row, order.out_trade_no);
    },

    /** Starts the workflows of refunds whose start was lost (crash between commit and start). */
    async startLostWorkflows(olderThanMs = 30_000): Promise<number> {
      const rows = await refunds.findRefundsWithoutWorkflow(db, new Date(Date.now() - olderThanMs));
      for (const row of rows) {
        const order = await findOrderById(db, row.order_id);
        if (order) await ensureWorkflow(row, order.out_trade_no);
      }
      return rows.length;
    },
  };
}

export type RefundService = ReturnType<typeof createRefundService>;
