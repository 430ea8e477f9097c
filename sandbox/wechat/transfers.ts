/**
 * 商家转账 (merchant transfer to a WeChat user's 零钱) in the WeChat sandbox: the product WeChat Pay opened to
 * merchants on 2025-01-15, in which the payee confirms every transfer in WeChat.
 *
 * API (authenticated and signed by index.ts like every /v3 call; faults apply):
 * - POST /v3/fund-app/mch-transfer/transfer-bills                                   发起转账
 * - GET  /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}          商户单号查询转账单
 * - GET  /v3/fund-app/mch-transfer/transfer-bills/transfer-bill-no/{transfer_bill_no} 微信单号查询转账单
 * - POST /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}/cancel   撤销转账
 * and the payee's side: the page /transfer/confirm?package=… stands in for what requestMerchantTransfer opens.
 *
 * Life of a bill, as WeChat documents it and its staff describe it in the developer community:
 * - accepted → WAIT_USER_CONFIRM with a package_info; the amount is locked in the merchant's account at once
 *   (an account that cannot cover it is refused with 403 NOT_ENOUGH and no bill exists: "直接报错余额不足不会
 *   锁定资金，查询不会有记录"), so a confirmation can never find the money gone;
 * - the payee confirms → TRANSFERING → SUCCESS (paid out) or FAIL with the payee-side reason (not real-name
 *   verified, account abnormal, name does not match the user_name sent), the lock released on FAIL;
 * - the payee closing the page changes nothing ("只有你主动撤单才会变为取消，用户取消不了");
 * - not confirmed within 24 hours → FAIL with fail_reason OVERDUE_CLOSE, funds back;
 * - 撤销转账 before confirmation → CANCELING, then CANCELLED, funds back;
 * - every final state (SUCCESS, FAIL, CANCELLED) is reported by MCHTRANSFER.BILL.FINISHED to notify_url.
 */
import type http from 'node:http';
import { constants, createHash, privateDecrypt, randomBytes, randomUUID } from 'node:crypto';
import { randomDigits, rfc3339Cst } from './crypto';
import { errorPage, escapeHtml, fenToYuan, layout } from './pages';
import { checkNotifyUrl, SimError, validateNotifyOptions, type ApiAnswer, type WechatSim } from './sim';
import { transferKey, type SandboxState, type StoredEvent, type TransferAccount } from './state';
import type {
  SimPayee,
  SimTransferBill,
  TransferCompletion,
  WechatNotifyOptions,
  WechatTransferBalance,
  WechatTransferBehaviour,
} from './types';

export const TRANSFER_BILLS_PATH = '/v3/fund-app/mch-transfer/transfer-bills';
/** The payee's confirmation page (GET shows it, POST is its form's action). */
export const TRANSFER_CONFIRM_PAGE = '/transfer/confirm';

const wxError = (status: number, code: string, message: string): ApiAnswer => ({ status, body: { code, message } });
/** WeChat's wording for a field that fails its rule (as in its PARAM_ERROR answers). */
const fieldError = (field: string, label: string, rule: string): ApiAnswer =>
  wxError(400, 'PARAM_ERROR', `输入源“/body/${field}”映射到字段“${label}”${rule}`);

/** 商户单号: digits and letters only, at most 32 ("只能由数字、大小写字母组成"). */
const OUT_BILL_NO = /^[0-9A-Za-z]{1,32}$/;
const OPENID = /^[0-9A-Za-z_-]{1,64}$/;
/** WeChat: "单笔转账额度最低为0.1元". */
const MIN_TRANSFER_FEN = 10;
/** WeChat: user_name is required from 2,000 yuan on. */
const NAME_REQUIRED_FROM_FEN = 200_000;
/** setTimeout's limit: a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The scenes every sandbox merchant is granted, with the report info types WeChat prescribes and the
 * user_recv_perception values it accepts. 1000 (现金营销) is from WeChat's scene document; 1005 (佣金报酬)'s
 * info types from developer-community answers, its perception value unverified.
 */
const SCENES: Record<string, { name: string; reportTypes: string[]; perceptions: string[] }> = {
  '1000': { name: '现金营销', reportTypes: ['活动名称', '奖励说明'], perceptions: ['活动奖励', '现金奖励'] },
  '1005': { name: '佣金报酬', reportTypes: ['岗位类型', '报酬说明'], perceptions: ['劳务报酬'] },
};

