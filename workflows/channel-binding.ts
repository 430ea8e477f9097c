/**
 * ChannelBindingWorkflow (申请绑定): one per application of an app for a channel, workflow id
 * `binding:{appId}:{channelId}`. It waits for an administrator's decision (方式一: approve/reject signal) and,
 * when none comes, approves the application by itself once the waiting period is over (方式二) — a durable
 * timer the Temporal Web UI shows with its summary. The decision is written by an activity.
 *
 * Deterministic code only: @temporalio/workflow and pure definitions; the clock is the workflow's.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setCurrentDetails, setDefaultSignalHandler, setHandler } from '@temporalio/workflow';
import type { BindingActivities } from '../activities/binding';
import type { BindingStatus } from '../domain/channel';
import { ErrorCode, failureType } from '../domain/errors';

export interface ChannelBindingInput {
  appId: string;
  channelId: number;
  /** The waiting period of 方式二, decided by the API from configuration when the application was made. */
  autoApproveAfterMs: number;
  /** Display only (console, UI details). */
  channelName?: string;
}

export interface BindingDecisionRequest {
  /** Administrator username (the API resolves it from the session; never trusted from a browser). */
  operator: string;
  note?: string | null;
}

export interface BindingDecision {
  status: 'APPROVED' | 'REJECTED';
  decidedBy: string;
  note: string | null;
  auto: boolean;
  /** Workflow time of the decision, epoch ms. */
  decidedAt: number;
}

export interface BindingState {
  appId: string;
  channelId: number;
  status: BindingStatus;
  /** Workflow time at which 方式二 approves, epoch ms. */
  autoApproveAt: number;
  decision: BindingDecision | null;
  /** Status in PostgreSQL after the activity ran (null until then). */
  recordedStatus: BindingStatus | null;
}

export const AUTO_APPROVER = 'system:auto-approve';

export const approveBindingSignal = defineSignal<[BindingDecisionRequest]>('approveBinding');
export const rejectBindingSignal = defineSignal<[BindingDecisionRequest]>('rejectBinding');
export const bindingStateQuery = defineQuery<BindingState>('bindingState');

/** The decision must land in PostgreSQL: retry until it does (the activity is idempotent). */
const acts = proxyActivities<BindingActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m', nonRetryableErrorTypes: [failureType(ErrorCode.NOT_FOUND)] },
});

export async function channelBindingWorkflow(input: ChannelBindingInput): Promise<BindingState> {
  const state: BindingState = {
    appId: input.appId,
    channelId: input.channelId,
    status: 'PENDING',
    autoApproveAt: Date.now() + input.autoApproveAfterMs,
    decision: null,
    recordedStatus: null,
  };
  const decide = (status: BindingDecision['status'], req: BindingDecisionRequest, auto: boolean) => {
    if (state.decision) return; // the first decision wins; later signals change nothing
    state.decision = { status, decidedBy: req.operator, note: req.note ?? null, auto, decidedAt: Date.now() };
    state.status = status;
  };
  setHandler(bindingStateQuery, () => state, { description: 'Application status, auto-approval time and the decision' });
  // Signals that reached the workflow before this code first ran are buffered by the SDK. A default handler
  // drains them in the order the server accepted them; registering the named handlers one by one would
  // drain every approve before any reject, and the first decision must win.
  setDefaultSignalHandler((name, ...args) => {
    const req = args[0] as BindingDecisionRequest;
    if (name === approveBindingSignal.name) decide('APPROVED', req, false);
    else if (name === rejectBindingSignal.name) decide('REJECTED', req, false);
  });
  setHandler(approveBindingSignal, (req) => decide('APPROVED', req, false), { description: '方式一: an administrator approves' });
  setHandler(rejectBindingSignal, (req) => decide('REJECTED', req, false), { description: 'An administrator rejects' });

  const label = `app ${input.appId} · channel ${input.channelId}${input.channelName ? ` (${input.channelName})` : ''}`;
  setCurrentDetails(`**PENDING** · ${label}\n\nauto-approves at ${new Date(state.autoApproveAt).toISOString()} unless rejected`);

  const decided = await condition(() => state.decision !== null, Math.max(1, input.autoApproveAfterMs), {
    summary: `方式二: auto-approve after ${Math.round(input.autoApproveAfterMs / 1000)}s unless rejected`,
  });
  if (!decided) decide('APPROVED', { operator: AUTO_APPROVER, note: '等待期满，自动审核通过' }, true);

  const decision = state.decision!;
  const recorded = await acts.recordBindingDecision({
    appId: input.appId,
    channelId: input.channelId,
    status: decision.status,
    decidedBy: decision.decidedBy,
    note: decision.note,
    auto: decision.auto,
  });
  state.recordedStatus = recorded.status;
  setCurrentDetails(`**${decision.status}** · ${label}\n\nby ${decision.decidedBy}${decision.note ? `: ${decision.note}` : ''}`);
  return state;
}
