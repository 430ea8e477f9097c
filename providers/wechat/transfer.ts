/**
 * WeChat Pay 商家转账 (merchant transfer to a user's 零钱; the product for merchants since 2025-01-15):
 * 发起转账 POST /v3/fund-app/mch-transfer/transfer-bills, 商户单号查询转账单 GET …/out-bill-no/{out_bill_no},
 * 撤销转账 POST …/out-bill-no/{out_bill_no}/cancel, and the MCHTRANSFER.BILL.FINISHED notification.
 *
 * wechatpay-node-v3 2.2.1 has no method for any of these (its batches_transfer is the retired 商家转账到零钱), so
 * the requests are signed with the SDK's own getSignature/getAuthorization (client.signed*Headers) and sent
 * through the same VerifyingPayRequest every SDK call uses: answers are signature-checked like all others.
 *
 * The product is asynchronous and needs the payee: a new bill answers WAIT_USER_CONFIRM with a package_info
 * that the merchant's client hands to WeChat's requestMerchantTransfer; the money moves only when the payee
 * confirms there. WeChat locks the merchant's funds when it accepts the bill (an account that cannot cover it
 * is refused at once with 403 NOT_ENOUGH and no bill exists), gives them back when the merchant cancels or the
 * payee lets 24 hours pass (FAIL with fail_reason OVERDUE_CLOSE), and reports every final state by notification.
 * Every retry must carry the same out_bill_no with the same content: WeChat then answers with the bill it
 * already has (even its package_info), which is what makes "throw UNAVAILABLE, caller retries" safe.
 */
import type { Output } from 'wechatpay-node-v3/dist/define';
import {
  ProviderError,
  type ChannelCredentials,
  type RawCallback,
  type TransferOutcome,
  type TransferRequest,
  type VerifiedTransferNotification,
} from '../types';
import type { WechatClient } from './client';
import { isSignedError, VerifyingPayRequest, WECHAT_API_ORIGIN } from './http';
import { assertFen, assertNotifyUrl, errorForStatus, parseErrorBody, parseRfc3339, readFen, truncateCodePoints } from './mapping';
import { openNotification } from './notification';

export const TRANSFER_BILLS_PATH = '/v3/fund-app/mch-transfer/transfer-bills';

/** 商户单号: "只能由数字、大小写字母组成", at most 32. It goes into URL paths, so nothing else may pass. */
export const OUT_BILL_NO_PATTERN = /^[0-9A-Za-z]{1,32}$/;
/** transfer_remark: shown to the payee, UTF-8, at most 32 characters. */
const MAX_REMARK = 32;
/** Scene report info_content: 1-32 characters. */
const MAX_REPORT_CONTENT = 32;
/** WeChat: "转账金额 >= 2,000元时，该笔明细必须填写" user_name. */
const NAME_REQUIRED_FROM_FEN = 200_000;

/** Bill states (单据状态) of the API answers and of the notification resource. */
export type WechatTransferState =
  | 'ACCEPTED'
  | 'PROCESSING'
  | 'WAIT_USER_CONFIRM'
  | 'TRANSFERING'
  | 'SUCCESS'
  | 'FAIL'
  | 'CANCELING'
  | 'CANCELLED';

/** The fields of a transfer bill (create / query / cancel answer, or decrypted notification) that we read. */
export interface WechatTransferBill {
  mch_id?: string;
  appid?: string;
  out_bill_no?: string;
  transfer_bill_no?: string;
  state?: string;
  fail_reason?: string;
  package_info?: string;
  transfer_amount?: unknown;
  openid?: string;
  create_time?: string;
  update_time?: string;
}

export interface WechatTransferReportInfo {
  info_type: string;
  info_content: string;
}

/**
 * Which 转账场景 transfers use. Scenes are granted per merchant at 商户平台 → 商家转账, and each prescribes the
 * exact report info types (转账场景报备信息) WeChat insists on; a mismatch is 400 PARAM_ERROR "需传入转账场景报备信息".
 */
