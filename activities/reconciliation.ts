/**
 * ReconciliationWorkflow's activities: stream a provider's bill of one day into PostgreSQL and compare it there,
 * heal or raise the payments only the provider knows, and close the run. Heartbeats keep a long bill alive and
 * let a retry start over cleanly (a run restarts with its staged rows cleared).
 */
import { Context } from '@temporalio/activity';
import type { Db } from '../db/connection';
import { listActiveChannelConfigs, loadCredentials } from '../db/queries/channel-configs';
import * as runs from '../db/queries/reconciliation';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import type { DiscrepancyResolution } from '../domain/reconciliation';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type BillTotals } from '../providers/types';
import type { SecretBox } from '../security/secret-box';

/** Resolves a MISSING_LOCAL payment: asks the provider, then heals the order or raises an exception (app/reconciliation.ts). */
export interface MissingPaymentHealer {
  heal(discrepancyId: number): Promise<DiscrepancyResolution>;
}

export interface ReconciliationActivityDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  healer: MissingPaymentHealer;
}

/** Rows per insert while staging a bill: bounded memory, few round trips. */
const STAGE_BATCH = 1000;

export function createReconciliationActivities(deps: ReconciliationActivityDeps) {
  const { db, providers } = deps;
  return {
    /** The active configs whose wallet serves bills: what the daily schedule reconciles. */
    async listReconcilableConfigs(): Promise<number[]> {
      return (await listActiveChannelConfigs(db)).filter((c) => providers.has(c.channelType) && providers.get(c.channelType).downloadBill).map((c) => c.id);
    },

    async reconcileDay(args: { day: string; configId: number; trigger: 'SCHEDULE' | 'ADMIN'; requestedBy: string | null; workflowId: string }): Promise<{ runId: number } & runs.ComparisonResult> {
      const creds = await loadCredentials(db, deps.secretBox, args.configId, { anyStatus: true });
      if (!creds) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `channel config ${args.configId} not found`));
      const provider = providers.has(creds.channelType) ? providers.get(creds.channelType) : null;
      if (!provider?.downloadBill) throw toApplicationFailure(new DomainError(ErrorCode.CONFLICT, `${creds.channelType} serves no bills`));
      const runId = await runs.startRun(db, { day: args.day, configId: args.configId, channelType: creds.channelType, trigger: args.trigger, requestedBy: args.requestedBy, workflowId: args.workflowId });
      let batch: runs.StagedBillRow[] = [];
      let totals: BillTotals | null = null;
      let staged = 0;
      try {
        for await (const entry of provider.downloadBill(creds, args.day)) {
          if (entry.kind === 'TOTALS') {
            totals = entry;
            continue;
          }
          batch.push({
            kind: entry.kind,
            providerOutTradeNo: entry.outTradeNo,
            providerTradeNo: entry.providerTradeNo,
            outRefundNo: entry.kind === 'REFUND' ? entry.outRefundNo : null,
            amount: entry.amountFen,
            at: entry.time,
          });
          if (batch.length >= STAGE_BATCH) {
            await runs.stageBillRows(db, runId, batch);
            staged += batch.length;
            batch = [];
            Context.current().heartbeat({ staged });
          }
        }
      } catch (err) {
        // A bill that failed verification half way is void: nothing of it may be compared.
        if (err instanceof ProviderError) {
          // A refusal (e.g. a day the provider has no bill for yet) will not change on retry; the rest may.
          const code = err.kind === 'REJECTED' ? ErrorCode.CONFLICT : ErrorCode.PROVIDER_UNAVAILABLE;
          throw toApplicationFailure(new DomainError(code, `bill download failed: ${err.kind}${err.providerCode ? ` ${err.providerCode}` : ''}`));
        }
        throw err;
      }
      await runs.stageBillRows(db, runId, batch);
      if (!totals) throw toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, 'bill ended without its totals'));
      await runs.recordProviderTotals(db, runId, totals);
      Context.current().heartbeat({ staged: staged + batch.length, comparing: true });
      return { runId, ...(await runs.compareRun(db, runId, args.day, args.configId)) };
    },

    async healMissingPayment(args: { discrepancyId: number }): Promise<DiscrepancyResolution> {
      return deps.healer.heal(args.discrepancyId);
    },

    async finishReconciliation(args: { runId: number; status: 'DONE' | 'FAILED'; error?: string }): Promise<void> {
      await runs.finishRun(db, args.runId, args.status, args.error ?? null);
    },

    /** A run that never got its id (the bill could not be fetched at all) is still recorded as FAILED. */
    async failReconciliation(args: { day: string; configId: number; trigger: 'SCHEDULE' | 'ADMIN'; requestedBy: string | null; workflowId: string; error: string }): Promise<void> {
      const existing = await runs.findRunOf(db, args.day, args.configId);
      const runId = existing?.status === 'RUNNING' ? existing.id : await runs.startRun(db, { ...args, channelType: (await loadCredentials(db, deps.secretBox, args.configId, { anyStatus: true }))?.channelType ?? 'unknown' });
      await runs.finishRun(db, runId, 'FAILED', args.error);
    },
  };
}
