/**
 * Registers a namespace on a server that starts without one (temporal-server on PostgreSQL, as the compose stack's
 * auto-setup image does for `default`); the dev server and the Java test server create theirs themselves.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';

export async function ensureNamespace(address: string, namespace: string, retention: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(retention) });
    } catch (err) {
      if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
    }
    // The frontend serves a new namespace only once its registry has refreshed (seconds): until then this throws.
    await connection.workflowService.describeNamespace({ namespace });
  } finally {
    await connection.close();
  }
}
