/**
 * Tracing must not change what a workflow does: every committed history replays against the workflow code bundled
 * with the tracing workflow interceptors (they only add trace context to command headers), on a replay worker with
 * the activity interceptors and the span sink a traced worker has.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setupTracing } from '../../observability/tracing';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS, WORKFLOWS_PATH } from '../../worker/create-worker';
import { quietLogger } from '../support/quiet-logger';

const dir = path.join(__dirname, 'histories');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

async function* histories() {
  for (const name of names) yield { workflowId: name, history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, name), 'utf8'))) };
}

test('every captured history replays with the tracing interceptors in the bundle', async () => {
  const tracing = setupTracing({ serviceName: 'replay', exporter: new InMemorySpanExporter() })!;
  try {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS], logger: quietLogger });
    const results: Array<{ workflowId: string; error?: unknown }> = [];
    const options = {
      workflowBundle,
      replayName: 'traced',
      interceptors: { activity: [(ctx: ConstructorParameters<typeof OpenTelemetryActivityInboundInterceptor>[0]) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] },
      sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
    };
    for await (const r of Worker.runReplayHistories(options, histories())) results.push(r);
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(results.map((r) => [r.workflowId, r.error ?? null])).toEqual(names.map((n) => [n, null]));
  } finally {
    await tracing.shutdown();
  }
});