/** The 发起转账 fields the sandbox reads; everything is unknown until checked. */
interface TransferBody {
  appid?: unknown;
  out_bill_no?: unknown;
  transfer_scene_id?: unknown;
  openid?: unknown;
  user_name?: unknown;
  transfer_amount?: unknown;
  transfer_remark?: unknown;
  notify_url?: unknown;
  user_recv_perception?: unknown;
  transfer_scene_report_infos?: unknown;
}

export interface TransferOptions {
  confirmTimeoutMs: number;
  cancelDelayMs: number;
  defaultBalanceFen: number;
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function snapshot(b: SimTransferBill): SimTransferBill {
  return structuredClone(b);
}

function checkDelay(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new SimError(400, 'PARAM_ERROR', `${what} must be a number of ms between 0 and ${MAX_TIMER_MS}`);
  }
  return value;
}

export class WechatTransfers {
  private behaviour: WechatTransferBehaviour;

  constructor(
    private readonly state: SandboxState,
    private readonly sim: WechatSim,
    private readonly opts: TransferOptions,
  ) {
    this.behaviour = {
      confirmTimeoutMs: checkDelay(opts.confirmTimeoutMs, 'transferConfirmTimeoutMs'),
      cancelDelayMs: checkDelay(opts.cancelDelayMs, 'transferCancelDelayMs'),
    };
    if (!Number.isSafeInteger(opts.defaultBalanceFen) || opts.defaultBalanceFen < 0) throw new RangeError('transferBalanceFen must be an integer >= 0');
  }

  // ───────────────────────── /v3 API ─────────────────────────

  /** Answers a transfer API call, or undefined when the path is not one (index.ts routes it elsewhere). */
  route(method: string, url: URL, mchid: string, rawBody: string, headers: http.IncomingHttpHeaders): ApiAnswer | undefined {
    const p = url.pathname;
    if (p !== TRANSFER_BILLS_PATH && !p.startsWith(`${TRANSFER_BILLS_PATH}/`)) return undefined;
    if (method === 'POST' && p === TRANSFER_BILLS_PATH) return this.create(mchid, rawBody, firstHeader(headers['wechatpay-serial']));
    let m: RegExpExecArray | null;
    if ((m = /^\/v3\/fund-app\/mch-transfer\/transfer-bills\/out-bill-no\/([^/]+)(\/cancel)?$/.exec(p))) {
      const outBillNo = decodeSegment(m[1]);
      if (outBillNo === undefined || !OUT_BILL_NO.test(outBillNo)) return wxError(400, 'PARAM_ERROR', '商户单号格式错误，只能由数字、大小写字母组成');
      if (method === 'GET' && !m[2]) return this.queryAnswer(this.state.transferBills.get(transferKey(mchid, outBillNo)));
      if (method === 'POST' && m[2]) return this.cancel(mchid, outBillNo, rawBody);
    }
    if (method === 'GET' && (m = /^\/v3\/fund-app\/mch-transfer\/transfer-bills\/transfer-bill-no\/([^/]+)$/.exec(p))) {
      const no = decodeSegment(m[1]);
      return this.queryAnswer([...this.state.transferBills.values()].find((b) => b.mchid === mchid && b.transfer_bill_no === no));
    }
    return undefined;
  }

