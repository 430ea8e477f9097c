/** Hosted cashier pages (/cashier-desk-web). Filled in by the cashier-pages work (issue 5). */
import { Router } from 'express';
import type { WebDeps } from '../api/app';

export function createWebRouter(_deps: WebDeps): Router {
  return Router();
}
