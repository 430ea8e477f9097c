/** Authentication and parsing of signed requests (server API, wap.pay URL, app order string). */
import type { AlipayContext } from './context';
import { invalid, missing } from './errors';
import * as wire from './protocol';
import type { SimMerchant } from './types';

/** Query-string parameters, overridden by form-urlencoded body parameters of the same name. */
export function mergedParams(url: URL, body: Buffer): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (body.length) Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  return params;
}

/** Checks the common parameters and the RSA2 signature against the app's public key; `checkSkew` also checks the timestamp's distance from now. */
export function authenticate(ctx: AlipayContext, params: Record<string, string>, checkSkew: boolean): SimMerchant {
  if (!params.app_id) throw missing('isv.missing-app-id', '缺少AppID参数');
  const merchant = ctx.state.merchants.get(params.app_id);
  if (!merchant) throw invalid('isv.invalid-app-id', '无效的AppID参数');
  if (params.format && params.format.toUpperCase() !== 'JSON') throw invalid('isv.invalid-format', '无效的数据格式');
  if ((params.charset ?? '').toLowerCase() !== 'utf-8') throw invalid('isv.invalid-charset', '字符集错误');
  if (!params.version) throw missing('isv.missing-version', '缺少版本参数');
  if (params.version !== '1.0') throw invalid('isv.invalid-parameter', '版本号错误');
  if (!params.sign_type) throw missing('isv.missing-signature-type', '缺少签名类型参数');
  if (params.sign_type !== 'RSA2') throw invalid('isv.invalid-signature-type', '无效的签名类型参数');
  if (!params.timestamp) throw missing('isv.missing-timestamp', '缺少时间戳参数');
  const ts = wire.parseShanghaiTime(params.timestamp);
  if (!ts) throw invalid('isv.invalid-timestamp', '非法的时间戳参数');
  // Alipay reads timestamp as Beijing time: a client formatting it in UTC is 8 h off and gets refused.
  if (checkSkew && Math.abs(ts.getTime() - Date.now()) > ctx.maxSkewMs) {
    throw invalid('isv.invalid-timestamp', '非法的时间戳参数（与支付宝服务器时间相差过大）');
  }
  if (!params.sign) throw missing('isv.missing-signature', '缺少签名参数');
  const content = wire.requestSignContent(params);
  if (!wire.rsa2Verify(content, params.sign, merchant.appPublicKey)) {
    throw invalid('isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`);
  }
  return merchant;
}

export function parseBiz(params: Record<string, string>): Record<string, unknown> {
  if (!params.biz_content) throw missing('isv.missing-parameter', '缺少必选参数 biz_content');
  try {
    const v: unknown = JSON.parse(params.biz_content);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw invalid('isv.invalid-parameter', 'biz_content 不是合法的 JSON 对象');
}

/** A biz_content field as a string: numbers are stringified, empty / absent / other types give undefined. */
export function bizString(biz: Record<string, unknown>, key: string): string | undefined {
  const v = biz[key];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