  /**
   * 发起转账. Checks in the order WeChat reports them: the request's format (400 PARAM_ERROR), then out_bill_no
   * idempotency (the same number and content answer the bill it already has, never a second one; other content
   * is INVALID_REQUEST), then the business rules (appid, scene, payee, limits: 400 INVALID_REQUEST) and the
   * balance (403 NOT_ENOUGH, nothing created, the same number may be retried after topping up).
   */
  private create(mchid: string, rawBody: string, serialHeader: string | undefined): ApiAnswer {
    let body: TransferBody;
    try {
      body = JSON.parse(rawBody) as TransferBody;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return wxError(400, 'PARAM_ERROR', '请求体不是合法的JSON');
    }
    const { appid, out_bill_no: outBillNo, transfer_scene_id: sceneId, openid, transfer_amount: amount, transfer_remark: remark } = body;
    const required = '必填性规则校验失败，此字段为必填项';
    if (typeof appid !== 'string' || !appid) return fieldError('appid', '商户AppID', required);
    if (typeof outBillNo !== 'string' || !outBillNo) return fieldError('out_bill_no', '商户单号', required);
    if (!OUT_BILL_NO.test(outBillNo)) return fieldError('out_bill_no', '商户单号', '字符串规则校验失败，只能由数字、大小写字母组成，最长32位');
    if (typeof sceneId !== 'string' || !sceneId) return fieldError('transfer_scene_id', '转账场景ID', required);
    if (typeof openid !== 'string' || !openid) return fieldError('openid', '收款用户OpenID', required);
    if (!OPENID.test(openid)) return wxError(400, 'INVALID_REQUEST', 'Openid格式错误或者不属于商家公众账号，请检查');
    // Integer fen: 0.5 or "50" is the classic integration bug.
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
      return fieldError('transfer_amount', '转账金额', '整数规则校验失败，值必须为正整数（单位：分）');
    }
    if (typeof remark !== 'string' || !remark) return fieldError('transfer_remark', '转账备注', required);
    if (Array.from(remark).length > 32) return fieldError('transfer_remark', '转账备注', '长度规则校验失败，最多允许32个字符');
    const notifyUrl = body.notify_url;
    if (notifyUrl !== undefined) {
      const notifyError = checkNotifyUrl(notifyUrl);
      if (notifyError) return wxError(400, 'PARAM_ERROR', notifyError);
    }
    const perception = body.user_recv_perception;
    if (perception !== undefined && (typeof perception !== 'string' || !perception)) {
      return fieldError('user_recv_perception', '用户收款感知', '字符串规则校验失败');
    }
    const infos = body.transfer_scene_report_infos;
    if (infos !== undefined && !Array.isArray(infos)) return fieldError('transfer_scene_report_infos', '转账场景报备信息', '类型规则校验失败，应为数组');
    const reportInfos: { info_type: string; info_content: string }[] = [];
    for (const i of (infos as unknown[] | undefined) ?? []) {
      const { info_type: type, info_content: content } = (i ?? {}) as { info_type?: unknown; info_content?: unknown };
      if (typeof type !== 'string' || !type || Array.from(type).length > 15 || typeof content !== 'string' || !content || Array.from(content).length > 32) {
        return wxError(400, 'PARAM_ERROR', '转账场景报备信息格式错误：info_type 1-15个字符，info_content 1-32个字符');
      }
      reportInfos.push({ info_type: type, info_content: content });
    }
    if (amount >= NAME_REQUIRED_FROM_FEN && body.user_name === undefined) {
      return wxError(400, 'PARAM_ERROR', '转账金额>=2000元时，收款用户姓名必填');
    }
    // user_name arrives RSA-OAEP encrypted with the platform key Wechatpay-Serial names; WeChat decrypts it to
    // check it against the payee's real name (and so must we, also to compare retries: OAEP is randomized).
    let userName: string | undefined;
    if (body.user_name !== undefined) {
      if (typeof body.user_name !== 'string' || !body.user_name) return fieldError('user_name', '收款用户姓名', '字符串规则校验失败');
      const decrypted = this.decryptName(body.user_name, serialHeader);
      if ('status' in decrypted) return decrypted;
      userName = decrypted.name;
    }

    const digest = createHash('sha256')
      .update(JSON.stringify([appid, sceneId, openid, userName ?? null, amount, remark, notifyUrl ?? null, perception ?? null, reportInfos]))
      .digest('hex');
    const key = transferKey(mchid, outBillNo);
    const existing = this.state.transferBills.get(key);
    if (existing) {
      // WeChat's wording (商家转账 FAQ); the bill itself is untouched.
      if (existing.request_digest !== digest) return wxError(400, 'INVALID_REQUEST', '单号已存在但信息不一致，请查单后比较确认');
      // A retry (e.g. after a lost answer): the bill as it stands now, package_info included, not a second one.
      return { status: 200, body: createView(existing) };
    }

    const merchant = this.state.merchants.get(mchid)!;
    // The sandbox's wording; WeChat answers an appid not bound to the merchant with INVALID_REQUEST too.
    if (!merchant.appids.includes(appid)) return wxError(400, 'INVALID_REQUEST', 'APPID不存在或与商户号未关联，请检查');
    const scene = SCENES[sceneId];
    if (!scene) return wxError(400, 'INVALID_REQUEST', '你尚未获取该转账场景');
    if (perception !== undefined && !scene.perceptions.includes(perception as string)) {
      return wxError(400, 'INVALID_REQUEST', '暂不支持展示当前传入的用户收款感知');
    }
    const types = reportInfos.map((i) => i.info_type);
    if (types.length !== scene.reportTypes.length || scene.reportTypes.some((t) => !types.includes(t))) {
      return wxError(400, 'PARAM_ERROR', '需传入转账场景报备信息，请检查');
    }
    const payee = this.state.transferPayees.get(openid);
    if (!payee || (payee.appid !== undefined && payee.appid !== appid)) {
      return wxError(400, 'INVALID_REQUEST', 'Openid格式错误或者不属于商家公众账号，请检查');
    }
    if (amount < MIN_TRANSFER_FEN) return wxError(400, 'INVALID_REQUEST', '超过单笔转账上下限，核实产品设置是否准确');
    const account = this.account(mchid);
    if (account.availableFen < amount) {
      return wxError(403, 'NOT_ENOUGH', '商户运营账户资金不足，充值后可以原单号发起重试，请勿更换商户单号');
    }

