/**
 * The engine's own baselines for `npm run bench`: the same Temporal server and worker settings as the payment
 * worker, none of its database, providers or HTTP. Deterministic code only.
 */
import { condition, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

const { step } = proxyActivities<{ step(name: string): Promise<string> }>({ startToCloseTimeout: '30s' });

export const chooseUpdate = defineUpdate<string, [string]>('choose');
export const paidSignal = defineSignal('paid');

/** What a bare `workflow.start` starts: completes on its first task. */
export async function benchNoop(): Promise<void> {}

/** The shape of a paid order: start → update running one activity → signal → one activity → complete. */
export async function benchOrderShaped(): Promise<string> {
  let paid = false;
  setHandler(chooseUpdate, (channel) => step(`prepay ${channel}`));
  setHandler(paidSignal, () => void (paid = true));
  await condition(() => paid);
  return step('notify');
}
