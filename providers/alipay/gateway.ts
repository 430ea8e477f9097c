/**
 * Gateway plumbing shared by the adapter's server calls (trade query / close / precreate, refunds): one
 * verified `exec`, the classification of SDK exceptions, and the checks every answer goes through.
 */
import { AlipayRequestError, type AlipaySdk, type AlipaySdkCommonResult, type IRequestParams } from 'alipay-sdk';
import { ProviderError } from '../types';

export const SUCCESS_CODE = '10000';
const TRADE_NOT_EXIST = 'ACQ.TRADE_NOT_EXIST';

export type GatewayResult = AlipaySdkCommonResult;

export async function gatewayCall(sdk: AlipaySdk, method: string, params: IRequestParams): Promise<GatewayResult> {
  try {
    // validateSign: without it the SDK accepts any response body, including a forged "TRADE_SUCCESS".
    return await sdk.exec(method, params, { validateSign: true });
  } catch (err) {
    throw mapSdkError(method, err);
  }
}

/** Classifies alipay-sdk exceptions (src/alipay.ts exec/#formatExecHttpResponse/checkResponseSign). */
export function mapSdkError(method: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const isSdkError = err instanceof AlipayRequestError || (err instanceof Error && err.name === 'AlipayRequestError');
  if (isSdkError) {
    if (message.startsWith('HttpClient Request error')) {
      // Connection refused/reset, DNS, timeout: nothing reached Alipay or the answer was lost. Retryable.
      const cause = (err as Error & { cause?: unknown }).cause;
      const detail = cause instanceof Error ? cause.message : message;
      return new ProviderError('UNAVAILABLE', `${method}: network error: ${detail}`);
    }
    if (message.startsWith('HTTP 请求错误')) {
      return new ProviderError('UNAVAILABLE', `${method}: gateway answered HTTP ${httpStatusOf(message)}`);
    }
    if (message.startsWith('验签失败')) {
      // Do not echo the SDK message: it quotes the whole response body.
      return new ProviderError('BAD_RESPONSE', `${method}: response signature verification failed`);
    }
    return new ProviderError('BAD_RESPONSE', `${method}: unparsable gateway response`);
  }
  // e.g. a TypeError from node:crypto when a response carries no sign at all.
  return new ProviderError('BAD_RESPONSE', `${method}: response could not be verified (${err instanceof Error ? err.name : 'error'})`);
}

function httpStatusOf(message: string): string {
  return /status: (\d+)/.exec(message)?.[1] ?? '?';
}

export function isTradeNotExist(res: GatewayResult): boolean {
  return res.code === '40004' && res.sub_code === TRADE_NOT_EXIST;
}

/** `method: code msg sub_code (sub_msg)` for error messages. */
export function answerDetail(method: string, res: GatewayResult): string {
  return `${method}: ${res.code} ${res.msg ?? ''}${res.sub_code ? ` ${res.sub_code}` : ''}${res.sub_msg ? ` (${res.sub_msg})` : ''}`;
}

export function ensureSuccess(method: string, res: GatewayResult): void {
  if (res.code === SUCCESS_CODE) return;
  const detail = answerDetail(method, res);
  // 20000 = service unavailable, ACQ.SYSTEM_ERROR = "系统错误，请重试": Alipay asks callers to retry these.
  if (res.code === '20000' || res.sub_code === 'ACQ.SYSTEM_ERROR') {
    throw new ProviderError('UNAVAILABLE', detail, res.sub_code ?? res.code);
  }
  throw new ProviderError('REJECTED', detail, res.sub_code ?? res.code);
}

export function ensureSameTrade(method: string, res: GatewayResult, outTradeNo: string): void {
  // A signed answer about a different trade (proxy/cache mix-up) must not settle this order.
  if (res.out_trade_no !== undefined && res.out_trade_no !== outTradeNo) {
    throw new ProviderError('BAD_RESPONSE', `${method}: response is for out_trade_no ${String(res.out_trade_no)}, expected ${outTradeNo}`);
  }
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
