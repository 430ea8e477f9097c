/** Transfers (转账): states, payee kinds, provider request numbers and the limits rule. Pure. */

export const TRANSFER_STATUSES = ['PENDING_APPROVAL', 'PROCESSING', 'WAIT_USER_CONFIRM', 'SUCCESS', 'FAIL', 'CANCELLED'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

export const PAYEE_TYPES = ['ALIPAY_LOGON_ID', 'ALIPAY_USER_ID', 'WX_OPENID'] as const;

/** Which wallet pays which kind of payee. */
export const PAYEE_TYPES_BY_CHANNEL: Record<string, readonly (typeof PAYEE_TYPES)[number][]> = {
  'ali-pay': ['ALIPAY_LOGON_ID', 'ALIPAY_USER_ID'],
  'wx-pay': ['WX_OPENID'],
};

export function isFinalTransfer(status: TransferStatus): boolean {
  return status === 'SUCCESS' || status === 'FAIL' || status === 'CANCELLED';
}

/** A final state that gives the transfer's amount back to the day's limit. */
export function releasesReservation(status: TransferStatus): boolean {
  return status === 'FAIL' || status === 'CANCELLED';
}

/** The request number we send to providers (Alipay out_biz_no, WeChat out_bill_no): derived from the transfer id. */
export function providerOutBizNo(transferId: number): string {
  return `CDT${transferId.toString().padStart(10, '0')}`;
}

export function parseProviderOutBizNo(value: string): number | null {
  const m = /^CDT(\d{1,16})$/.exec(value);
  return m ? Number(m[1]) : null;
}

/** How long a transfer above the approval threshold waits for an administrator before it is cancelled. */
export const APPROVAL_TIMEOUT_MS = 24 * 3600_000;

export interface TransferSettings {
  enabled: boolean;
  maxPerTransfer: number;
  dailyLimit: number;
  approvalThreshold: number;
}

/** Why a transfer of `amount` is refused by the app's settings before anything is written, or null. */
export function settingsRefusal(s: TransferSettings | null, amount: number): string | null {
  if (!s || !s.enabled) return '应用未开通转账';
  if (amount > s.maxPerTransfer) return `单笔转账金额超过上限（${s.maxPerTransfer} 分）`;
  if (amount > s.dailyLimit) return `转账金额超过每日限额（${s.dailyLimit} 分）`;
  return null;
}

/** A transfer's result as the workflow records it and the notification carries it. transferTime is epoch ms. */
export interface TransferResult {
  status: TransferStatus;
  transferTime: number | null;
  providerTransferId: string | null;
  errorCode: string | null;
  errorMsg: string | null;
}

/** The provider's view of a transfer, as the activities hand it to the workflow. */
export type TransferVerdict =
  | { status: 'SUCCESS'; providerTransferId: string | null; transferTime: number }
  | { status: 'PROCESSING'; providerTransferId: string | null }
  | { status: 'WAIT_USER_CONFIRM'; providerTransferId: string | null; confirm: Record<string, string> }
  | { status: 'FAIL'; errorCode: string; errorMsg: string }
  | { status: 'CANCELLED'; reason: string }
  | { status: 'NOT_FOUND' };
