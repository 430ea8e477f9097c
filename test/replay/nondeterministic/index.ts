/**
 * A deliberately non-deterministic variant of PaymentWorkflow: it sleeps before doing anything else, so its
 * command sequence differs from every recorded history. The replay test shows such a change is caught.
 */
import { sleep } from '@temporalio/workflow';
import { paymentWorkflow as original } from '../../../workflows/payment';

export async function paymentWorkflow(...args: Parameters<typeof original>): ReturnType<typeof original> {
  await sleep('1s');
  return original(...args);
}
