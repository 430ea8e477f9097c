/** Turns a provider's normalized trade outcome into the verdict the workflow applies. Pure. */
import type { ProviderVerdict } from '../domain/payment';
import type { TradeOutcome } from './types';

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