    const now = new Date();
    const bill: SimTransferBill = {
      mchid,
      appid,
      out_bill_no: outBillNo,
      transfer_bill_no: `1330${randomDigits(30)}`,
      transfer_scene_id: sceneId,
      openid,
      ...(userName !== undefined ? { user_name: userName } : {}),
      transfer_amount: amount,
      transfer_remark: remark,
      ...(typeof notifyUrl === 'string' ? { notify_url: notifyUrl } : {}),
      ...(typeof perception === 'string' ? { user_recv_perception: perception } : {}),
      transfer_scene_report_infos: reportInfos,
      state: 'WAIT_USER_CONFIRM',
      // Opaque to the merchant; base64 like WeChat's (so '+', '/' and '=' must survive the client's URL encoding).
      package_info: randomBytes(72).toString('base64'),
      create_time: rfc3339Cst(now),
      update_time: rfc3339Cst(now),
      expire_at: new Date(now.getTime() + this.behaviour.confirmTimeoutMs).toISOString(),
      locked_fen: amount,
      request_digest: digest,
    };
    account.availableFen -= amount;
    this.state.transferBills.set(key, bill);
    this.state.save();
    this.armExpiry(bill);
    return { status: 200, body: createView(bill) };
  }

  private decryptName(ciphertext: string, serial: string | undefined): { name: string } | ApiAnswer {
    if (!serial) return wxError(400, 'PARAM_ERROR', '敏感信息已加密，请求头须带 Wechatpay-Serial（加密所用平台证书序列号）');
    const now = Date.now();
    const platform = this.state.platforms.find((p) => p.serial.toUpperCase() === serial.toUpperCase());
    if (!platform || Date.parse(platform.notAfter) <= now) return wxError(400, 'PARAM_ERROR', 'Wechatpay-Serial 对应的平台证书不存在或已过期');
    try {
      const name = privateDecrypt(
        { key: this.state.privateKey(platform.privateKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        Buffer.from(ciphertext, 'base64'),
      ).toString('utf8');
      if (!name) throw new Error('empty');
      return { name };
    } catch {
      return wxError(400, 'PARAM_ERROR', 'user_name 解密失败，请使用 Wechatpay-Serial 对应的平台公钥以 RSAES-OAEP 加密');
    }
  }

  private queryAnswer(bill: SimTransferBill | undefined): ApiAnswer {
    if (!bill) return wxError(404, 'NOT_FOUND', '记录不存在');
    return { status: 200, body: queryView(bill) };
  }

  /**
   * 撤销转账: accepted while the payee has not confirmed (CANCELING now, CANCELLED after cancelDelayMs with its
   * notification). Asking again answers the cancellation as it stands. A final bill cannot be cancelled.
   */
  private cancel(mchid: string, outBillNo: string, rawBody: string): ApiAnswer {
    // WeChat accepts no body or an empty JSON object (商家转账 FAQ).
    if (rawBody.trim()) {
      try {
        JSON.parse(rawBody);
      } catch {
        return wxError(400, 'PARAM_ERROR', '请求体不是合法的JSON');
      }
    }
    const bill = this.state.transferBills.get(transferKey(mchid, outBillNo));
    if (!bill) return wxError(404, 'NOT_FOUND', '记录不存在');
    this.expireIfDue(bill);
    if (bill.state === 'WAIT_USER_CONFIRM') {
      bill.state = 'CANCELING';
      bill.update_time = rfc3339Cst(new Date());
      bill.cancel_at = new Date(Date.now() + this.behaviour.cancelDelayMs).toISOString();
      this.state.save();
      this.armCancel(bill);
    } else if (bill.state !== 'CANCELING' && bill.state !== 'CANCELLED') {
      // The sandbox's wording (the code is WeChat's generic one for a request its state rules refuse).
      return wxError(400, 'INVALID_REQUEST', `转账单状态为${bill.state}，不可撤销`);
    }
    return { status: 200, body: { out_bill_no: bill.out_bill_no, transfer_bill_no: bill.transfer_bill_no, state: bill.state, update_time: bill.update_time } };
  }

  // ───────────────────────── life of a bill ─────────────────────────

  private account(mchid: string): TransferAccount {
    let a = this.state.transferAccounts.get(mchid);
    if (!a) {
      a = { mchid, availableFen: this.opts.defaultBalanceFen, paidOutFen: 0 };
      this.state.transferAccounts.set(mchid, a);
    }
    return a;
  }

  private armExpiry(bill: SimTransferBill): void {
    const at = bill.expire_at;
    this.sim.schedule(Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(at) - Date.now())), () => {
      // Confirmed, cancelled or already closed in the meantime: nothing to do.
      if (bill.state === 'WAIT_USER_CONFIRM' && bill.expire_at === at) this.finish(bill, 'FAIL', 'OVERDUE_CLOSE', this.behaviour.notify ?? {});
    });
  }

  /** A bill past its confirmation window is closed before anything else looks at it (timers may lag). */
  private expireIfDue(bill: SimTransferBill): void {
    if (bill.state === 'WAIT_USER_CONFIRM' && Date.parse(bill.expire_at) <= Date.now()) {
      this.finish(bill, 'FAIL', 'OVERDUE_CLOSE', this.behaviour.notify ?? {});
    }
  }

  private armCancel(bill: SimTransferBill): void {
    const at = bill.cancel_at;
    if (!at) return;
    this.sim.schedule(Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(at) - Date.now())), () => {
      if (bill.state === 'CANCELING' && bill.cancel_at === at) this.finish(bill, 'CANCELLED', undefined, this.behaviour.notify ?? {});
    });
  }

  /** Re-arms the timers of bills that were waiting when a persisted sandbox stopped (overdue ones run now). */
  resume(): void {
    for (const b of this.state.transferBills.values()) {
      if (b.state === 'WAIT_USER_CONFIRM') {
        // Due ones close now, before anyone can look: WeChat closed them while the sandbox was down.
        this.expireIfDue(b);
        if (b.state === 'WAIT_USER_CONFIRM') this.armExpiry(b);
      } else if (b.state === 'CANCELING') this.armCancel(b);
    }
  }

  /**
   * A bill reaches a final state: SUCCESS pays the locked amount out, FAIL and CANCELLED give it back; then the
   * MCHTRANSFER.BILL.FINISHED notification (when the bill named a notify_url).
   */
  private finish(bill: SimTransferBill, state: 'SUCCESS' | 'FAIL' | 'CANCELLED', failReason: string | undefined, notify: WechatNotifyOptions): TransferCompletion {
    const account = this.account(bill.mchid);
    if (state === 'SUCCESS') account.paidOutFen += bill.locked_fen;
    else account.availableFen += bill.locked_fen;
    bill.locked_fen = 0;
    bill.state = state;
    if (failReason) bill.fail_reason = failReason;
    delete bill.cancel_at;
    const now = new Date();
    bill.update_time = rfc3339Cst(now);
    this.state.save();
    if (!bill.notify_url) return { bill: snapshot(bill) };
    const event: StoredEvent = {
      id: randomUUID(),
      mchid: bill.mchid,
      outTradeNo: '',
      createTime: rfc3339Cst(now),
      transfer: { outBillNo: bill.out_bill_no, resource: notificationResource(bill) },
    };
    this.sim.publish(event, notify);
    return { bill: snapshot(bill), eventId: event.id };
  }

  // ───────────────────────── the payee (control side and page) ─────────────────────────

  find(outBillNo: string, mchid?: string): SimTransferBill | undefined {
    if (mchid) return this.state.transferBills.get(transferKey(mchid, outBillNo));
    const all = [...this.state.transferBills.values()].filter((b) => b.out_bill_no === outBillNo);
    if (all.length > 1) throw new SimError(409, 'AMBIGUOUS', `out_bill_no ${outBillNo} exists for several merchants: pass mchid`);
    return all[0];
  }

  private require(outBillNo: string, mchid?: string): SimTransferBill {
    const b = this.find(outBillNo, mchid);
    if (!b) throw new SimError(404, 'NOT_FOUND', `no transfer bill ${outBillNo}`);
    return b;
  }

  /** 确认收款: the checks WeChat makes on the payee side decide SUCCESS or FAIL. */
  confirm(outBillNo: string, opts: { mchid?: string; notify?: WechatNotifyOptions } = {}): TransferCompletion {
    validateNotifyOptions(opts.notify);
    const bill = this.require(outBillNo, opts.mchid);
    this.expireIfDue(bill);
    if (bill.state !== 'WAIT_USER_CONFIRM') throw new SimError(409, 'TRANSFER_STATE_ERROR', `transfer bill ${outBillNo} is ${bill.state}, not waiting for its payee`);
    bill.state = 'TRANSFERING';
    const payee = this.state.transferPayees.get(bill.openid);
    const reason = !payee?.name
      ? 'REAL_NAME_CHECK_FAIL'
      : payee.abnormal
        ? 'PAYEE_ACCOUNT_ABNORMAL'
        : bill.user_name !== undefined && bill.user_name !== payee.name
          ? 'NAME_NOT_CORRECT'
          : undefined;
    return reason ? this.finish(bill, 'FAIL', reason, opts.notify ?? {}) : this.finish(bill, 'SUCCESS', undefined, opts.notify ?? {});
  }

  /** 取消 on the confirmation page: nothing changes at WeChat (only the merchant can cancel a bill). */
  decline(outBillNo: string, opts: { mchid?: string } = {}): SimTransferBill {
    const bill = this.require(outBillNo, opts.mchid);
    this.expireIfDue(bill);
    return snapshot(bill);
  }

  list(mchid?: string): SimTransferBill[] {
    return [...this.state.transferBills.values()].filter((b) => !mchid || b.mchid === mchid).map(snapshot);
  }

  setBalance(mchid: string, fen: number): WechatTransferBalance {
    if (!this.state.merchants.has(mchid)) throw new SimError(404, 'NOT_FOUND', `no merchant ${mchid}`);
    if (!Number.isSafeInteger(fen) || fen < 0) throw new SimError(400, 'PARAM_ERROR', 'fen must be an integer >= 0');
    this.account(mchid).availableFen = fen;
    this.state.save();
    return this.balance(mchid);
  }

  balance(mchid: string): WechatTransferBalance {
    if (!this.state.merchants.has(mchid)) throw new SimError(404, 'NOT_FOUND', `no merchant ${mchid}`);
    const a = this.account(mchid);
    const lockedFen = [...this.state.transferBills.values()].filter((b) => b.mchid === mchid).reduce((s, b) => s + b.locked_fen, 0);
    return { mchid, availableFen: a.availableFen, lockedFen, paidOutFen: a.paidOutFen };
  }

  addPayee(p: SimPayee): SimPayee {
    if (!p || typeof p.openid !== 'string' || !OPENID.test(p.openid)) throw new SimError(400, 'PARAM_ERROR', 'openid must be 1-64 of [0-9A-Za-z_-]');
    if (p.name !== undefined && (typeof p.name !== 'string' || !p.name.trim())) throw new SimError(400, 'PARAM_ERROR', 'name must be a non-empty string');
    if (p.appid !== undefined && (typeof p.appid !== 'string' || !p.appid)) throw new SimError(400, 'PARAM_ERROR', 'appid must be a non-empty string');
    const payee: SimPayee = {
      openid: p.openid,
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.appid !== undefined ? { appid: p.appid } : {}),
      ...(p.abnormal ? { abnormal: true } : {}),
    };
    this.state.transferPayees.set(payee.openid, payee);
    this.state.save();
    return { ...payee };
  }

  getBehaviour(): WechatTransferBehaviour {
    return { ...this.behaviour };
  }

  setBehaviour(b: Partial<WechatTransferBehaviour>): WechatTransferBehaviour {
    const next: WechatTransferBehaviour = {
      confirmTimeoutMs: b.confirmTimeoutMs !== undefined ? checkDelay(b.confirmTimeoutMs, 'confirmTimeoutMs') : this.behaviour.confirmTimeoutMs,
      cancelDelayMs: b.cancelDelayMs !== undefined ? checkDelay(b.cancelDelayMs, 'cancelDelayMs') : this.behaviour.cancelDelayMs,
    };
    if ('notify' in b) validateNotifyOptions(b.notify);
    const notify = 'notify' in b ? b.notify : this.behaviour.notify;
    if (notify) next.notify = notify;
    this.behaviour = next;
    return this.getBehaviour();
  }

  /** /__sim control endpoints of transfers, or undefined when `p` is not one of them. */
  control(method: string, p: string, q: URLSearchParams, body: Record<string, unknown>): { status: number; body: unknown } | undefined {
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    let m: RegExpExecArray | null;
    if (method === 'GET' && p === '/transfers') return { status: 200, body: { transfers: this.list(q.get('mchid') ?? undefined) } };
    if ((m = /^\/transfers\/([^/]+)(?:\/(confirm|decline))?$/.exec(p))) {
      const outBillNo = decodeSegment(m[1]) ?? '';
      const mchid = str(body.mchid) ?? q.get('mchid') ?? undefined;
      if (method === 'GET' && !m[2]) {
        const b = this.find(outBillNo, mchid);
        return b ? { status: 200, body: snapshot(b) } : { status: 404, body: { error: { code: 'NOT_FOUND', message: `no transfer bill ${outBillNo}` } } };
      }
      if (method === 'POST' && m[2] === 'confirm') return { status: 200, body: this.confirm(outBillNo, { mchid, notify: body.notify as WechatNotifyOptions | undefined }) };
      if (method === 'POST' && m[2] === 'decline') return { status: 200, body: this.decline(outBillNo, { mchid }) };
    }
    if ((m = /^\/transfer-balances\/([^/]+)$/.exec(p))) {
      const mchid = decodeSegment(m[1]) ?? '';
      if (method === 'GET') return { status: 200, body: this.balance(mchid) };
      if (method === 'POST') return { status: 200, body: this.setBalance(mchid, body.fen as number) };
    }
    if (method === 'POST' && p === '/transfer-payees') return { status: 200, body: this.addPayee(body as unknown as SimPayee) };
    if (p === '/transfer-behaviour') {
      if (method === 'GET') return { status: 200, body: this.getBehaviour() };
      if (method === 'POST') return { status: 200, body: this.setBehaviour(body as Partial<WechatTransferBehaviour>) };
    }
    return undefined;
  }

  /**
   * The payee's confirmation page. GET: what requestMerchantTransfer opens for {mchId, appId, package} (mchId and
   * appId, when given, must match the bill, as WeChat checks). POST: its form (action=confirm|cancel).
   */
  page(method: string, params: URLSearchParams): { status: number; html: string } {
    const pkg = params.get('package') ?? '';
    const bill = pkg ? [...this.state.transferBills.values()].find((b) => b.package_info === pkg) : undefined;
    // WeChat's own wording for a package it cannot use.
    const invalid = { status: 400, html: errorPage(400, 'package_info信息有误，请返回联系商家处理') };
    if (!bill) return invalid;
    const mchId = params.get('mchId');
    const appId = params.get('appId');
    if ((mchId && mchId !== bill.mchid) || (appId && appId !== bill.appid)) return invalid;
    this.expireIfDue(bill);
    const merchantName = this.state.merchants.get(bill.mchid)?.name ?? bill.mchid;

    if (method === 'POST') {
      if (params.get('action') !== 'confirm') {
        this.decline(bill.out_bill_no, { mchid: bill.mchid });
        return { status: 200, html: transferResultPage(bill, 'cancel', '已取消，24小时内可重新打开领取', merchantName) };
      }
      if (bill.state !== 'WAIT_USER_CONFIRM') return { status: 200, html: transferResultPage(bill, 'fail', unavailableReason(bill), merchantName) };
      const { bill: done } = this.confirm(bill.out_bill_no, { mchid: bill.mchid });
      return done.state === 'SUCCESS'
        ? { status: 200, html: transferResultPage(done, 'success', '收款成功，已存入零钱', merchantName) }
        : { status: 200, html: transferResultPage(done, 'fail', failText(done.fail_reason), merchantName) };
    }
    return { status: 200, html: confirmationPage(bill, merchantName) };
  }
}

