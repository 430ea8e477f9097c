/**
 * The operator side's settings. The composition root passes `config.admin` (config/index.ts AdminConfig) in
 * the API deps' config; when it does not, the defaults below apply (the same as the environment defaults),
 * and the administrator password comes from `.data/admin-password` outside production.
 */
import path from 'node:path';
import type { AdminConfig } from '../../config';
import type { WebDeps } from '../app';
import { resolveAdminCredential, type AdminCredential } from '../../security/admin-credential';

export const ADMIN_DEFAULTS: AdminConfig = {
  username: 'admin',
  sessionIdleSeconds: 1800,
  sessionMaxSeconds: 43_200,
  loginMaxFailures: 5,
  loginMaxFailuresPerIp: 20,
  loginWindowSeconds: 900,
  bindingAutoApproveSeconds: 3 * 86_400,
  keyRotationGraceSeconds: 86_400,
  registerPerHour: 20,
  temporalUiUrl: 'http://127.0.0.1:8233',
};

export interface AdminSettings extends AdminConfig {
  credential: AdminCredential;
  publicBaseUrl: string;
  publicOrigin: string;
  secureCookies: boolean;
  taskQueue: string;
  namespace: string;
  allowPrivateUrls: boolean;
  maxBodyBytes: number;
}

export function adminSettings(deps: WebDeps): AdminSettings {
  const { config } = deps;
  const admin: AdminConfig = { ...ADMIN_DEFAULTS, ...(config.admin ?? {}) };
  const env = config.env === 'production' || config.env === 'test' ? config.env : 'development';
  const dataDir = config.adminDataDir ?? path.resolve(__dirname, '..', '.data');
  const credential = resolveAdminCredential({ env, admin }, dataDir);
  const base = new URL(config.publicBaseUrl);
  return {
    ...admin,
    temporalUiUrl: admin.temporalUiUrl.replace(/\/+$/, ''),
    credential,
    publicBaseUrl: config.publicBaseUrl,
    publicOrigin: base.origin,
    secureCookies: base.protocol === 'https:',
    taskQueue: config.taskQueue,
    namespace: deps.temporal.options.namespace ?? 'default',
    allowPrivateUrls: config.allowPrivateNotifyUrls,
    maxBodyBytes: config.maxBodyBytes,
  };
}