export interface WechatTransferScene {
  /** transfer_scene_id, e.g. '1000' (现金营销). */
  sceneId: string;
  /**
   * transfer_scene_report_infos for one transfer. Must be a pure function of the request: a retry with the same
   * out_bill_no must send the same content, or WeChat refuses it ("单号已存在但信息不一致").
   */
  reportInfos(req: TransferRequest): WechatTransferReportInfo[];
  /** user_recv_perception (what the payee sees the money as); undefined = the scene's default. */
  userRecvPerception?: string;
}

/** 现金营销 (scene 1000): exactly two report infos, 活动名称 and 奖励说明; both filled from the remark by default. */
export const CASH_MARKETING_SCENE: WechatTransferScene = {
  sceneId: '1000',
  reportInfos: (req) => {
    const content = truncateCodePoints(req.remark.trim(), MAX_REPORT_CONTENT);
    return [
      { info_type: '活动名称', info_content: content },
      { info_type: '奖励说明', info_content: content },
    ];
  },
};

/** fail_reason values (商家转账《订单失败原因说明》) and WeChat's explanation, for errorMsg. */
const FAIL_REASONS: Record<string, string> = {
  ACCOUNT_FROZEN: '该用户账户被冻结',
  ACCOUNT_NOT_EXIST: '该用户账户不存在',
  BLOCK_B2C_USERLIMITAMOUNT_BSRULE_MONTH: '超出用户月转账收款限额，本月不支持继续向该用户付款',
  BLOCK_B2C_USERLIMITAMOUNT_MONTH: '用户账户存在风险收款受限，本月不支持继续向该用户付款',
  DAY_RECEIVED_COUNT_EXCEED: '超过用户日收款次数，核实产品设置是否准确',
  DAY_RECEIVED_QUOTA_EXCEED: '超过用户日收款额度，核实产品设置是否准确',
  ID_CARD_NOT_CORRECT: '收款人身份证校验不通过，请核实信息',
  MCH_CANCEL: '商户撤销付款',
  MERCHANT_REJECT: '商户员工（转账验密人）已驳回转账',
  MERCHANT_NOT_CONFIRM: '商户员工（转账验密人）超时未验密',
  NAME_NOT_CORRECT: '收款人姓名校验不通过，请核实信息',
  OPENID_INVALID: 'OpenID格式错误或者不属于商家公众账号',
  OTHER_FAIL_REASON_TYPE: '其它失败原因',
  OVERDUE_CLOSE: '超过系统重试期，系统自动关闭',
  PAYEE_ACCOUNT_ABNORMAL: '用户账户收款异常，请联系用户完善其在微信支付的身份信息以继续收款',
  PAYER_ACCOUNT_ABNORMAL: '商户账户付款受限，可前往商户平台获取解除功能限制指引',
  PRODUCT_AUTH_CHECK_FAIL: '未开通该权限或权限被冻结，请核实产品权限状态',
  REALNAME_ACCOUNT_RECEIVED_QUOTA_EXCEED: '用户账户收款受限，请引导用户在微信支付查看详情',
  REAL_NAME_CHECK_FAIL: '收款人未实名认证，需要用户完成微信实名认证',
  RECEIVE_ACCOUNT_NOT_CONFIGURE: '请前往商户平台-商家转账-前往功能-转账场景中添加',
  TRANSFER_QUOTA_EXCEED: '超过用户单笔收款额度，核实产品设置是否准确',
  TRANSFER_RISK: '转账存在风险',
};

/**
 * FAIL reasons that mean "never paid because nobody went through with it", which the provider interface calls
 * CANCELLED: the payee let the 24 hours pass (OVERDUE_CLOSE), or the merchant revoked it (MCH_CANCEL).
 */
const CANCELLING_FAIL_REASONS = new Set(['OVERDUE_CLOSE', 'MCH_CANCEL']);

