/**
 * The one module that calls Temporal as a client: every workflow start, signal, update, query and describe
 * of the API and the worker goes through `createTemporalGateway`, and every workflow id comes from
 * temporal/workflow-ids.ts. Use-cases (app/) decide what to do; this module knows how Temporal does it.
 */
import {
  ApplicationFailure,
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Workflow,
  type WorkflowOptions,
} from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { DomainError, ErrorCode } from '../domain/errors';
import type { SignalDefinition } from '@temporalio/common';
import { fromTemporalFailure } from '../domain/errors';
import { fenToYuanString } from '../domain/money';
import { formatShanghai } from '../domain/order';
import type { ChooseChannelRequest } from '../domain/payment';
import type { PrepayResult } from '../providers/types';
import {
  approveBindingSignal,
  rejectBindingSignal,
  type BindingDecisionRequest,
  type ChannelBindingInput,
  type channelBindingWorkflow,
} from '../workflows/channel-binding';
import {
  chooseChannelUpdate,
  providerCallbackSignal,
  refundCallbackSignal,
  refundStateQuery,
  RENOTIFY_LOOP_ENDED,
  renotifySignal,
  renotifyUpdate,
  stateQuery,
  type PaymentState,
  type PaymentWorkflowInput,
  type ProviderCallback,
  type RefundState,
  type RefundWorkflowInput,
  approveTransferSignal,
  rejectTransferSignal,
  transferCallbackSignal,
  transferStateQuery,
  type TransferDecision,
  type TransferState,
  type TransferWorkflowInput,
} from '../workflows/messages';
import type { RefundVerdict } from '../domain/refund';
import type { refundWorkflow } from '../workflows/refund';
import type { transferWorkflow } from '../workflows/transfer';
import type { TransferVerdict } from '../domain/transfer';
import type { dailyReconciliationWorkflow, ReconciliationInput, reconciliationWorkflow } from '../workflows/reconciliation';
import type { paymentWorkflowV2 } from '../workflows/payment';
import type { renotifyWorkflow } from '../workflows/renotify';
import { SA } from '../workflows/search-attributes';
import { requestIdClientInterceptor } from './request-id';
import { WorkflowIds } from './workflow-ids';
import { PAYMENT_WORKFLOW_TYPE } from './workflow-types';

export { WorkflowIds };

/** See withinStartDeadline. */
const START_DEADLINE_MS = 5_000;

/** A client connection for a composition root; `close()` ends it. */
export async function connectTemporal(opts: { address: string; namespace: string; tracing?: boolean }): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: opts.address });
  return { client: createClient({ connection, namespace: opts.namespace, tracing: opts.tracing }), close: () => connection.close() };
}

/**
 * A client over a connection. With tracing on, every start, signal, update and query carries the caller's trace
 * context in its Temporal headers, so the workflow's and its activities' spans join the API request's trace.
 */
export function createClient(opts: { connection: Connection; namespace?: string; tracing?: boolean }): Client {
  return new Client({
    connection: opts.connection,
    namespace: opts.namespace,
    // The request id header first: every start, signal and update carries the id of the API request behind it.
    interceptors: { workflow: [requestIdClientInterceptor(), ...(opts.tracing ? [new OpenTelemetryWorkflowClientInterceptor()] : [])] },
  });
}

/** What the Web UI shows of a workflow run, for the console. */
export interface WorkflowDescription {
  status: string;
  startTime: Date;
  closeTime: Date | null;
}

/** Display fields of an order for its workflow's summary and details in the Web UI. */
export interface PaymentDisplay {
  orderTitle: string;
  expireAt: Date;
}

export interface BindingApplication {
  appId: string;
  channelId: number;
  channelName: string;
  /** When 方式二 approves the application (shown in the Web UI). */
  autoApproveAt: Date;
  /** The workflow's timer: the full period for a new application, what is left of it for a healed start. */
  autoApproveAfterMs: number;
}

/** Resolves `fallback` if `p` takes longer than `ms` or fails: a slow Temporal must not hang a page. */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p.catch(() => fallback), new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

