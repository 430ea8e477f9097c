/**
 * Channel-binding use-cases: an app applies (signed merchant request), an administrator approves or rejects.
 * Every application is a ChannelBindingWorkflow (`binding:{appId}:{channelId}`) that owns the waiting period
 * of 方式二; the administrator's decision is a signal to it (signal-with-start, so a lost start heals itself).
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Db } from '../db/connection';
import type { AppWithKeys } from '../db/queries/apps';
import * as bindings from '../db/queries/bindings';
import { DomainError, ErrorCode } from '../domain/errors';
import { formatShanghai } from '../domain/order';
import type { Logger } from '../observability/logger';
import {
  approveBindingSignal,
  bindingWorkflowId,
  rejectBindingSignal,
  type BindingDecisionRequest,
  type ChannelBindingInput,
  type channelBindingWorkflow,
} from '../workflows/channel-binding';
import { SA } from '../workflows/messages';

export interface BindingServiceDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  autoApproveSeconds: number;
  log: Logger;
}

export interface ApplicationResult {
  channelId: number;
  status: bindings.BindingStatus;
  /** "yyyy-MM-dd HH:mm:ss" (Asia/Shanghai) at which 方式二 approves, while PENDING. */
  autoApproveAt: string | null;
}

const WORKFLOW_TYPE = 'channelBindingWorkflow';

export function createBindingService(deps: BindingServiceDeps) {
  const { db, temporal } = deps;

  /** `fresh`: a new application waits the full period; a healed start keeps the application's deadline. */
  function startOptions(row: bindings.BindingRow, channelName: string, fresh: boolean) {
    const autoApproveAt = row.auto_approve_at ?? new Date(Date.now() + deps.autoApproveSeconds * 1000);
    const input: ChannelBindingInput = {
      appId: row.app_id,
      channelId: row.channel_id,
      autoApproveAfterMs: fresh ? deps.autoApproveSeconds * 1000 : Math.max(1000, autoApproveAt.getTime() - Date.now()),
      channelName,
    };
    return {
      workflowId: bindingWorkflowId(row.app_id, row.channel_id),
      taskQueue: deps.taskQueue,
      args: [input] as [ChannelBindingInput],
      typedSearchAttributes: [{ key: SA.AppId, value: row.app_id }],
      staticSummary: `渠道绑定申请 · 应用 ${row.app_id} · 渠道 ${row.channel_id} ${channelName} · ${formatShanghai(autoApproveAt.getTime())} 自动通过`,
      staticDetails:
        `**应用 ${row.app_id} 申请绑定渠道 ${row.channel_id}（${channelName}）**\n\n` +
        `- 方式一：管理员在控制台审核（approveBinding / rejectBinding 信号）\n` +
        `- 方式二：${formatShanghai(autoApproveAt.getTime())}（Asia/Shanghai）前未被驳回则自动通过`,
    };
  }

  async function ensureWorkflow(row: bindings.BindingRow, channelName: string, fresh: boolean): Promise<void> {
    try {
      await temporal.workflow.start<typeof channelBindingWorkflow>(WORKFLOW_TYPE, { ...startOptions(row, channelName, fresh), workflowIdConflictPolicy: 'USE_EXISTING' });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /** Idempotent: a repeated application returns the same state and starts nothing new. */
  async function apply(app: AppWithKeys, channelIds: number[]): Promise<ApplicationResult[]> {
    const ids = [...new Set(channelIds)];
    const channels = new Map((await bindings.findApplicableChannels(db, ids)).map((c) => [c.id, c]));
    const missing = ids.filter((id) => !channels.has(id));
    if (missing.length) throw new DomainError(ErrorCode.NOT_FOUND, `渠道不存在或已停用: ${missing.join(', ')}`);
    const out: ApplicationResult[] = [];
    for (const id of ids) {
      const ch = channels.get(id)!;
      const { row, opened } = await bindings.openApplication(db, {
        appId: app.appId,
        channelId: id,
        workflowId: bindingWorkflowId(app.appId, id),
        autoApproveAt: new Date(Date.now() + deps.autoApproveSeconds * 1000),
      });
      // Also for a PENDING row seen again: USE_EXISTING makes this a no-op while the workflow runs and
      // heals an application whose start was lost.
      if (row.status === 'PENDING') await ensureWorkflow(row, ch.channel_name, opened);
      out.push({ channelId: id, status: row.status, autoApproveAt: row.status === 'PENDING' && row.auto_approve_at ? formatShanghai(row.auto_approve_at.getTime()) : null });
    }
    return out;
  }

  /**
   * An administrator's decision: a signal to the application's workflow, whose activity writes it. Waits
   * briefly for the write so the console shows the outcome; a slow worker leaves it PENDING (still decided).
   */
  async function decide(bindingId: number, decision: 'APPROVED' | 'REJECTED', operator: string, note: string | null, waitMs = 5000): Promise<{ row: bindings.BindingRow; status: bindings.BindingStatus }> {
    const row = await bindings.findBindingById(db, bindingId);
    if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '绑定申请不存在');
    if (row.status !== 'PENDING') throw new DomainError(ErrorCode.CONFLICT, `绑定申请已处理（${row.status}）`);
    const channel = (await db('channels').where({ id: row.channel_id }).first('channel_name')) as { channel_name: string } | undefined;
    await temporal.workflow.signalWithStart<typeof channelBindingWorkflow, [BindingDecisionRequest]>(WORKFLOW_TYPE, {
      ...startOptions(row, channel?.channel_name ?? '', false),
      signal: decision === 'APPROVED' ? approveBindingSignal : rejectBindingSignal,
      signalArgs: [{ operator, note }],
    });
    const deadline = Date.now() + waitMs;
    let current = row;
    while (Date.now() < deadline) {
      current = (await bindings.findBindingById(db, bindingId)) ?? current;
      if (current.status !== 'PENDING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { row: current, status: current.status };
  }

  return { apply, decide };
}

export type BindingService = ReturnType<typeof createBindingService>;
