/**
 * Captures real workflow histories as replay fixtures. Run the suite with CAPTURE_HISTORIES=1 to refresh
 * test/replay/histories/*.json after an intentional, patched workflow change; commit the result.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function maybeCaptureHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.CAPTURE_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  await writeFile(path.join(__dirname, '..', 'replay', 'histories', `${name}.json`), historyToJSON(history));
}
