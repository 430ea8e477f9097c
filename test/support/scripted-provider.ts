/**
 * A scripted provider for WORKFLOW tests only (time-skipping server): answers prepay/query/close from a
 * script so workflow logic can be driven deterministically. Integration and end-to-end tests use the real
 * SDK adapters against the sandboxes instead.
 */
import { ProviderError, type PaymentProvider, type RefundOutcome, type RefundRequest, type TradeOutcome, type TransferOutcome, type TransferRequest } from '../../providers/types';

export class ScriptedProvider implements PaymentProvider {
  readonly scenes = ['h5', 'native', 'app', 'jsapi'] as const;
  queryOutcome: TradeOutcome = { status: 'WAITING' };
  readonly calls: Array<{ op: 'prepay' | 'query' | 'close' | 'refund' | 'queryRefund' | 'transfer' | 'queryTransfer'; outTradeNo: string; outRefundNo?: string }> = [];
  /** Answers of transfer() / queryTransfer(), consumed in order; the last one repeats. */
  transferAnswers: Array<TransferOutcome | 'UNAVAILABLE'> = [];
  transferQueryAnswers: Array<TransferOutcome | 'UNAVAILABLE'> = [];
  /** Answers of refund(), consumed in order; the last one repeats. 'UNAVAILABLE' throws like a provider outage. */
  refundAnswers: Array<RefundOutcome | 'UNAVAILABLE'> = [];
  /** Answers of queryRefund(), consumed in order; the last one repeats. */
  refundQueryAnswers: Array<RefundOutcome | 'UNAVAILABLE'> = [];

  constructor(readonly channelType: 'ali-pay' | 'wx-pay' = 'ali-pay') {}

  async prepay(_c: unknown, req: { outTradeNo: string }) {
    this.calls.push({ op: 'prepay', outTradeNo: req.outTradeNo });
    return { kind: 'qr' as const, codeUrl: `scripted://pay/${req.outTradeNo}` };
  }
  async query(_c: unknown, outTradeNo: string) {
    this.calls.push({ op: 'query', outTradeNo });
    return this.queryOutcome;
  }
  async close(_c: unknown, outTradeNo: string) {
    this.calls.push({ op: 'close', outTradeNo });
  }
  async refund(_c: unknown, req: RefundRequest): Promise<RefundOutcome> {
    this.calls.push({ op: 'refund', outTradeNo: req.outTradeNo, outRefundNo: req.outRefundNo });
    return answer(this.refundAnswers, { status: 'SUCCESS', amountFen: req.amountFen, providerRefundNo: `scripted-${req.outRefundNo}`, refundTime: new Date() });
  }
  async queryRefund(_c: unknown, q: { outTradeNo: string; outRefundNo: string }): Promise<RefundOutcome> {
    this.calls.push({ op: 'queryRefund', outTradeNo: q.outTradeNo, outRefundNo: q.outRefundNo });
    return answer(this.refundQueryAnswers, { status: 'NOT_FOUND' });
  }
  async transfer(_c: unknown, req: TransferRequest): Promise<TransferOutcome> {
    this.calls.push({ op: 'transfer', outTradeNo: req.outBizNo });
    return answer(this.transferAnswers, { status: 'SUCCESS', providerTransferId: `scripted-${req.outBizNo}`, transferTime: new Date() });
  }
  async queryTransfer(_c: unknown, outBizNo: string): Promise<TransferOutcome> {
    this.calls.push({ op: 'queryTransfer', outTradeNo: outBizNo });
    return answer(this.transferQueryAnswers, { status: 'NOT_FOUND' });
  }
  async verifyCallback(): Promise<never> {
    throw new Error('scripted provider has no callbacks');
  }
  callbackAck(ok: boolean) {
    return { status: ok ? 200 : 400, contentType: 'text/plain', body: ok ? 'success' : 'fail' };
  }
}

function answer<T>(script: Array<T | 'UNAVAILABLE'>, fallback: T): T {
  const next = script.length > 1 ? script.shift()! : (script[0] ?? fallback);
  if (next === 'UNAVAILABLE') throw new ProviderError('UNAVAILABLE', 'scripted outage');
  return next;
}
