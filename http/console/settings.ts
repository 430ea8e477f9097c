/**
 * What the console's routers need to know, derived once from the parsed configuration (no defaults here:
 * config/index.ts owns them) plus the resolved administrator credential and the Temporal namespace.
 */
import type { AdminConfig, Config } from '../../config';
import type { AdminCredential } from '../../security/admin-credential';

export interface AdminSettings extends AdminConfig {
  credential: AdminCredential;
  publicOrigin: string;
  secureCookies: boolean;
  namespace: string;
  allowPrivateUrls: boolean;
  maxBodyBytes: number;
}

export function adminSettings(config: Config, credential: AdminCredential, namespace: string): AdminSettings {
  const base = new URL(config.publicBaseUrl);
  return {
    ...config.admin,
    credential,
    publicOrigin: base.origin,
    secureCookies: base.protocol === 'https:',
    namespace,
    allowPrivateUrls: config.allowPrivateNotifyUrls,
    maxBodyBytes: config.maxBodyBytes,
  };
}
