import type { Metrics } from '../observability/metrics';
import { withClientSpan } from '../observability/tracing';
import { ProviderError, type ChannelType, type PaymentProvider, type SceneCode } from './types';

/**
 * The providers a process can talk to, by channel type: the one list of channel types and of the scenes
 * each offers. Adding a wallet = one folder under providers/ + one entry in providers/index.ts.
 */
export interface ProviderRegistry {
  get(channelType: ChannelType): PaymentProvider;
  has(channelType: string): boolean;
  channelTypes(): ChannelType[];
  /** Whether `channelType` is registered and offers `sceneCode`. */
  offers(channelType: string, sceneCode: string): sceneCode is SceneCode;
}

/** Every call that reaches a provider (or checks its signatures); callbackAck only formats an answer. */
const OPERATIONS = [
  'prepay',
  'query',
  'close',
  'verifyCallback',
  'refund',
  'queryRefund',
  'verifyRefundCallback',
  'transfer',
  'queryTransfer',
  'cancelTransfer',
  'verifyTransferCallback',
  'verifyReturn',
  'downloadBill',
] as const satisfies ReadonlyArray<keyof PaymentProvider>;

/** `ok`, or the ProviderError kind in lower case (`unavailable`, `rejected`, `bad_response`, `bad_callback`), or `error`. */
function outcomeOf(err: unknown): string {
  return err instanceof ProviderError ? err.kind.toLowerCase() : 'error';
}

/**
 * The provider edge: every adapter call through the registry is counted and timed by provider, operation and
 * outcome (cashier_provider_calls_total, cashier_provider_call_duration_seconds) and runs in a client span.
 * A bill download counts once, when its stream ends or fails.
 */
export function instrumentProvider(p: PaymentProvider, metrics: Metrics | undefined): PaymentProvider {
  const wrapped: Record<string, unknown> = {};
  const observe = (operation: string, started: bigint, outcome: string) => {
    if (!metrics) return;
    const labels = { provider: p.channelType, operation, outcome };
    metrics.providerCalls.inc(labels);
    metrics.providerDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  };
  for (const op of OPERATIONS) {
    const fn = p[op] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') continue;
    const call = (args: unknown[]) => fn.apply(p, args);
    if (op === 'verifyReturn') {
      wrapped[op] = (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const r = call(args);
        observe(op, started, r === null ? 'bad_callback' : 'ok');
        return r;
      };
    } else if (op === 'downloadBill') {
      wrapped[op] = (...args: unknown[]) => ({
        [Symbol.asyncIterator]: async function* () {
          const started = process.hrtime.bigint();
          try {
            yield* call(args) as AsyncIterable<unknown>;
            observe(op, started, 'ok');
          } catch (err) {
            observe(op, started, outcomeOf(err));
            throw err;
          }
        },
      });
    } else {
      wrapped[op] = (...args: unknown[]) =>
        withClientSpan(`${p.channelType} ${op}`, { 'cashier.provider': p.channelType, 'cashier.provider.operation': op }, async (span) => {
          const started = process.hrtime.bigint();
          try {
            const r = await (call(args) as Promise<unknown>);
            observe(op, started, 'ok');
            return r;
          } catch (err) {
            const outcome = outcomeOf(err);
            span.setAttribute('cashier.provider.outcome', outcome);
            observe(op, started, outcome);
            throw err;
          }
        });
    }
  }
  return Object.assign(Object.create(p) as PaymentProvider, wrapped);
}

export function createProviderRegistry(providers: PaymentProvider[], opts: { metrics?: Metrics } = {}): ProviderRegistry {
  const byType = new Map(providers.map((p) => [p.channelType, instrumentProvider(p, opts.metrics)]));
  return {
    get(channelType) {
      const p = byType.get(channelType);
      if (!p) throw new Error(`no provider registered for channel type ${channelType}`);
      return p;
    },
    has: (channelType) => byType.has(channelType),
    channelTypes: () => [...byType.keys()],
    offers: (channelType, sceneCode): sceneCode is SceneCode => (byType.get(channelType)?.scenes as readonly string[] | undefined)?.includes(sceneCode) ?? false,
  };
}
