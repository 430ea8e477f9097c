/**
 * Activities of ChannelBindingWorkflow: the decision lands in PostgreSQL (app_channels) and, when nobody
 * decided (方式二), in the audit log as the system's action. Idempotent: only a PENDING row changes.
 */
import type { Db } from '../db/connection';
import { insertAudit } from '../db/queries/audit-log';
import { decideBinding } from '../db/queries/app-channels';
import { type BindingStatus } from '../domain/channel';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';

export interface BindingActivityDeps {
  db: Db;
}

export interface RecordBindingDecisionInput {
  appId: string;
  channelId: number;
  status: 'APPROVED' | 'REJECTED';
  decidedBy: string;
  note: string | null;
  auto: boolean;
}

export function createBindingActivities(deps: BindingActivityDeps) {
  const { db } = deps;
  return {
    async recordBindingDecision(input: RecordBindingDecisionInput): Promise<{ status: BindingStatus; changed: boolean }> {
      const result = await db.transaction(async (trx) => {
        const r = await decideBinding(trx, input);
        if (r?.changed && input.auto) {
          await insertAudit(trx, {
            actor: input.decidedBy,
            action: 'binding.auto_approve',
            targetType: 'binding',
            targetId: `${input.appId}:${input.channelId}`,
            detail: { appId: input.appId, channelId: input.channelId, note: input.note },
          });
        }
        return r;
      });
      if (!result) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `no application of app ${input.appId} for channel ${input.channelId}`));
      return result;
    },
  };
}

export type BindingActivities = ReturnType<typeof createBindingActivities>;