/** The only states a MCHTRANSFER.BILL.FINISHED notification reports ("单据到终态后"). */
const FINAL_STATES = new Set(['SUCCESS', 'FAIL', 'CANCELLED']);

/** Codes of the transfer APIs that mean "not processed, try again" (besides the ones errorForStatus knows). */
const RETRYABLE_TRANSFER_CODES = new Set(['FREQUENCY_LIMIT_EXCEED', 'RATELIMIT_EXCEEDED']);

function assertOutBillNo(outBillNo: string): void {
  if (typeof outBillNo !== 'string' || !OUT_BILL_NO_PATTERN.test(outBillNo)) {
    throw new ProviderError('REJECTED', 'out_bill_no must be 1-32 digits or letters', 'PARAM_ERROR');
  }
}

/**
 * bill state → normalized outcome. `confirmFor` supplies mchId/appId for requestMerchantTransfer.
 * ACCEPTED / PROCESSING / TRANSFERING / CANCELING → PROCESSING (not final, money may still move or come back);
 * WAIT_USER_CONFIRM → WAIT_USER_CONFIRM {mchId, appId, package} (package only where WeChat answers one: the
 * create call, not the query); SUCCESS → SUCCESS (update_time is when it succeeded); FAIL → FAIL with
 * fail_reason, except OVERDUE_CLOSE / MCH_CANCEL → CANCELLED; CANCELLED → CANCELLED.
 * Anything unknown is thrown as `kind`: guessing could report money paid that was not, or the reverse.
 */
export function mapTransferBill(
  b: WechatTransferBill,
  confirmFor: { mchId: string; appId: string },
  kind: 'BAD_RESPONSE' | 'BAD_CALLBACK' = 'BAD_RESPONSE',
): TransferOutcome {
  const providerTransferId = typeof b.transfer_bill_no === 'string' && b.transfer_bill_no.length > 0 ? b.transfer_bill_no : null;
  switch (b.state) {
    case 'ACCEPTED':
    case 'PROCESSING':
    case 'TRANSFERING':
    case 'CANCELING':
      return { status: 'PROCESSING', providerTransferId, raw: b };
    case 'WAIT_USER_CONFIRM': {
      const confirm: Record<string, string> = { mchId: confirmFor.mchId, appId: confirmFor.appId };
      if (typeof b.package_info === 'string' && b.package_info.length > 0) confirm.package = b.package_info;
      return { status: 'WAIT_USER_CONFIRM', providerTransferId, confirm, raw: b };
    }
    case 'SUCCESS': {
      const transferTime = parseRfc3339(b.update_time);
      if (!transferTime) throw new ProviderError(kind, 'successful transfer without a valid update_time');
      if (!providerTransferId) throw new ProviderError(kind, 'successful transfer without transfer_bill_no');
      return { status: 'SUCCESS', providerTransferId, transferTime, raw: b };
    }
    case 'FAIL': {
      const reason = typeof b.fail_reason === 'string' && b.fail_reason ? b.fail_reason : 'OTHER_FAIL_REASON_TYPE';
      if (CANCELLING_FAIL_REASONS.has(reason)) return { status: 'CANCELLED', reason, raw: b };
      return { status: 'FAIL', errorCode: reason, errorMsg: FAIL_REASONS[reason] ?? '转账失败', raw: b };
    }
    case 'CANCELLED':
      return { status: 'CANCELLED', reason: typeof b.fail_reason === 'string' && b.fail_reason ? b.fail_reason : 'CANCELLED', raw: b };
    default:
      throw new ProviderError(kind, `unknown transfer bill state ${JSON.stringify(String(b.state)).slice(0, 40)}`);
  }
}

