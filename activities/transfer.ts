/**
 * TransferWorkflow's activities: the provider payout and its query (always with the transfer's stable request
 * number, so a retry can never pay twice) and the recording of decisions, progress and the result.
 */
import type { Db } from '../db/connection';
import { loadCredentials } from '../db/queries/channel-configs';
import * as transfers from '../db/queries/transfers';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import { providerOutBizNo, type TransferResult, type TransferVerdict } from '../domain/transfer';
import { providerTransferCallbackPath } from '../domain/urls';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type PayeeType, type TransferOutcome } from '../providers/types';
import { transferVerdictOf } from '../providers/verdict';
import type { Metrics } from '../observability/metrics';
import type { SecretBox } from '../security/secret-box';

export interface TransferActivityDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  publicBaseUrl: string;
  metrics?: Metrics;
}

export function createTransferActivities(deps: TransferActivityDeps) {
  const { db, providers } = deps;

  async function load(transferId: number) {
    const t = await transfers.findTransferById(db, transferId);
    if (!t) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `transfer ${transferId} not found`));
    const creds = await loadCredentials(db, deps.secretBox, t.config_id);
    if (!creds) throw toApplicationFailure(new DomainError(ErrorCode.FORBIDDEN, `channel config ${t.config_id} is not active`));
    const provider = providers.get(t.channel_type);
    return { t, creds, provider };
  }

  function failure(err: unknown, what: string): never {
    if (err instanceof ProviderError) {
      throw toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, `${what}: ${err.kind}${err.providerCode ? ` ${err.providerCode}` : ''}`));
    }
    throw err;
  }

  return {
    async requestTransfer(args: { transferId: number }): Promise<TransferVerdict> {
      const { t, creds, provider } = await load(args.transferId);
      if (!provider.transfer) return { status: 'FAIL', errorCode: 'TRANSFER_NOT_SUPPORTED', errorMsg: `${t.channel_type} has no transfers` };
      let outcome: TransferOutcome;
      try {
        outcome = await provider.transfer(creds, {
          outBizNo: providerOutBizNo(t.id),
          amountFen: t.amount,
          payeeType: t.payee_type as PayeeType,
          payeeAccount: t.payee_account,
          payeeName: t.payee_name ?? undefined,
          remark: t.remark,
          notifyUrl: deps.publicBaseUrl + providerTransferCallbackPath(t.channel_type, t.config_id),
        });
      } catch (err) {
        // Refused before anything reached the provider (bad parameters, payee type): a final answer.
        if (err instanceof ProviderError && err.kind === 'REJECTED') return { status: 'FAIL', errorCode: err.providerCode ?? 'TRANSFER_REJECTED', errorMsg: err.message.slice(0, 256) };
        failure(err, 'transfer failed');
      }
      return transferVerdictOf(outcome);
    },

    async queryTransfer(args: { transferId: number }): Promise<TransferVerdict> {
      const { t, creds, provider } = await load(args.transferId);
      if (!provider.queryTransfer) return { status: 'NOT_FOUND' };
      try {
        return transferVerdictOf(await provider.queryTransfer(creds, providerOutBizNo(t.id)));
      } catch (err) {
        failure(err, 'transfer query failed');
      }
    },

    async recordTransferDecision(args: { transferId: number; approved: boolean; by: string; note: string | null }): Promise<void> {
      await transfers.recordTransferDecision(db, args.transferId, args);
    },

    async recordTransferProgress(args: { transferId: number; status: 'PROCESSING' | 'WAIT_USER_CONFIRM'; providerTransferId: string | null; confirm: Record<string, string> | null }): Promise<void> {
      await transfers.recordTransferProgress(db, args.transferId, args);
    },

    /** Idempotent: the first final result wins; FAIL and CANCELLED give the amount back to the day's limit. */
    async recordTransferResult(args: { transferId: number; result: TransferResult }): Promise<void> {
      await transfers.recordTransferResult(db, args.transferId, args.result);
      deps.metrics?.transferResults.inc({ status: args.result.status });
    },
  };
}
