/**
 * Reconciliation (对账). `reconciliationWorkflow` reconciles one day of one channel config: the bill is streamed
 * into PostgreSQL and compared there (an activity), each payment only the provider knows is healed by a provider
 * query or raised as a payment exception, and the run is closed. `dailyReconciliationWorkflow` is what the
 * Temporal Schedule starts every day: one child per active config for the previous Asia/Shanghai day.
 * Deterministic code only.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, log, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorCode, failureType } from '../domain/errors';
import { previousShanghaiDay, type DiscrepancyResolution } from '../domain/reconciliation';

export interface ReconciliationInput {
  day: string;
  configId: number;
  trigger: 'SCHEDULE' | 'ADMIN';
  requestedBy: string | null;
}

export interface ReconciliationResult {
  runId: number | null;
  status: 'DONE' | 'FAILED';
  discrepancyCount: number;
  missingLocal: Array<{ discrepancyId: number; resolution: DiscrepancyResolution }>;
  error: string | null;
}

const NON_RETRYABLE = [ErrorCode.VALIDATION, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND, ErrorCode.CONFLICT].map(failureType);

/** A bill can be large: heartbeats prove progress; a provider outage is retried for about an hour. */
const bills = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '10m', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
});
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationResult> {
  const { workflowId } = workflowInfo();
  setCurrentDetails(`**RUNNING** · ${input.day} · config ${input.configId}`);
  let run: Awaited<ReturnType<typeof bills.reconcileDay>>;
  try {
    run = await bills.reconcileDay({ ...input, workflowId });
  } catch (err) {
    // The activity's own message, not the wrapper's "Activity task failed".
    const error = ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message).slice(0, 300);
    await quick.failReconciliation({ ...input, workflowId, error });
    setCurrentDetails(`**FAILED** · ${input.day} · config ${input.configId}\n\n${error}`);
    return { runId: null, status: 'FAILED', discrepancyCount: 0, missingLocal: [], error };
  }
  const missingLocal: ReconciliationResult['missingLocal'] = [];
  for (const discrepancyId of run.missingLocalPayments) {
    try {
      missingLocal.push({ discrepancyId, resolution: await quick.healMissingPayment({ discrepancyId }) });
    } catch (err) {
      // Left open for ops (the discrepancy stays without a resolution); the rest of the day goes on.
      log.error('healing a missing payment failed', { discrepancyId, error: (err as Error).message });
    }
  }
  await quick.finishReconciliation({ runId: run.runId, status: 'DONE' });
  setCurrentDetails(`**DONE** · ${input.day} · config ${input.configId} · ${run.discrepancyCount} discrepancies (${run.missingLocalPayments.length} missing locally)`);
  return { runId: run.runId, status: 'DONE', discrepancyCount: run.discrepancyCount, missingLocal, error: null };
}

/** Child workflow ids come from the parent's input (workflow code may not import the client-side id module). */
export interface DailyReconciliationInput {
  /** `reconciliation:{day}:{configId}` with {day} and {configId} placeholders, from temporal/workflow-ids.ts. */
  childIdTemplate: string;
}

export async function dailyReconciliationWorkflow(input: DailyReconciliationInput): Promise<Array<{ configId: number; status: string }>> {
  // The day before the scheduled time (a caught-up run still covers the day it was scheduled for).
  const scheduled = workflowInfo().searchAttributes?.TemporalScheduledStartTime?.[0];
  const at = scheduled instanceof Date ? scheduled.getTime() : typeof scheduled === 'string' ? Date.parse(scheduled) : Date.now();
  const day = previousShanghaiDay(Number.isFinite(at) ? at : Date.now());
  const configs = await quick.listReconcilableConfigs();
  setCurrentDetails(`**${day}** · ${configs.length} channel config(s)`);
  const results: Array<{ configId: number; status: string }> = [];
  for (const configId of configs) {
    try {
      const r = await executeChild(reconciliationWorkflow, {
        workflowId: input.childIdTemplate.replace('{day}', day).replace('{configId}', String(configId)),
        args: [{ day, configId, trigger: 'SCHEDULE', requestedBy: null }],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      results.push({ configId, status: r.status });
    } catch (err) {
      // An administrator's run of the same day is in progress: it covers this config.
      if (err instanceof WorkflowExecutionAlreadyStartedError) results.push({ configId, status: 'ALREADY_RUNNING' });
      else throw err;
    }
  }
  return results;
}