/** Sends one of the transfer requests; the answer is verified (success and signed errors) by VerifyingPayRequest. */
function send(client: WechatClient, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>, extraHeaders: Record<string, string> = {}): Promise<Output> {
  const http = new VerifyingPayRequest(client.transport, client.certificates);
  const url = `${WECHAT_API_ORIGIN}${path}`;
  if (method === 'GET') return http.get(url, client.signedGetHeaders(path));
  // VerifyingPayRequest.post sends JSON.stringify(body): the same string is what gets signed. Never an empty
  // body: the SDK's getSignature drops the body line for '' and the signature would not match.
  const payload = body ?? {};
  return http.post(url, payload, { ...client.signedPostHeaders(path, JSON.stringify(payload)), ...extraHeaders });
}

/** A signed bill answer must be about the bill asked for (and this merchant, where the answer says). */
function assertSameBill(b: WechatTransferBill | undefined, outBillNo: string, mchId: string, operation: string): WechatTransferBill {
  if (!b || typeof b !== 'object' || b.out_bill_no !== outBillNo || (b.mch_id !== undefined && b.mch_id !== mchId)) {
    throw new ProviderError('BAD_RESPONSE', `${operation} answer is for another out_bill_no/mch_id`);
  }
  return b;
}

/**
 * A non-200 answer to 发起转账: a business refusal (FAIL with WeChat's code, e.g. NOT_ENOUGH, INVALID_REQUEST,
 * PARAM_ERROR — no bill was created or changed) or an error (thrown). Only a signed 4xx is a refusal: an unsigned
 * one could come from a proxy, and concluding "refused" on its word could lead to a second payout under a new
 * number while the first bill exists.
 */
function refusalOrThrow(operation: string, out: Output): TransferOutcome {
  const body = parseErrorBody(out.error);
  if (body.code && RETRYABLE_TRANSFER_CODES.has(body.code)) {
    throw new ProviderError('UNAVAILABLE', `${operation}: WeChat Pay HTTP ${out.status} ${body.code}`, body.code);
  }
  const err = errorForStatus(operation, out.status, out.error);
  // No answer, 5xx, 429, SYSTEM_ERROR…: the bill may or may not exist; the caller retries with the same
  // out_bill_no, which WeChat deduplicates.
  if (err.kind !== 'REJECTED') throw err;
  if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', `${operation}: unsigned HTTP ${out.status} answer`, err.providerCode);
  if (!body.code) throw new ProviderError('BAD_RESPONSE', `${operation}: HTTP ${out.status} answer without an error code`);
  // 401 SIGN_ERROR is about our credentials, not about the transfer: fixing the config and retrying succeeds.
  if (out.status === 401) throw err;
  return { status: 'FAIL', errorCode: body.code, errorMsg: body.message ?? body.code, raw: body };
}

/**
 * user_name encrypted for WeChat: RSA-OAEP (SHA-1, as WeChat specifies) with the platform certificate's public
 * key, through the SDK's publicEncrypt; the certificate's serial goes into the Wechatpay-Serial request header so
 * WeChat knows which private key decrypts it.
 */
async function encryptPayeeName(client: WechatClient, name: string): Promise<{ ciphertext: string; serial: string }> {
  const cert = await client.certificates.encryptionCertificate();
  const pem = cert.publicKey.export({ type: 'spki', format: 'pem' });
  return { ciphertext: client.pay.publicEncrypt(name, Buffer.from(pem)), serial: cert.serial };
}

