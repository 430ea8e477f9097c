/**
 * Workflow interceptors of a traced worker, bundled into the workflow code only when tracing is on
 * (`interceptors.workflowModules`, or `workflowInterceptorModules` for a pre-built bundle). Imported from the
 * package's workflow entry, which is made for the workflow sandbox (no Node APIs; spans leave through the
 * `exporter` sink). They add trace context to the headers of the commands a workflow issues and never add,
 * remove or reorder a command: committed histories replay with them (test/replay).
 */
import { OpenTelemetryInboundInterceptor, OpenTelemetryInternalsInterceptor, OpenTelemetryOutboundInterceptor } from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