/** 发起转账's answer: fail_reason once failed, package_info while the payee can still confirm. */
function createView(b: SimTransferBill): Record<string, unknown> {
  return {
    out_bill_no: b.out_bill_no,
    transfer_bill_no: b.transfer_bill_no,
    create_time: b.create_time,
    state: b.state,
    ...(b.fail_reason ? { fail_reason: b.fail_reason } : {}),
    ...(b.state === 'WAIT_USER_CONFIRM' ? { package_info: b.package_info } : {}),
  };
}

/** 商户单号/微信单号查询转账单's answer (no package_info: only 发起转账 hands that out). */
function queryView(b: SimTransferBill): Record<string, unknown> {
  return {
    mch_id: b.mchid,
    out_bill_no: b.out_bill_no,
    transfer_bill_no: b.transfer_bill_no,
    appid: b.appid,
    state: b.state,
    transfer_amount: b.transfer_amount,
    transfer_remark: b.transfer_remark,
    ...(b.fail_reason ? { fail_reason: b.fail_reason } : {}),
    openid: b.openid,
    create_time: b.create_time,
    update_time: b.update_time,
  };
}

/** The decrypted `mch_payment` resource of MCHTRANSFER.BILL.FINISHED. */
function notificationResource(b: SimTransferBill): Record<string, unknown> {
  return {
    out_bill_no: b.out_bill_no,
    transfer_bill_no: b.transfer_bill_no,
    state: b.state,
    mch_id: b.mchid,
    transfer_amount: b.transfer_amount,
    openid: b.openid,
    ...(b.fail_reason ? { fail_reason: b.fail_reason } : {}),
    create_time: b.create_time,
    update_time: b.update_time,
  };
}

