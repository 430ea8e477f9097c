/** Operator side: /api/cashier-desk-sa (registration, binding) and /cashier-desk-admin (console). Issue 6. */
import { Router } from 'express';
import type { WebDeps } from '../api/app';

export function createAdminRouter(_deps: WebDeps): Router {
  return Router();
}
