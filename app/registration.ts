/**
 * The merchant side of the operator API: an app registers (PENDING until an administrator approves it; its
 * appKey is returned once) and, once approved, applies for channels. Both are written to the audit log.
 */
import type { Db } from '../db/connection';
import { createApp, type AppWithKeys } from '../db/queries/apps';
import { insertAudit } from '../db/queries/audit-log';
import type { SecretBox } from '../security/secret-box';
import { DEFAULT_SIGN_TYPE, type SignType } from '../signature';
import type { ApplicationResult, BindingService } from './bindings';

export interface Registration {
  name: string;
  notifyUrl: string;
  returnUrl?: string | null;
  contact: string;
  signType?: SignType;
}

export function createRegistrationService(deps: { db: Db; secretBox: SecretBox; bindings: BindingService }) {
  const { db } = deps;
  return {
    async register(r: Registration, ip: string): Promise<{ appId: string; appKey: string; signType: SignType }> {
      const signType = r.signType ?? DEFAULT_SIGN_TYPE;
      const { appId, appKey } = await createApp(db, deps.secretBox, { name: r.name, status: 'PENDING', notifyUrl: r.notifyUrl, returnUrl: r.returnUrl ?? null, contact: r.contact, signType: r.signType });
      await insertAudit(db, { actor: 'anonymous', action: 'app.register', targetType: 'app', targetId: appId, ip, detail: { name: r.name, signType } });
      return { appId, appKey, signType };
    },

    async applyForChannels(app: AppWithKeys, channelIds: number[], ip: string): Promise<ApplicationResult[]> {
      const applications = await deps.bindings.apply(app, channelIds);
      await insertAudit(db, { actor: `app:${app.appId}`, action: 'binding.apply', targetType: 'app', targetId: app.appId, ip, detail: { channelIds } });
      return applications;
    },
  };
}

export type RegistrationService = ReturnType<typeof createRegistrationService>;
