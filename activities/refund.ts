/**
 * RefundWorkflow's activities: the provider refund and refund query (always with the refund's stable provider
 * request number, so a retry can never refund twice) and the recording of the result in PostgreSQL.
 */
import type { Db } from '../db/connection';
import { loadCredentials } from '../db/queries/channel-configs';
import { findRefundById, recordRefundResult, setProviderRefundId, type RefundRow } from '../db/queries/refunds';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import { providerOutRefundNo, type RefundResult, type RefundVerdict } from '../domain/refund';
import { providerRefundCallbackPath } from '../domain/urls';
import type { ProviderRegistry } from '../providers/registry';
import { refundVerdictOf } from '../providers/verdict';
import { ProviderError, type RefundOutcome } from '../providers/types';
import type { Metrics } from '../observability/metrics';
import type { SecretBox } from '../security/secret-box';

export interface RefundActivityDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  /** Base URL providers post refund notifications to. */
  publicBaseUrl: string;
  metrics?: Metrics;
}

export function createRefundActivities(deps: RefundActivityDeps) {
  const { db, secretBox, providers } = deps;

  async function load(refundId: number) {
    const refund = await findRefundById(db, refundId);
    if (!refund) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `refund ${refundId} not found`));
    const creds = await loadCredentials(db, secretBox, refund.config_id, { anyStatus: true });
    if (!creds) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `channel config ${refund.config_id} not found`));
    return { refund, creds, provider: providers.get(refund.channel_type) };
  }

  /** Provider trouble is retryable (the workflow's retry policy resends the same request number); a refusal is an answer. */
  function failure(err: unknown, what: string): never {
    if (err instanceof ProviderError) {
      throw toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, `${what}: ${err.kind}${err.providerCode ? ` ${err.providerCode}` : ''}`));
    }
    throw err;
  }

  async function remember(refund: RefundRow, verdict: RefundVerdict): Promise<RefundVerdict> {
    if ((verdict.status === 'PROCESSING' || verdict.status === 'SUCCESS') && verdict.providerRefundId) await setProviderRefundId(db, refund.id, verdict.providerRefundId);
    return verdict;
  }

  return {
    async requestRefund(args: { refundId: number }): Promise<RefundVerdict> {
      const { refund, creds, provider } = await load(args.refundId);
      let outcome: RefundOutcome;
      try {
        outcome = await provider.refund(creds, {
          outTradeNo: refund.provider_out_trade_no,
          outRefundNo: providerOutRefundNo(refund.id),
          amountFen: refund.amount,
          totalFen: refund.trade_amount,
          reason: refund.reason ?? undefined,
          notifyUrl: deps.publicBaseUrl + providerRefundCallbackPath(refund.channel_type, refund.config_id),
        });
      } catch (err) {
        // REJECTED before anything reached the provider (bad parameters, unusable config): a final answer.
        if (err instanceof ProviderError && err.kind === 'REJECTED') return { status: 'FAIL', errorCode: err.providerCode ?? 'REFUND_REJECTED', errorMsg: err.message.slice(0, 256) };
        failure(err, 'refund failed');
      }
      return remember(refund, refundVerdictOf(outcome));
    },

    async queryRefund(args: { refundId: number }): Promise<RefundVerdict> {
      const { refund, creds, provider } = await load(args.refundId);
      let outcome: RefundOutcome;
      try {
        outcome = await provider.queryRefund(creds, { outTradeNo: refund.provider_out_trade_no, outRefundNo: providerOutRefundNo(refund.id) });
      } catch (err) {
        failure(err, 'refund query failed');
      }
      return remember(refund, refundVerdictOf(outcome));
    },

    /** Idempotent: the first final result wins; a FAIL releases the refund's reservation in the same transaction. */
    async recordRefundResult(args: { refundId: number; result: RefundResult }): Promise<void> {
      await recordRefundResult(db, args.refundId, args.result);
      deps.metrics?.refundResults.inc({ status: args.result.status });
    },
  };
}
