/**
 * The administrator side:
 *   /api/cashier-desk-admin/*   administrator JSON API (session + CSRF + Origin, audited)
 *   /cashier-desk-admin         administrator console (zh-CN, strict CSP, no framework)
 */
import { Router } from 'express';
import type { OperatorService } from '../../app/operator';
import type { Config } from '../../config';
import type { Db } from '../../db/connection';
import { ADMIN_API_BASE } from '../../domain/urls';
import type { Logger } from '../../observability/logger';
import type { ProviderRegistry } from '../../providers/registry';
import type { AdminCredential } from '../../security/admin-credential';
import type { RateLimiter } from '../rate-limit';
import { adminApiRouter } from './api';
import { createAuth } from './auth';
import { consoleRouter } from './console';
import { adminSettings } from './settings';

export function createConsoleRouter(deps: {
  /** Sessions and login attempts (admin-sessions queries). */
  db: Db;
  operator: OperatorService;
  providers: ProviderRegistry;
  config: Config;
  credential: AdminCredential;
  namespace: string;
  log: Logger;
  /** Administrator API requests per client IP. */
  limiter: RateLimiter;
}): Router {
  const settings = adminSettings(deps.config, deps.credential, deps.namespace);
  if (settings.credential.source === 'file') deps.log.warn('administrator password generated for development', { file: settings.credential.file, username: settings.credential.username });
  const auth = createAuth({ db: deps.db, settings });
  const r = Router();
  r.use(ADMIN_API_BASE, adminApiRouter({ operator: deps.operator, channelTypes: deps.providers.channelTypes(), settings, auth, limiter: deps.limiter }));
  r.use(consoleRouter());
  return r;
}
