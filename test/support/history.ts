/**
 * Captures real workflow histories as replay fixtures. Run the suite with CAPTURE_HISTORIES=1 after a
 * patched() workflow change, under a new capture name for the new code path, and commit the new file.
 * Committed histories are append-only: an existing file is never overwritten.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function maybeCaptureHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.CAPTURE_HISTORIES !== '1') return;
  const file = path.join(__dirname, '..', 'replay', 'histories', `${name}.json`);
  if (existsSync(file)) return;
  await writeFile(file, historyToJSON(await handle.fetchHistory()));
}
