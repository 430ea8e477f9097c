/**
 * The application layer: every use-case the HTTP routers and the worker's housekeeping call, built once per
 * process from its dependencies. Tests build it the same way and call the use-cases without HTTP.
 */
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { ProviderRegistry } from '../providers/registry';
import type { SecretBox } from '../security/secret-box';
import type { TemporalGateway } from '../temporal/client';
import { createBindingService } from './bindings';
import { createCallbackService } from './callbacks';
import { createOperatorService } from './operator';
import { createOrderService } from './orders';
import { createPaymentExceptionService } from './payment-exceptions';
import { createReconciliationService } from './reconciliation';
import { createRefundService } from './refunds';
import { createStatementService } from './statements';
import { createTransferService } from './transfers';
import { createRegistrationService } from './registration';

export interface AppDeps {
  db: Db;
  secretBox: SecretBox;
  temporal: TemporalGateway;
  providers: ProviderRegistry;
  log: Logger;
  /** The process's metrics (orders created); absent: not counted. */
  metrics?: Metrics;
  config: Pick<Config, 'publicBaseUrl' | 'orderDefaultExpireSeconds' | 'providerPollIntervalSeconds' | 'admin' | 'exceptionAutoRefund'>;
}

export function createUseCases(deps: AppDeps) {
  const { db, secretBox, temporal, config } = deps;
  const bindings = createBindingService({ db, temporal, autoApproveSeconds: config.admin.bindingAutoApproveSeconds });
  const refunds = createRefundService({ db, temporal, log: deps.log.child({ component: 'refunds' }), config });
  const exceptions = createPaymentExceptionService({ db, refunds, log: deps.log.child({ component: 'payment-exceptions' }), autoRefund: config.exceptionAutoRefund });
  const callbacks = createCallbackService({ db, secretBox, temporal, providers: deps.providers, exceptions, log: deps.log.child({ component: 'callbacks' }) });
  const transfers = createTransferService({ db, temporal, log: deps.log.child({ component: 'transfers' }), config });
  const reconciliation = createReconciliationService({ db, secretBox, providers: deps.providers, temporal, callbacks });
  return {
    refunds,
    exceptions,
    callbacks,
    reconciliation,
    statements: createStatementService({ db }),
    transfers,
    orders: createOrderService({ db, secretBox, providers: deps.providers, temporal, log: deps.log, config, metrics: deps.metrics }),
    registration: createRegistrationService({ db, secretBox, bindings }),
    operator: createOperatorService({ db, secretBox, temporal, bindings, refunds, reconciliation, transfers, keyRotationGraceSeconds: config.admin.keyRotationGraceSeconds }),
  };
}

export type UseCases = ReturnType<typeof createUseCases>;
