/**
 * Every workflow id, built in one place. An id names the business object, so starting a workflow twice for
 * the same object finds the one that exists instead of starting a second.
 */
export const WorkflowIds = {
  payment: (appId: string, outTradeNo: string) => `payment:${appId}:${outTradeNo}`,
  binding: (appId: string, channelId: number) => `binding:${appId}:${channelId}`,
  /** One per extra attempt: a double click on renotify starts one attempt, not two. */
  renotify: (appId: string, outTradeNo: string, attempt: number) => `renotify:${appId}:${outTradeNo}:${attempt}`,
  refund: (appId: string, outRefundNo: string) => `refund:${appId}:${outRefundNo}`,
  transfer: (appId: string, outBizNo: string) => `transfer:${appId}:${outBizNo}`,
  /** One run per day and channel config; a finished run may be repeated under the same id (its results are replaced). */
  reconciliation: (day: string, configId: number | string) => `reconciliation:${day}:${configId}`,
  /** The daily reconciliation Schedule of a deployment (its task queue), so deployments sharing a namespace never collide. */
  reconciliationSchedule: (taskQueue: string) => `reconciliation-daily:${taskQueue}`,
} as const;
