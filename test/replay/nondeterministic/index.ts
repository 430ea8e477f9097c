/**
 * Deliberately non-deterministic variants of PaymentWorkflow, RefundWorkflow and TransferWorkflow: each sleeps before doing
 * anything else, so its command sequence differs from every recorded history. The replay test shows such a
 * change is caught.
 */
import { sleep } from '@temporalio/workflow';
import { paymentWorkflow as originalPayment, paymentWorkflowV2 as originalPaymentV2 } from '../../../workflows/payment';
import { refundWorkflow as originalRefund } from '../../../workflows/refund';
import { transferWorkflow as originalTransfer } from '../../../workflows/transfer';

export async function paymentWorkflow(...args: Parameters<typeof originalPayment>): ReturnType<typeof originalPayment> {
  await sleep('1s');
  return originalPayment(...args);
}

export async function paymentWorkflowV2(...args: Parameters<typeof originalPaymentV2>): ReturnType<typeof originalPaymentV2> {
  await sleep('1s');
  return originalPaymentV2(...args);
}

export async function refundWorkflow(...args: Parameters<typeof originalRefund>): ReturnType<typeof originalRefund> {
  await sleep('1s');
  return originalRefund(...args);
}

export async function transferWorkflow(...args: Parameters<typeof originalTransfer>): ReturnType<typeof originalTransfer> {
  await sleep('1s');
  return originalTransfer(...args);
}