const FAIL_TEXT: Record<string, string> = {
  REAL_NAME_CHECK_FAIL: '收款失败：请先在微信支付完成实名认证',
  PAYEE_ACCOUNT_ABNORMAL: '收款失败：你的账户收款异常，请完善在微信支付的身份信息',
  NAME_NOT_CORRECT: '收款失败：收款人姓名与你的实名信息不一致',
  OVERDUE_CLOSE: '该笔转账已超过24小时未领取，已退回商家',
};

function failText(reason: string | undefined): string {
  return (reason && FAIL_TEXT[reason]) ?? '收款失败';
}

function unavailableReason(b: SimTransferBill): string {
  if (b.state === 'SUCCESS') return '你已领取该笔转账';
  if (b.state === 'CANCELING' || b.state === 'CANCELLED') return '商家已撤销该笔转账';
  if (b.state === 'FAIL') return failText(b.fail_reason);
  return '该笔转账正在处理中';
}

function perceptionOf(b: SimTransferBill): string {
  return b.user_recv_perception ?? SCENES[b.transfer_scene_id]?.perceptions[0] ?? '商家转账';
}

/** 确认收款 page (zh-CN, mobile). Stable ids: #wx-transfer-amount, #wx-transfer-confirm, #wx-transfer-cancel, #wx-transfer-unavailable. */
function confirmationPage(b: SimTransferBill, merchantName: string): string {
  const pkg = `<input type="hidden" name="package" value="${escapeHtml(b.package_info)}">`;
  const actions =
    b.state === 'WAIT_USER_CONFIRM'
      ? `<form method="post" action="${TRANSFER_CONFIRM_PAGE}">${pkg}
         <button class="primary" id="wx-transfer-confirm" name="action" value="confirm" type="submit">确认收款</button>
         <button class="secondary" id="wx-transfer-cancel" name="action" value="cancel" type="submit">取消</button></form>`
      : `<p class="notice" id="wx-transfer-unavailable">${escapeHtml(unavailableReason(b))}</p>`;
  return layout(
    '确认收款',
    `<div class="card" data-out-bill-no="${escapeHtml(b.out_bill_no)}" data-state="${b.state}">
      <p class="merchant">${escapeHtml(merchantName)} 向你转账</p>
      <p class="desc">${escapeHtml(perceptionOf(b))}</p>
      <p class="amount" id="wx-transfer-amount"><span>¥</span>${fenToYuan(b.transfer_amount)}</p>
      <p class="desc">${escapeHtml(b.transfer_remark)}</p>
      ${actions}
      <p class="meta">商家转账 · ${escapeHtml(b.transfer_bill_no)}</p>
    </div>`,
  );
}

/** After 确认收款 / 取消. #wx-transfer-result[data-result=success|fail|cancel]. */
function transferResultPage(b: SimTransferBill, result: 'success' | 'fail' | 'cancel', message: string, merchantName: string): string {
  return layout(
    result === 'success' ? '收款成功' : '未收款',
    `<div class="card"><p class="${result === 'success' ? 'ok' : 'notice'}" id="wx-transfer-result" data-result="${result}">${escapeHtml(message)}</p>
     <p class="amount"><span>¥</span>${fenToYuan(b.transfer_amount)}</p><p class="desc">${escapeHtml(merchantName)} · ${escapeHtml(b.transfer_remark)}</p></div>`,
  );
}
