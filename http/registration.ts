/**
 * The merchant side of the operator API, `/api/cashier-desk-sa`:
 * - `POST /register` (anonymous, rate-limited per IP): a PENDING app; its appId and appKey are shown once.
 * - `POST /apply/binding-channel` (Signature v1, approved apps only): applications for channels, each a
 *   ChannelBindingWorkflow waiting for an administrator or for its auto-approval timer.
 */
import express, { Router, type RequestHandler } from 'express';
import type { RegistrationService } from '../app/registration';
import type { Config } from '../config';
import { DomainError, ErrorCode } from '../domain/errors';
import { REGISTRATION_API_BASE } from '../domain/urls';
import type { Logger } from '../observability/logger';
import { applyBindingSchema, registerSchema } from './console/schemas';
import { clientIp, envelope, route } from './envelope';
import { storableTextReviver } from './strict-json';
import { rateLimit, type RateLimiter } from './rate-limit';
import { sendSigned, signedContext } from './signed';
import { parse } from './validation';

export function registrationRouter(deps: {
  registration: RegistrationService;
  signed: RequestHandler[];
  config: Pick<Config, 'allowPrivateNotifyUrls' | 'maxBodyBytes' | 'admin'>;
  /** Per client IP: registrations (per hour) and binding applications (per minute, before the signature is checked). */
  limiters: { register: RateLimiter; apply: RateLimiter };
  log?: Logger;
}): Router {
  const { config } = deps;
  const r = Router();
  const schema = registerSchema(config.allowPrivateNotifyUrls);
  const json = express.json({ limit: config.maxBodyBytes, type: () => true, reviver: storableTextReviver });

  r.post(
    '/register',
    rateLimit({ limiter: deps.limiters.register, key: (req) => clientIp(req), log: deps.log }),
    json,
    route(async (req, res) => {
      const body = parse(schema, req.body ?? {});
      const { appId, appKey, signType } = await deps.registration.register(body, clientIp(req));
      res.status(200).json(
        envelope({
          appId,
          appKey,
          status: 'PENDING',
          signType,
          notice: '请妥善保管 appKey：它只显示这一次，遗失或泄露都可能造成损失。应用审核通过后方可调用接口。',
        }),
      );
    }),
  );

  r.post(
    '/apply/binding-channel',
    rateLimit({ limiter: deps.limiters.apply, key: (req) => clientIp(req), log: deps.log }),
    ...deps.signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      const body = parse(applyBindingSchema, ctx.body);
      const applications = await deps.registration.applyForChannels(ctx.app, body.channelIds ?? [body.channelId!], clientIp(req));
      sendSigned(res, envelope({ applications }));
    }),
  );

  r.use((_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  const router = Router();
  router.use(REGISTRATION_API_BASE, r);
  return router;
}