export function createTemporalGateway(deps: { client: Client; taskQueue: string }) {
  const { client, taskQueue } = deps;

  /** Signals a workflow; `false` (not an error) when it has already ended. */
  async function signalIfRunning<T>(workflowId: string, signal: SignalDefinition<[T]>, arg: T): Promise<boolean> {
    try {
      await client.workflow.getHandle(workflowId).signal(signal, arg);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  function bindingStartOptions(a: BindingApplication) {
    const input: ChannelBindingInput = {
      appId: a.appId,
      channelId: a.channelId,
      autoApproveAfterMs: a.autoApproveAfterMs,
      channelName: a.channelName,
    };
    const at = formatShanghai(a.autoApproveAt.getTime());
    return {
      workflowId: WorkflowIds.binding(a.appId, a.channelId),
      taskQueue,
      args: [input] as [ChannelBindingInput],
      typedSearchAttributes: [{ key: SA.AppId, value: a.appId }],
      staticSummary: `渠道绑定申请 · 应用 ${a.appId} · 渠道 ${a.channelId} ${a.channelName} · ${at} 自动通过`,
      staticDetails:
        `**应用 ${a.appId} 申请绑定渠道 ${a.channelId}（${a.channelName}）**\n\n` +
        `- 方式一：管理员在控制台审核（approveBinding / rejectBinding 信号）\n` +
        `- 方式二：${at}（Asia/Shanghai）前未被驳回则自动通过`,
    };
  }

  const reconciliationScheduleId = WorkflowIds.reconciliationSchedule(taskQueue);

  /**
   * Workflow starts are on merchants' request paths. Against an unreachable server the client's own retries add up
   * to about 20 s, longer than a merchant waits (the SDK gives up after 10 s), so the merchant would see a timeout
   * instead of an answer. Bounded, the request fails in time with a 5000; the row is kept, and the merchant's retry
   * (or the worker's reconciler) starts the one workflow later.
   */
  const withinStartDeadline = <T>(start: () => Promise<T>): Promise<T> => client.connection.withDeadline(Date.now() + START_DEADLINE_MS, start);

  /**
   * Starts (or finds) a workflow on this task queue, idempotently: USE_EXISTING for a running one, and a closed one
   * counts as started (REJECT_DUPLICATE), so a retry never runs the same work twice. Bounded by withinStartDeadline.
   */
  async function startIdempotent<W extends Workflow>(
    workflowType: string,
    options: Omit<WorkflowOptions, 'taskQueue' | 'workflowIdConflictPolicy' | 'workflowIdReusePolicy'> & { args: Parameters<W> },
  ): Promise<void> {
    try {
      // `args` is checked against W in the parameter type; start<W> would want WorkflowStartOptions<W>, a conditional
      // type TypeScript cannot resolve for a generic W.
      await withinStartDeadline(() =>
        client.workflow.start<Workflow>(workflowType, { ...options, taskQueue, workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'REJECT_DUPLICATE' }),
      );
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  return {
    namespace: client.options.namespace ?? 'default',
    reconciliationScheduleId,

    /**
     * Starts (or finds) an order's PaymentWorkflow. Idempotent: USE_EXISTING for a running one, and a closed
     * one counts as started (REJECT_DUPLICATE), so a retry never runs an order twice.
     */
    async startPayment(input: PaymentWorkflowInput, display: PaymentDisplay): Promise<void> {
      await startIdempotent<typeof paymentWorkflowV2>(PAYMENT_WORKFLOW_TYPE, {
        workflowId: WorkflowIds.payment(input.appId, input.outTradeNo),
        args: [input],
        typedSearchAttributes: [
          { key: SA.OutTradeNo, value: input.outTradeNo },
          { key: SA.AppId, value: input.appId },
          { key: SA.PaymentStatus, value: 'CREATED' },
          { key: SA.NotifyAttempts, value: 0 },
        ],
        staticSummary: `订单 ${input.outTradeNo} · ¥${fenToYuanString(input.amount)} · 应用 ${input.appId}`,
        staticDetails: `**${display.orderTitle}**\n\n- orderId: ${input.orderId}\n- outTradeNo: ${input.outTradeNo}\n- amount: ${input.amount} fen\n- expires: ${display.expireAt.toISOString()}`,
      });
    },

    /** The chooseChannel update: prepay at the provider inside the workflow; domain failures keep their code. */
    async chooseChannel(workflowId: string, req: ChooseChannelRequest): Promise<PrepayResult> {
      try {
        return await client.workflow.getHandle(workflowId).executeUpdate(chooseChannelUpdate, { args: [req] });
      } catch (err) {
        throw fromTemporalFailure(err) ?? err;
      }
    },

    /** Delivers a verified provider callback; `false` when the workflow has already ended. */
    signalProviderCallback: (workflowId: string, cb: ProviderCallback): Promise<boolean> => signalIfRunning(workflowId, providerCallbackSignal, cb),

    /**
     * The workflow's own view of an order (what only it knows: the live result before it is recorded, the
     * next notification time). Null when the workflow is gone, unreachable or slower than `timeoutMs`.
     */
    async paymentState(workflowId: string, timeoutMs = 5000): Promise<PaymentState | null> {
      return within(client.workflow.getHandle(workflowId).query(stateQuery), timeoutMs, null);
    },

    async describe(workflowId: string, timeoutMs = 3000): Promise<WorkflowDescription | null> {
      return within(
        client.workflow
          .getHandle(workflowId)
          .describe()
          .then((d) => ({ status: d.status.name as string, startTime: d.startTime, closeTime: d.closeTime ?? null })),
        timeoutMs,
        null,
      );
    },

    /**
     * Ops renotify, exactly one extra attempt: the PaymentWorkflow's renotify update while its notification loop
     * runs (it completes once the loop has taken the request; the schedule keeps its offsets). Once the loop has
     * ended — refused, or ended before taking it — or the workflow is gone, a one-shot renotifyWorkflow whose id
     * carries the attempt number it will make. Workflows started before the update exist get the old signal.
     */
    async renotify(order: { orderId: number; appId: string; outTradeNo: string }, nextAttempt: () => Promise<number>): Promise<{ workflowId: string; signalled: boolean }> {
      const paymentId = WorkflowIds.payment(order.appId, order.outTradeNo);
      const handle = client.workflow.getHandle(paymentId);
      try {
        await handle.executeUpdate(renotifyUpdate);
        return { workflowId: paymentId, signalled: true };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const domain = fromTemporalFailure(err);
          if (domain) throw domain;
          const loopEnded = err.cause instanceof ApplicationFailure && err.cause.type === RENOTIFY_LOOP_ENDED;
          // Any other refusal: a workflow from before the update (no handler), which still takes the signal.
          if (!loopEnded) {
            try {
              await handle.signal(renotifySignal);
              return { workflowId: paymentId, signalled: true };
            } catch (signalErr) {
              if (!(signalErr instanceof WorkflowNotFoundError)) throw signalErr;
            }
          }
        } else if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const workflowId = WorkflowIds.renotify(order.appId, order.outTradeNo, await nextAttempt());
      await client.workflow.start<typeof renotifyWorkflow>('renotifyWorkflow', {
        workflowId,
        taskQueue,
        args: [{ orderId: order.orderId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: SA.OutTradeNo, value: order.outTradeNo },
          { key: SA.AppId, value: order.appId },
        ],
        staticSummary: `重新通知 ${order.outTradeNo} · 应用 ${order.appId}`,
      });
      return { workflowId, signalled: false };
    },

    /**
     * Starts (or finds) a refund's RefundWorkflow; idempotent like startPayment, so healing a lost start or a
     * retried request never runs a refund twice.
     */
    async startRefund(input: RefundWorkflowInput, display: { reason: string | null; source: string }): Promise<void> {
      await startIdempotent<typeof refundWorkflow>('refundWorkflow', {
        workflowId: WorkflowIds.refund(input.appId, input.outRefundNo),
        args: [input],
        typedSearchAttributes: [
          { key: SA.OutTradeNo, value: input.outTradeNo },
          { key: SA.AppId, value: input.appId },
          { key: SA.OutRefundNo, value: input.outRefundNo },
          { key: SA.RefundStatus, value: 'PROCESSING' },
        ],
        staticSummary: `退款 ${input.outRefundNo} · ¥${fenToYuanString(input.amount)} · 订单 ${input.outTradeNo} · 应用 ${input.appId}`,
        staticDetails:
          `**退款 ${input.outRefundNo}**（${display.source}）\n\n- refundId: ${input.refundId}\n- orderId: ${input.orderId}\n- outTradeNo: ${input.outTradeNo}\n` +
          `- amount: ${input.amount} fen` +
          (display.reason ? `\n- reason: ${display.reason}` : ''),
      });
    },

    /** Delivers a verified refund notification; `false` when the refund's workflow has already ended. */
    signalRefundCallback: (workflowId: string, cb: { eventId: string; verdict: RefundVerdict }): Promise<boolean> => signalIfRunning(workflowId, refundCallbackSignal, cb),

    /** The RefundWorkflow's live view (provider calls, notification attempts); null when unreachable. */
    async refundState(workflowId: string, timeoutMs = 5000): Promise<RefundState | null> {
      return within(client.workflow.getHandle(workflowId).query(refundStateQuery), timeoutMs, null);
    },

    /** Starts (or finds) a transfer's TransferWorkflow; idempotent like startRefund. */
    async startTransfer(input: TransferWorkflowInput, display: { payee: string; remark: string }): Promise<void> {
      await startIdempotent<typeof transferWorkflow>('transferWorkflow', {
        workflowId: WorkflowIds.transfer(input.appId, input.outBizNo),
        args: [input],
        typedSearchAttributes: [
          { key: SA.AppId, value: input.appId },
          { key: SA.OutBizNo, value: input.outBizNo },
          { key: SA.TransferStatus, value: input.needsApproval ? 'PENDING_APPROVAL' : 'PROCESSING' },
          { key: SA.ChannelType, value: input.channelType },
        ],
        staticSummary: `转账 ${input.outBizNo} · ¥${fenToYuanString(input.amount)} · ${input.channelType} · 应用 ${input.appId}${input.needsApproval ? ' · 待审批' : ''}`,
        staticDetails: `**转账 ${input.outBizNo}**\n\n- transferId: ${input.transferId}\n- payee: ${display.payee}\n- remark: ${display.remark}\n- amount: ${input.amount} fen`,
      });
    },

    /** An administrator's decision on a transfer waiting for approval; `false` when its workflow has ended. */
    decideTransfer: (workflowId: string, approve: boolean, d: TransferDecision): Promise<boolean> => signalIfRunning(workflowId, approve ? approveTransferSignal : rejectTransferSignal, d),

    signalTransferCallback: (workflowId: string, cb: { eventId: string; verdict: TransferVerdict }): Promise<boolean> => signalIfRunning(workflowId, transferCallbackSignal, cb),

    async transferState(workflowId: string, timeoutMs = 5000): Promise<TransferState | null> {
      return within(client.workflow.getHandle(workflowId).query(transferStateQuery), timeoutMs, null);
    },

    /**
     * Reconciles one day of one channel config now. A finished run of the day may be repeated (its results are
     * replaced); a run still in progress is a 4090.
     */
    async startReconciliation(input: ReconciliationInput): Promise<string> {
      const workflowId = WorkflowIds.reconciliation(input.day, input.configId);
      try {
        await client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
          workflowId,
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          staticSummary: `对账 ${input.day} · 渠道配置 ${input.configId}${input.requestedBy ? ` · ${input.requestedBy}` : ''}`,
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new DomainError(ErrorCode.CONFLICT, `${input.day} 的对账正在进行`);
        throw err;
      }
      return workflowId;
    },

    /**
     * The daily reconciliation Schedule (id `reconciliation-daily:{taskQueue}`): at `time` Asia/Shanghai it starts
     * dailyReconciliationWorkflow for the previous day; overlapping runs are skipped, and a run missed while the
     * cluster was down is caught up within one day. Created once; at every later worker start its spec and
     * action are brought up to date, so changing the time needs no manual step.
     */
    async ensureReconciliationSchedule(time: { hour: number; minute: number }): Promise<void> {
      const scheduleId = reconciliationScheduleId;
      const spec = { calendars: [{ hour: time.hour, minute: time.minute, comment: 'Asia/Shanghai' }], timezone: 'Asia/Shanghai' };
      const action = {
        type: 'startWorkflow' as const,
        workflowType: 'dailyReconciliationWorkflow',
        workflowId: `${reconciliationScheduleId}:run`,
        taskQueue,
        args: [{ childIdTemplate: WorkflowIds.reconciliation('{day}', '{configId}') }] as Parameters<typeof dailyReconciliationWorkflow>,
      };
      const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' };
      try {
        await client.schedule.create({ scheduleId, spec, action, policies, state: { note: '每日对账（前一日，Asia/Shanghai）' } });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
      }
    },

    /** The daily Schedule as the Web UI shows it (null when it does not exist), e.g. for the console and tests. */
    async describeReconciliationSchedule() {
      try {
        return await client.schedule.getHandle(reconciliationScheduleId).describe();
      } catch {
        return null;
      }
    },

    /** Fires the daily Schedule now (ops and tests). */
    async triggerReconciliationSchedule(): Promise<void> {
      await client.schedule.getHandle(reconciliationScheduleId).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    },

    /** Starts an application's ChannelBindingWorkflow unless it runs already (heals a lost start). */
    async startBinding(a: BindingApplication): Promise<void> {
      try {
        await client.workflow.start<typeof channelBindingWorkflow>('channelBindingWorkflow', { ...bindingStartOptions(a), workflowIdConflictPolicy: 'USE_EXISTING' });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },

    /** An administrator's decision, as signal-with-start so a lost start heals itself. */
    async decideBinding(a: BindingApplication, decision: 'APPROVED' | 'REJECTED', req: BindingDecisionRequest): Promise<void> {
      await client.workflow.signalWithStart<typeof channelBindingWorkflow, [BindingDecisionRequest]>('channelBindingWorkflow', {
        ...bindingStartOptions(a),
        signal: decision === 'APPROVED' ? approveBindingSignal : rejectBindingSignal,
        signalArgs: [req],
      });
    },
  };
}

export type TemporalGateway = ReturnType<typeof createTemporalGateway>;
