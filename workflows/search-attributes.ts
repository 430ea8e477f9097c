/**
 * Every custom search attribute, declared once: the workflows set them, temporal/ registers them on the
 * server and builds start options with them. Pure definitions (usable inside the workflow sandbox).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const SA = {
  OutTradeNo: defineSearchAttributeKey('OutTradeNo', 'KEYWORD'),
  AppId: defineSearchAttributeKey('AppId', 'KEYWORD'),
  PaymentStatus: defineSearchAttributeKey('PaymentStatus', 'KEYWORD'),
  ChannelType: defineSearchAttributeKey('ChannelType', 'KEYWORD'),
  NotifyAttempts: defineSearchAttributeKey('NotifyAttempts', 'INT'),
  OutRefundNo: defineSearchAttributeKey('OutRefundNo', 'KEYWORD'),
  RefundStatus: defineSearchAttributeKey('RefundStatus', 'KEYWORD'),
  OutBizNo: defineSearchAttributeKey('OutBizNo', 'KEYWORD'),
  TransferStatus: defineSearchAttributeKey('TransferStatus', 'KEYWORD'),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(SA);
