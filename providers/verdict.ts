/** Turns a provider's normalized trade and refund outcomes into the verdicts the workflows apply. Pure. */
import type { ProviderVerdict } from '../domain/payment';
import type { RefundVerdict } from '../domain/refund';
import type { TransferVerdict } from '../domain/transfer';
import type { RefundOutcome, TradeOutcome, TransferOutcome } from './types';

export function verdictOf(outcome: TradeOutcome): ProviderVerdict {
  switch (outcome.status) {
    case 'SUCCESS':
    case 'FINISH':
      return { status: outcome.status, amount: outcome.amountFen, providerTradeNo: outcome.providerTradeNo, payTime: outcome.payTime.getTime() };
    case 'FAIL':
      return { status: 'FAIL', errorCode: outcome.errorCode, errorMsg: outcome.errorMsg };
    default:
      return { status: outcome.status };
  }
}

export function refundVerdictOf(o: RefundOutcome): RefundVerdict {
  switch (o.status) {
    case 'SUCCESS':
      return { status: 'SUCCESS', amount: o.amountFen, providerRefundId: o.providerRefundNo, refundTime: o.refundTime.getTime() };
    case 'PROCESSING':
      return { status: 'PROCESSING', providerRefundId: o.providerRefundNo };
    case 'FAIL':
      return { status: 'FAIL', errorCode: o.errorCode, errorMsg: o.errorMsg };
    default:
      return { status: 'NOT_FOUND' };
  }
}

export function transferVerdictOf(o: TransferOutcome): TransferVerdict {
  switch (o.status) {
    case 'SUCCESS':
      return { status: 'SUCCESS', providerTransferId: o.providerTransferId, transferTime: o.transferTime.getTime() };
    case 'PROCESSING':
      return { status: 'PROCESSING', providerTransferId: o.providerTransferId };
    case 'WAIT_USER_CONFIRM':
      return { status: 'WAIT_USER_CONFIRM', providerTransferId: o.providerTransferId, confirm: o.confirm };
    case 'FAIL':
      return { status: 'FAIL', errorCode: o.errorCode, errorMsg: o.errorMsg };
    case 'CANCELLED':
      return { status: 'CANCELLED', reason: o.reason };
    default:
      return { status: 'NOT_FOUND' };
  }
}
