/**
 * Transfer use-cases: a merchant's payout request (checked against the app's settings, reserved against its
 * daily limit in PostgreSQL, then a TransferWorkflow), its query, an administrator's approval decision, the
 * per-app settings (audited), and healing lost workflow starts.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection';
import { listApprovedAppChannels } from '../db/queries/app-channels';
import type { AppWithKeys } from '../db/queries/apps';
import * as audit from '../db/queries/audit-log';
import * as transfers from '../db/queries/transfers';
import { DomainError, ErrorCode } from '../domain/errors';
import { formatShanghai } from '../domain/order';
import { shanghaiDay } from '../domain/reconciliation';
import { PAYEE_TYPES_BY_CHANNEL, settingsRefusal, type TransferSettings } from '../domain/transfer';
import type { Logger } from '../observability/logger';
import type { TemporalGateway } from '../temporal/client';
import { WorkflowIds } from '../temporal/workflow-ids';

export interface TransferServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  log: Logger;
  config: { providerPollIntervalSeconds: number };
}

/** A merchant transfer request after validation (the HTTP schema produces it). */
export interface TransferInput {
  outBizNo: string;
  channelType: string;
  amount: number;
  payeeType: string;
  payeeAccount: string;
  payeeName?: string;
  remark: string;
  notifyUrl?: string;
}

export interface TransferView {
  transferId: number;
  outBizNo: string;
  channelType: string;
  amount: number;
  payeeType: string;
  payeeAccount: string;
  status: transfers.TransferRow['status'];
  transferTime: string | null;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  /** While WAIT_USER_CONFIRM: what the payee's client passes to the wallet to confirm (WeChat requestMerchantTransfer). */
  confirm: Record<string, string> | null;
}

export function transferView(t: transfers.TransferRow): TransferView {
  return {
    transferId: t.id,
    outBizNo: t.out_biz_no,
    channelType: t.channel_type,
    amount: t.amount,
    payeeType: t.payee_type,
    payeeAccount: t.payee_account,
    status: t.status,
    transferTime: t.transfer_time ? formatShanghai(t.transfer_time.getTime()) : null,
    resultErrorCode: t.result_error_code,
    resultErrorMsg: t.result_error_msg,
    confirm: t.status === 'WAIT_USER_CONFIRM' ? t.confirm : null,
  };
}

