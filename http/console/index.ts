/**
 * Operator side (issue 6, DESIGN.md §6):
 *   /api/cashier-desk-sa/register               anonymous app registration (PENDING; appKey shown once)
 *   /api/cashier-desk-sa/apply/binding-channel  signed: channel-binding applications (ChannelBindingWorkflow)
 *   /api/cashier-desk-admin/*                   administrator JSON API (session + CSRF + Origin, audited)
 *   /cashier-desk-admin                         administrator console (zh-CN, strict CSP, no framework)
 */
import { Router } from 'express';
import type { WebDeps } from '../app';
import { ADMIN_API_BASE, adminApiRouter } from './api';
import { createAuth } from './auth';
import { createBindingService } from '../../app/bindings';
import { consoleRouter } from './console';
import { registrationRouter, SA_BASE } from '../registration';
import { adminSettings } from './settings';

export { resolveAdminCredential } from '../../security/admin-credential';

export function createAdminRouter(deps: WebDeps): Router {
  const settings = adminSettings(deps);
  const log = deps.log.child({ component: 'admin' });
  if (settings.credential.source === 'file') log.warn('administrator password generated for development', { file: settings.credential.file, username: settings.credential.username });
  const auth = createAuth({ db: deps.db, settings });
  const bindings = createBindingService({ db: deps.db, temporal: deps.temporal, taskQueue: settings.taskQueue, autoApproveSeconds: settings.bindingAutoApproveSeconds, log });

  const r = Router();
  r.use(SA_BASE, registrationRouter({ db: deps.db, secretBox: deps.secretBox, settings, bindings }));
  r.use(ADMIN_API_BASE, adminApiRouter({ db: deps.db, secretBox: deps.secretBox, temporal: deps.temporal, settings, auth, bindings, log }));
  r.use(consoleRouter());
  return r;
}
