/**
 * Reconciliation use-cases: healing a payment only the provider's bill shows (a provider query decides: the
 * order's workflow gets the verdict, or the money becomes a payment exception), an administrator's run of any
 * past day, and the runs and discrepancies the console lists.
 */
import type { Db } from '../db/connection';
import * as audit from '../db/queries/audit-log';
import { channelConfigExists, loadCredentials } from '../db/queries/channel-configs';
import { findAppChannelInConfig } from '../db/queries/channels';
import { findOrderById } from '../db/queries/orders';
import * as runs from '../db/queries/reconciliation';
import { DomainError, ErrorCode } from '../domain/errors';
import { parseProviderOutTradeNo } from '../domain/order';
import { isPastDay, type DiscrepancyResolution } from '../domain/reconciliation';
import type { ProviderRegistry } from '../providers/registry';
import { verdictOf } from '../providers/verdict';
import type { SecretBox } from '../security/secret-box';
import type { TemporalGateway } from '../temporal/client';
import type { CallbackService } from './callbacks';

export interface ReconciliationServiceDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  temporal: TemporalGateway;
  callbacks: Pick<CallbackService, 'applyVerdict'>;
}

export function createReconciliationService(deps: ReconciliationServiceDeps) {
  const { db } = deps;

  return {
    /**
     * A MISSING_LOCAL payment: the provider is asked about the trade (the bill alone is not acted on). Paid: the
     * verdict is applied like a callback, so a running order is healed and an ended one raises a late or duplicate
     * payment exception (refunded by the exception policy). Idempotent: applying a verdict twice changes nothing.
     */
    async heal(discrepancyId: number): Promise<DiscrepancyResolution> {
      const d = await runs.findDiscrepancy(db, discrepancyId);
      if (!d) throw new DomainError(ErrorCode.NOT_FOUND, `discrepancy ${discrepancyId} not found`);
      const resolve = async (resolution: DiscrepancyResolution, detail: string) => {
        await runs.resolveDiscrepancy(db, d.id, resolution, detail);
        return resolution;
      };
      const ids = d.provider_out_trade_no ? parseProviderOutTradeNo(d.provider_out_trade_no) : null;
      const order = ids ? await findOrderById(db, ids.orderId) : null;
      const channel = ids && order ? await findAppChannelInConfig(db, { channelId: ids.channelId, configId: d.config_id, appId: order.app_id }) : null;
      const creds = await loadCredentials(db, deps.secretBox, d.config_id, { anyStatus: true });
      if (!ids || !order || !channel || !creds) return resolve('UNKNOWN_TRADE', 'the bill names a trade that is not one of our orders');
      const verdict = verdictOf(await deps.providers.get(creds.channelType).query(creds, d.provider_out_trade_no!));
      if (verdict.status !== 'SUCCESS' && verdict.status !== 'FINISH') return resolve('NOT_PAID', `the provider's query says ${verdict.status}`);
      const channelRef = { channelId: channel.id, channelType: creds.channelType, sceneCode: channel.scene_code, configId: d.config_id, mchId: creds.mchId };
      const outcome = await deps.callbacks.applyVerdict(order, channelRef, verdict, { eventId: `reconciliation-${d.day}-${d.id}`, detectedBy: `reconciliation ${d.day}` });
      if (outcome === 'DELIVERED') return resolve('HEALED', 'paid at the provider; the order workflow got the verdict');
      return resolve('EXCEPTION', outcome === 'AMOUNT_MISMATCH' ? 'paid with another amount: payment exception' : 'paid after the order ended: payment exception');
    },

    /** An administrator reconciles a past day for one config (or every reconcilable one). Audited. */
    async startRun(actor: { username: string; ip: string | null }, day: string, configId: number): Promise<{ workflowId: string }> {
      if (!isPastDay(day, Date.now())) throw new DomainError(ErrorCode.VALIDATION, `day must be a past date (yyyy-MM-dd, Asia/Shanghai): ${day}`);
      const config = await channelConfigExists(db, configId);
      if (!config) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      if (!deps.providers.has(config.channel_type) || !deps.providers.get(config.channel_type).downloadBill) {
        throw new DomainError(ErrorCode.CONFLICT, `${config.channel_type} 不提供对账单`);
      }
      const workflowId = await deps.temporal.startReconciliation({ day, configId, trigger: 'ADMIN', requestedBy: actor.username });
      await audit.insertAudit(db, { actor: actor.username, action: 'reconciliation.run', targetType: 'channel_config', targetId: configId, ip: actor.ip, detail: { day, workflowId } });
      return { workflowId };
    },

    listRuns: (f: Parameters<typeof runs.searchRuns>[1]) => runs.searchRuns(db, f),
    listDiscrepancies: (f: Parameters<typeof runs.searchDiscrepancies>[1]) => runs.searchDiscrepancies(db, f),
  };
}

export type ReconciliationService = ReturnType<typeof createReconciliationService>;
