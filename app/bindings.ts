/**
 * Channel-binding use-cases: an app applies (signed merchant request), an administrator approves or rejects.
 * Every application is a ChannelBindingWorkflow that owns the waiting period of 方式二; the administrator's
 * decision is a signal to it (signal-with-start, so a lost start heals itself).
 */
import type { Db } from '../db/connection';
import * as appChannels from '../db/queries/app-channels';
import type { AppWithKeys } from '../db/queries/apps';
import { findApplicableChannels, findChannel } from '../db/queries/channels';
import type { BindingStatus } from '../domain/channel';
import { DomainError, ErrorCode } from '../domain/errors';
import { formatShanghai } from '../domain/order';
import type { TemporalGateway } from '../temporal/client';
import { WorkflowIds } from '../temporal/workflow-ids';

export interface BindingServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  autoApproveSeconds: number;
}

export interface ApplicationResult {
  channelId: number;
  status: BindingStatus;
  /** "yyyy-MM-dd HH:mm:ss" (Asia/Shanghai) at which 方式二 approves, while PENDING. */
  autoApproveAt: string | null;
}

export function createBindingService(deps: BindingServiceDeps) {
  const { db, temporal } = deps;

  /** `fresh`: a new application waits the full period; a healed start keeps the application's deadline. */
  function application(row: appChannels.BindingRow, channelName: string, fresh: boolean) {
    const autoApproveAt = row.auto_approve_at ?? new Date(Date.now() + deps.autoApproveSeconds * 1000);
    return {
      appId: row.app_id,
      channelId: row.channel_id,
      channelName,
      autoApproveAt,
      autoApproveAfterMs: fresh ? deps.autoApproveSeconds * 1000 : Math.max(1000, autoApproveAt.getTime() - Date.now()),
    };
  }

  /** Idempotent: a repeated application returns the same state and starts nothing new. */
  async function apply(app: AppWithKeys, channelIds: number[]): Promise<ApplicationResult[]> {
    const ids = [...new Set(channelIds)];
    const channels = new Map((await findApplicableChannels(db, ids)).map((c) => [c.id, c]));
    const missing = ids.filter((id) => !channels.has(id));
    if (missing.length) throw new DomainError(ErrorCode.NOT_FOUND, `渠道不存在或已停用: ${missing.join(', ')}`);
    const out: ApplicationResult[] = [];
    for (const id of ids) {
      const ch = channels.get(id)!;
      const { row, opened } = await appChannels.openApplication(db, {
        appId: app.appId,
        channelId: id,
        workflowId: WorkflowIds.binding(app.appId, id),
        autoApproveAt: new Date(Date.now() + deps.autoApproveSeconds * 1000),
      });
      // Also for a PENDING row seen again: USE_EXISTING makes this a no-op while the workflow runs and
      // heals an application whose start was lost.
      if (row.status === 'PENDING') await temporal.startBinding(application(row, ch.channel_name, opened));
      out.push({ channelId: id, status: row.status, autoApproveAt: row.status === 'PENDING' && row.auto_approve_at ? formatShanghai(row.auto_approve_at.getTime()) : null });
    }
    return out;
  }

  /**
   * An administrator's decision: a signal to the application's workflow, whose activity writes it. Waits
   * briefly for the write so the console shows the outcome; a slow worker leaves it PENDING (still decided).
   */
  async function decide(
    bindingId: number,
    decision: 'APPROVED' | 'REJECTED',
    operator: string,
    note: string | null,
    waitMs = 5000,
  ): Promise<{ row: appChannels.BindingRow; status: BindingStatus }> {
    const row = await appChannels.findBindingById(db, bindingId);
    if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '绑定申请不存在');
    if (row.status !== 'PENDING') throw new DomainError(ErrorCode.CONFLICT, `绑定申请已处理（${row.status}）`);
    const channel = await findChannel(db, row.channel_id);
    await temporal.decideBinding(application(row, channel?.channel_name ?? '', false), decision, { operator, note });
    const deadline = Date.now() + waitMs;
    let current = row;
    while (Date.now() < deadline) {
      current = (await appChannels.findBindingById(db, bindingId)) ?? current;
      if (current.status !== 'PENDING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { row: current, status: current.status };
  }

  return { apply, decide };
}

export type BindingService = ReturnType<typeof createBindingService>;
