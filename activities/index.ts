/**
 * Every activity the worker runs, built from their dependencies so tests can pass real or test ones. They
 * are the only code that talks to providers, PostgreSQL and merchants on behalf of a workflow.
 */
import { createBindingActivities } from './binding';
import { createNotifyActivities, type NotifyActivityDeps } from './notify';
import { createPaymentActivities, type PaymentActivityDeps } from './payment';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation';
import { createRefundActivities, type RefundActivityDeps } from './refund';
import { createTransferActivities, type TransferActivityDeps } from './transfer';

export type ActivityDeps = PaymentActivityDeps & NotifyActivityDeps & RefundActivityDeps & ReconciliationActivityDeps & TransferActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createPaymentActivities(deps), ...createNotifyActivities(deps), ...createBindingActivities(deps), ...createRefundActivities(deps), ...createReconciliationActivities(deps), ...createTransferActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
