/** The two kinds of failure inside the sandbox: Alipay protocol answers and control-API errors. */

export type ApiPayload = Record<string, string>;

/** An Alipay-style failure: gateway code + sub_code. Thrown by the trade logic, rendered per channel. */
export class AlipayFailure extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode: string,
    readonly subMsg: string,
    readonly httpStatus = 400,
  ) {
    super(`${subCode}: ${subMsg}`);
  }
  payload(): ApiPayload {
    return { code: this.code, msg: this.msg, sub_code: this.subCode, sub_msg: this.subMsg };
  }
}

export const missing = (sub: string, m: string) => new AlipayFailure('40001', 'Missing Required Arguments', sub, m);
export const invalid = (sub: string, m: string) => new AlipayFailure('40002', 'Invalid Arguments', sub, m);
export const business = (sub: string, m: string, httpStatus = 409) => new AlipayFailure('40004', 'Business Failed', sub, m, httpStatus);

/** Control-API error (not an Alipay protocol answer). */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