export async function createTransferBill(client: WechatClient, req: TransferRequest, scene: WechatTransferScene): Promise<TransferOutcome> {
  if (req.payeeType !== 'WX_OPENID') {
    // 商家转账 only pays WeChat users of the merchant's app, identified by openid.
    throw new ProviderError('REJECTED', `WeChat Pay cannot pay a ${String(req.payeeType)} payee`, 'PAYEE_TYPE_NOT_SUPPORTED');
  }
  assertOutBillNo(req.outBizNo);
  const amount = assertFen(req.amountFen, 'transfer_amount');
  // Without a notify_url WeChat sends no MCHTRANSFER.BILL.FINISHED: the result would only be found by polling.
  assertNotifyUrl(req.notifyUrl);
  if (typeof req.payeeAccount !== 'string' || !/^[0-9A-Za-z_-]{1,64}$/.test(req.payeeAccount)) {
    throw new ProviderError('REJECTED', 'payeeAccount must be an openid (1-64 of [0-9A-Za-z_-])', 'PARAM_ERROR');
  }
  const remark = truncateCodePoints((req.remark ?? '').trim(), MAX_REMARK);
  if (!remark) throw new ProviderError('REJECTED', 'remark is required (transfer_remark, shown to the payee)', 'PARAM_ERROR');
  const payeeName = req.payeeName?.trim();
  if (!payeeName && amount >= NAME_REQUIRED_FROM_FEN) {
    throw new ProviderError('REJECTED', 'WeChat requires the payee name for transfers of 2,000 yuan or more', 'PARAM_ERROR');
  }

  const body: Record<string, unknown> = {
    appid: client.appId,
    out_bill_no: req.outBizNo,
    transfer_scene_id: scene.sceneId,
    openid: req.payeeAccount,
    transfer_amount: amount,
    transfer_remark: remark,
    notify_url: req.notifyUrl,
    ...(scene.userRecvPerception ? { user_recv_perception: scene.userRecvPerception } : {}),
    transfer_scene_report_infos: scene.reportInfos({ ...req, remark }),
  };
  const headers: Record<string, string> = {};
  if (payeeName) {
    // OAEP ciphertext differs on every retry; WeChat compares the decrypted name, so retries stay "the same".
    const { ciphertext, serial } = await encryptPayeeName(client, payeeName);
    body.user_name = ciphertext;
    headers['Wechatpay-Serial'] = serial;
  }
  const out = await send(client, 'POST', TRANSFER_BILLS_PATH, body, headers);
  if (out.status !== 200) return refusalOrThrow('transfer-bills', out);
  const b = assertSameBill(out.data as WechatTransferBill | undefined, req.outBizNo, client.mchId, 'transfer-bills');
  if (b.state === 'SUCCESS') {
    // A retry of a bill that was already paid: the create answer carries no update_time (the success time),
    // which only the query has.
    return findTransferBill(client, req.outBizNo);
  }
  if (b.state === 'WAIT_USER_CONFIRM' && (typeof b.package_info !== 'string' || !b.package_info)) {
    // Without package_info the payee can never be asked: that answer is unusable, not a state to record.
    throw new ProviderError('BAD_RESPONSE', 'transfer-bills answered WAIT_USER_CONFIRM without package_info');
  }
  return mapTransferBill(b, { mchId: client.mchId, appId: client.appId });
}

export async function findTransferBill(client: WechatClient, outBillNo: string): Promise<TransferOutcome> {
  assertOutBillNo(outBillNo);
  const path = `${TRANSFER_BILLS_PATH}/out-bill-no/${outBillNo}`;
  const out = await send(client, 'GET', path);
  if (out.status === 200) {
    const b = assertSameBill(out.data as WechatTransferBill | undefined, outBillNo, client.mchId, 'transfer-bills query');
    return mapTransferBill(b, { mchId: client.mchId, appId: client.appId });
  }
  const body = parseErrorBody(out.error);
  if (out.status === 404 && body.code === 'NOT_FOUND') {
    // "Never arrived" lets the caller create it again with the same number; only a signed answer may say so.
    if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'unsigned NOT_FOUND answer');
    return { status: 'NOT_FOUND', raw: body };
  }
  if (body.code && RETRYABLE_TRANSFER_CODES.has(body.code)) throw new ProviderError('UNAVAILABLE', `transfer-bills query: ${body.code}`, body.code);
  const err = errorForStatus('transfer-bills query', out.status, out.error);
  if (err.kind === 'REJECTED' && !isSignedError(out)) throw new ProviderError('BAD_RESPONSE', `transfer-bills query: unsigned HTTP ${out.status} answer`, err.providerCode);
  // A refused query (PARAM_ERROR, SIGN_ERROR…) says nothing about the transfer itself: thrown, never an outcome.
  throw err;
}