export function createTransferService(deps: TransferServiceDeps) {
  const { db, temporal } = deps;

  async function ensureWorkflow(t: transfers.TransferRow): Promise<void> {
    if (t.workflow_started_at) return;
    await temporal.startTransfer(
      {
        transferId: t.id,
        appId: t.app_id,
        outBizNo: t.out_biz_no,
        channelType: t.channel_type,
        amount: t.amount,
        needsApproval: t.needs_approval,
        notify: t.notify_url !== null,
        pollIntervalMs: deps.config.providerPollIntervalSeconds * 1000,
      },
      { payee: `${t.payee_type} ${t.payee_account}`, remark: t.remark },
    );
    await transfers.markTransferWorkflowStarted(db, t.id);
  }

  return {
    /** POST /transfers: idempotent by outBizNo; refused with nothing written when settings or limits say no. */
    async merchantTransfer(app: AppWithKeys, input: TransferInput): Promise<TransferView> {
      const notifyUrl = input.notifyUrl ?? app.notifyUrl ?? null;
      const payeeName = input.payeeName ?? null;
      const hash = createHash('sha256')
        .update(JSON.stringify([input.outBizNo, input.channelType, input.amount, input.payeeType, input.payeeAccount, payeeName, input.remark, notifyUrl]))
        .digest('hex');
      const existing = await transfers.findTransferByOutBizNo(db, app.appId, input.outBizNo);
      if (existing) {
        if (existing.request_hash !== hash) throw new DomainError(ErrorCode.CONFLICT, `outBizNo ${input.outBizNo} 已用于内容不同的转账`);
        await ensureWorkflow(existing);
        return transferView(existing);
      }
      if (!(PAYEE_TYPES_BY_CHANNEL[input.channelType] ?? []).includes(input.payeeType as never)) {
        throw new DomainError(ErrorCode.VALIDATION, `参数校验失败: payeeType ${input.payeeType} cannot be paid through ${input.channelType}`);
      }
      const settings = await transfers.getTransferSettings(db, app.appId);
      const refused = settingsRefusal(settings, input.amount);
      if (refused) throw new DomainError(settings?.enabled ? ErrorCode.CONFLICT : ErrorCode.FORBIDDEN, refused);
      const channel = (await listApprovedAppChannels(db, app.appId)).find((c) => c.channelType === input.channelType);
      if (!channel) throw new DomainError(ErrorCode.FORBIDDEN, `应用没有已审核通过的 ${input.channelType} 渠道`);
      const result = await transfers.createTransferWithReservation(
        db,
        {
          app_id: app.appId,
          out_biz_no: input.outBizNo,
          channel_type: input.channelType,
          config_id: channel.configId,
          mch_id: channel.mchId,
          amount: input.amount,
          payee_type: input.payeeType,
          payee_account: input.payeeAccount,
          payee_name: payeeName,
          remark: input.remark,
          notify_url: notifyUrl,
          request_hash: hash,
          day: shanghaiDay(Date.now()),
          needs_approval: input.amount > settings!.approvalThreshold,
          status: input.amount > settings!.approvalThreshold ? 'PENDING_APPROVAL' : 'PROCESSING',
          workflow_id: WorkflowIds.transfer(app.appId, input.outBizNo),
        },
        settings!.dailyLimit,
      );
      if (result.outcome === 'OVER_DAILY_LIMIT') throw new DomainError(ErrorCode.CONFLICT, `超过每日转账限额（今日已用 ${result.reserved} 分，限额 ${settings!.dailyLimit} 分）`);
      if (result.outcome === 'EXISTS' && result.row.request_hash !== hash) throw new DomainError(ErrorCode.CONFLICT, `outBizNo ${input.outBizNo} 已用于内容不同的转账`);
      if (result.outcome === 'CREATED') deps.log.info('transfer created', { appId: app.appId, outBizNo: input.outBizNo, transferId: result.row.id, amount: input.amount, needsApproval: result.row.needs_approval });
      await ensureWorkflow(result.row);
      return transferView(result.row);
    },

    async merchantTransferView(app: AppWithKeys, outBizNo: string): Promise<TransferView> {
      const t = await transfers.findTransferByOutBizNo(db, app.appId, outBizNo);
      if (!t) throw new DomainError(ErrorCode.NOT_FOUND, '转账不存在');
      return transferView(t);
    },

    /** An administrator approves or rejects a transfer waiting for approval. Audited. */
    async decide(actor: { username: string; ip: string | null }, transferId: number, approve: boolean, note: string | null): Promise<TransferView> {
      const t = await transfers.findTransferById(db, transferId);
      if (!t) throw new DomainError(ErrorCode.NOT_FOUND, '转账不存在');
      if (t.status !== 'PENDING_APPROVAL' || !(await transfers.claimTransferDecision(db, t.id, { by: actor.username, note }))) {
        throw new DomainError(ErrorCode.CONFLICT, '该转账已审批或已结束，无需再审批');
      }
      const delivered = await temporal.decideTransfer(t.workflow_id, approve, { by: actor.username, note });
      if (!delivered) throw new DomainError(ErrorCode.CONFLICT, '转账流程已结束');
      await audit.insertAudit(db, {
        actor: actor.username,
        action: approve ? 'transfer.approve' : 'transfer.reject',
        targetType: 'transfer',
        targetId: t.id,
        ip: actor.ip,
        detail: { appId: t.app_id, outBizNo: t.out_biz_no, amount: t.amount, note },
      });
      return transferView(t);
    },

    getSettings: async (appId: string): Promise<TransferSettings> =>
      (await transfers.getTransferSettings(db, appId)) ?? { enabled: false, maxPerTransfer: 0, dailyLimit: 0, approvalThreshold: 0 },

    /** Saves an app's transfer settings; the audit log keeps both versions. */
    async saveSettings(actor: { username: string; ip: string | null }, appId: string, s: TransferSettings): Promise<TransferSettings> {
      const before = await transfers.getTransferSettings(db, appId);
      await transfers.saveTransferSettings(db, appId, s, actor.username);
      await audit.insertAudit(db, { actor: actor.username, action: 'transfer.settings', targetType: 'app', targetId: appId, ip: actor.ip, detail: { before, after: s } });
      return s;
    },

    async startLostWorkflows(olderThanMs = 30_000): Promise<number> {
      const rows = await transfers.findTransfersWithoutWorkflow(db, new Date(Date.now() - olderThanMs));
      for (const t of rows) await ensureWorkflow(t);
      return rows.length;
    },
  };
}

export type TransferService = ReturnType<typeof createTransferService>;
