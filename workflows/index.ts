export { paymentWorkflow, paymentWorkflowV2 } from './payment';
export { channelBindingWorkflow } from './channel-binding';
export { renotifyWorkflow } from './renotify';
export { refundWorkflow } from './refund';
export { reconciliationWorkflow, dailyReconciliationWorkflow } from './reconciliation';
export { transferWorkflow } from './transfer';