/**
 * 撤销转账. WeChat accepts it (CANCELING, or CANCELLED at once) while the payee has not confirmed; the funds come
 * back and a MCHTRANSFER.BILL.FINISHED (CANCELLED) follows. A signed refusal (the bill is already final, or
 * cannot be cancelled any more) changes nothing: we answer with the bill's actual state from the query.
 */
export async function cancelTransferBill(client: WechatClient, outBillNo: string): Promise<TransferOutcome> {
  assertOutBillNo(outBillNo);
  const out = await send(client, 'POST', `${TRANSFER_BILLS_PATH}/out-bill-no/${outBillNo}/cancel`, {});
  if (out.status === 200) {
    const b = assertSameBill(out.data as WechatTransferBill | undefined, outBillNo, client.mchId, 'transfer-bills cancel');
    if (b.state !== 'CANCELING' && b.state !== 'CANCELLED') throw new ProviderError('BAD_RESPONSE', `cancel answered state ${String(b.state).slice(0, 20)}`);
    return mapTransferBill(b, { mchId: client.mchId, appId: client.appId });
  }
  const body = parseErrorBody(out.error);
  if (out.status === 404 && body.code === 'NOT_FOUND') {
    if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'unsigned NOT_FOUND answer');
    return { status: 'NOT_FOUND', raw: body };
  }
  if (body.code && RETRYABLE_TRANSFER_CODES.has(body.code)) throw new ProviderError('UNAVAILABLE', `transfer-bills cancel: ${body.code}`, body.code);
  const err = errorForStatus('transfer-bills cancel', out.status, out.error);
  if (err.kind !== 'REJECTED') throw err;
  if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', `transfer-bills cancel: unsigned HTTP ${out.status} answer`, err.providerCode);
  if (out.status === 401) throw err;
  return findTransferBill(client, outBillNo);
}

/**
 * Verifies a MCHTRANSFER.BILL.FINISHED notification (the envelope checks every notification shares) and maps it.
 * Payment and refund events are refused here, as this event is refused by their handlers.
 */
export async function verifyTransferNotification(
  client: WechatClient,
  creds: ChannelCredentials,
  cb: RawCallback,
): Promise<VerifiedTransferNotification> {
  const opened = await openNotification(client, cb, { acceptsEventType: (t) => t === 'MCHTRANSFER.BILL.FINISHED', originalType: 'mch_payment' });
  const b = opened.resource as WechatTransferBill;
  // It must be about this channel's merchant (a shared APIv3 key must not mix merchants); the resource carries
  // no appid, so the mch_id is all there is to check.
  if (b.mch_id !== creds.mchId) throw new ProviderError('BAD_CALLBACK', 'callback mch_id does not match the channel config');
  if (typeof b.out_bill_no !== 'string' || !b.out_bill_no) throw new ProviderError('BAD_CALLBACK', 'callback lacks out_bill_no');
  // The event exists for final states only: anything else is a contradictory message, not a state to record.
  if (!FINAL_STATES.has(String(b.state))) throw new ProviderError('BAD_CALLBACK', `MCHTRANSFER.BILL.FINISHED with state ${String(b.state).slice(0, 20)}`);
  if (b.state === 'SUCCESS' && readFen(b.transfer_amount) === undefined) {
    throw new ProviderError('BAD_CALLBACK', 'successful transfer without an integer transfer_amount');
  }
  return {
    outBizNo: b.out_bill_no,
    eventId: opened.eventId,
    mchId: b.mch_id,
    outcome: mapTransferBill(b, { mchId: creds.mchId, appId: creds.providerAppId }, 'BAD_CALLBACK'),
  };
}
