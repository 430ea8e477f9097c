/**
 * The merchant side of the operator API, `/api/cashier-desk-sa` (seed 2.1, 2.2):
 * - `POST /register` (anonymous, rate-limited per IP): a PENDING app; its appId and appKey are shown once.
 * - `POST /apply/binding-channel` (Signature v1, approved apps only): applications for channels, each a
 *   ChannelBindingWorkflow waiting for an administrator or for its auto-approval timer.
 */
import express, { Router } from 'express';
import type { Db } from '../db/connection';
import { createApp } from '../db/queries/apps';
import { insertAudit } from '../db/queries/admin';
import { envelope } from './envelope';
import { rateLimit } from './rate-limit';
import { sendSigned, signedContext, signedRoutes } from './signed';
import { parse } from './validation';
import { DomainError, ErrorCode } from '../domain/errors';
import type { SecretBox } from '../security/secret-box';
import { clientIp, handler } from './console/auth';
import type { BindingService } from '../app/bindings';
import { applyBindingSchema, registerSchema } from './console/schemas';
import type { AdminSettings } from './console/settings';

export const SA_BASE = '/api/cashier-desk-sa';

export function registrationRouter(deps: { db: Db; secretBox: SecretBox; settings: AdminSettings; bindings: BindingService }): Router {
  const { db, settings } = deps;
  const r = Router();
  const schema = registerSchema(settings.allowPrivateUrls);
  const json = express.json({ limit: settings.maxBodyBytes, type: () => true });

  r.post(
    '/register',
    rateLimit({ windowMs: 3_600_000, max: settings.registerPerHour, key: (req) => `register|${clientIp(req)}` }),
    json,
    handler(async (req, res) => {
      const body = parse(schema, req.body ?? {});
      const { appId, appKey } = await createApp(db, deps.secretBox, {
        name: body.name,
        status: 'PENDING',
        notifyUrl: body.notifyUrl,
        returnUrl: body.returnUrl ?? null,
        contact: body.contact,
        signType: body.signType,
      });
      await insertAudit(db, { actor: 'anonymous', action: 'app.register', targetType: 'app', targetId: appId, ip: clientIp(req), detail: { name: body.name, signType: body.signType ?? 'HMAC-SHA256' } });
      res.status(200).json(
        envelope({
          appId,
          appKey,
          status: 'PENDING',
          signType: body.signType ?? 'HMAC-SHA256',
          notice: '请妥善保管 appKey：它只显示这一次，遗失或泄露都可能造成损失。应用审核通过后方可调用接口。',
        }),
      );
    }),
  );

  r.post(
    '/apply/binding-channel',
    rateLimit({ windowMs: 60_000, max: 120, key: (req) => `apply|${clientIp(req)}|${req.get('x-cashier-app-id') ?? ''}` }),
    ...signedRoutes({ db, secretBox: deps.secretBox, maxBodyBytes: settings.maxBodyBytes }),
    handler(async (req, res) => {
      const ctx = signedContext(res);
      const body = parse(applyBindingSchema, ctx.body);
      const ids = body.channelIds ?? [body.channelId!];
      const applications = await deps.bindings.apply(ctx.app, ids);
      await insertAudit(db, { actor: `app:${ctx.app.appId}`, action: 'binding.apply', targetType: 'app', targetId: ctx.app.appId, ip: clientIp(req), detail: { channelIds: ids } });
      sendSigned(res, envelope({ applications }));
    }),
  );

  r.use((_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  return r;
}
