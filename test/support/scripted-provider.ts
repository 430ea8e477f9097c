/**
 * A scripted provider for WORKFLOW tests only (time-skipping server): answers prepay/query/close from a
 * script so workflow logic can be driven deterministically. Integration and end-to-end tests use the real
 * SDK adapters against the sandboxes instead.
 */
import type { PaymentProvider, TradeOutcome } from '../../providers/types';

export class ScriptedProvider implements PaymentProvider {
  readonly scenes = ['h5', 'native', 'app', 'jsapi'] as const;
  queryOutcome: TradeOutcome = { status: 'WAITING' };
  readonly calls: Array<{ op: 'prepay' | 'query' | 'close'; outTradeNo: string }> = [];

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
  async verifyCallback(): Promise<never> {
    throw new Error('scripted provider has no callbacks');
  }
  callbackAck(ok: boolean) {
    return { status: ok ? 200 : 400, contentType: 'text/plain', body: ok ? 'success' : 'fail' };
  }
}
