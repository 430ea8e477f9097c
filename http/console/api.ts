/**
 * The administrator JSON API, `/api/cashier-desk-admin/*`, used by the console. Every route needs an
 * administrator session; every state-changing one also the session's CSRF token and a same-origin Origin.
 * Every action is written to the audit log (who, what, target, when, IP; never a secret).
 */
import type { Client } from '@temporalio/client';
import express, { Router, type Request, type Response } from 'express';
import type { Db } from '../../db/connection';
import * as audit from '../../db/queries/admin';
import { createChannel, createChannelConfig, SCENE_NAMES, updateChannelConfig } from '../../db/queries/channels';
import * as bindingsQ from '../../db/queries/bindings';
import * as op from '../../db/queries/operator';
import { findOrderById, listNotifyAttempts } from '../../db/queries/orders';
import { envelope } from '../envelope';
import { rateLimit } from '../rate-limit';
import { parse } from '../validation';
import { DomainError, ErrorCode } from '../../domain/errors';
import { isFinal, type OrderStatus } from '../../domain/order';
import type { Logger } from '../../observability/logger';
import type { SceneCode } from '../../providers/types';
import type { SecretBox } from '../../security/secret-box';
import { renotifyOrder } from '../../temporal/client';
import { paymentWorkflowId, stateQuery, type PaymentState } from '../../workflows/messages';
import { clientIp, handler, principal, type Auth } from './auth';
import type { BindingService } from '../../app/bindings';
import * as s from './schemas';
import type { AdminSettings } from './settings';
import * as v from './views';

export const ADMIN_API_BASE = '/api/cashier-desk-admin';

export interface AdminApiDeps {
  db: Db;
  secretBox: SecretBox;
  temporal: Client;
  settings: AdminSettings;
  auth: Auth;
  bindings: BindingService;
  log: Logger;
}

function intParam(req: Request, name: string): number {
  const raw = String(req.params[name] ?? '');
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647 || Number(raw) < 1) throw new DomainError(ErrorCode.NOT_FOUND, '资源不存在');
  return Number(raw);
}

function appIdParam(req: Request): string {
  const raw = String(req.params.appId ?? '');
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(raw)) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
  return raw;
}

/** Resolves after `ms` with `fallback` unless `p` settles first (Temporal calls must not hang a console page). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p.catch(() => fallback), new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

export function adminApiRouter(deps: AdminApiDeps): Router {
  const { db, settings, auth, temporal } = deps;
  const r = Router();
  const appPatch = s.appPatchSchema(settings.allowPrivateUrls);

  // API responses are data, never documents.
  r.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    next();
  });
  r.use(auth.guard);
  r.use(rateLimit({ windowMs: 60_000, max: 600, key: (req) => `admin|${clientIp(req)}` }));
  r.use(express.json({ limit: settings.maxBodyBytes, type: ['application/json', 'application/*+json'] }));
  // State changes carry JSON (or nothing): a cross-site form could only send form encodings or text/plain.
  r.use((req, _res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && hasBody && !req.is(['application/json', 'application/*+json'])) {
      return next(new DomainError(ErrorCode.VALIDATION, 'Content-Type 必须为 application/json'));
    }
    next();
  });

  const record = (req: Request, res: Response, e: Omit<audit.AuditEntry, 'actor' | 'ip'>) =>
    audit.insertAudit(db, { ...e, actor: principal(res).username, ip: clientIp(req) });

  // ---- session -------------------------------------------------------------------------------------
  r.post(
    '/login',
    handler(async (req, res) => {
      const body = parse(s.loginSchema, req.body ?? {});
      const p = await auth.login(req, res, body.username, body.password);
      res.json(envelope(v.sessionView(p, settings)));
    }),
  );

  r.use(auth.requireAdmin);

  r.get(
    '/session',
    handler(async (_req, res) => {
      res.json(envelope(v.sessionView(principal(res), settings)));
    }),
  );

  r.post(
    '/logout',
    handler(async (req, res) => {
      await auth.logout(req, res, principal(res));
      res.json(envelope());
    }),
  );

  r.get(
    '/overview',
    handler(async (_req, res) => {
      res.json(envelope(await op.countOverview(db)));
    }),
  );

  // ---- apps (应用信息注册表管理) ----------------------------------------------------------------------
  r.get(
    '/apps',
    handler(async (req, res) => {
      const f = parse(s.appListQuery, req.query);
      const { items, total } = await op.listApps(db, f);
      res.json(envelope({ items: items.map(v.appView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/apps/:appId',
    handler(async (req, res) => {
      const app = await op.getApp(db, appIdParam(req));
      if (!app) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
      const { items } = await bindingsQ.listBindings(db, { appId: app.app_id, page: 1, pageSize: 100 });
      res.json(envelope({ ...v.appView(app), bindings: items.map((b) => v.bindingView(b, settings)) }));
    }),
  );

  const statusChange = (action: string, from: Array<'PENDING' | 'APPROVED' | 'DISABLED'>, to: 'APPROVED' | 'DISABLED') =>
    handler(async (req, res) => {
      const appId = appIdParam(req);
      const before = await op.getApp(db, appId);
      if (!before) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
      if (!(await op.setAppStatus(db, appId, from, to))) throw new DomainError(ErrorCode.CONFLICT, `应用当前状态为 ${before.status}，不能执行该操作`);
      await record(req, res, { action, targetType: 'app', targetId: appId, detail: { from: before.status, to } });
      res.json(envelope(v.appView((await op.getApp(db, appId))!)));
    });
  r.post('/apps/:appId/approve', statusChange('app.approve', ['PENDING', 'DISABLED'], 'APPROVED'));
  r.post('/apps/:appId/disable', statusChange('app.disable', ['PENDING', 'APPROVED'], 'DISABLED'));

  r.patch(
    '/apps/:appId',
    handler(async (req, res) => {
      const appId = appIdParam(req);
      const body = parse(appPatch, req.body ?? {});
      const before = await op.getApp(db, appId);
      if (!before) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
      await op.updateApp(db, appId, body);
      await record(req, res, {
        action: 'app.update',
        targetType: 'app',
        targetId: appId,
        detail: Object.fromEntries(Object.keys(body).map((k) => [k, { from: v.appView(before)[k as keyof v.AppView] ?? null, to: body[k as keyof typeof body] ?? null }])),
      });
      res.json(envelope(v.appView((await op.getApp(db, appId))!)));
    }),
  );

  r.post(
    '/apps/:appId/rotate-key',
    handler(async (req, res) => {
      const appId = appIdParam(req);
      const body = parse(s.rotateKeySchema, req.body ?? {});
      const grace = body.graceSeconds ?? settings.keyRotationGraceSeconds;
      const rotated = await op.rotateAppKey(db, deps.secretBox, appId, new Date(Date.now() + grace * 1000));
      if (!rotated) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
      await record(req, res, { action: 'app.rotate_key', targetType: 'app', targetId: appId, detail: { graceSeconds: grace, previousKeyValidUntil: rotated.previousKeyValidUntil.toISOString() } });
      res.json(
        envelope({
          appId,
          appKey: rotated.appKey,
          previousKeyValidUntil: rotated.previousKeyValidUntil.toISOString(),
          graceSeconds: grace,
          notice: '新密钥只显示这一次；旧密钥在宽限期内仍然有效，之后将被拒绝。',
        }),
      );
    }),
  );

  // ---- channel configs and channels (商户信息配置化管理) -----------------------------------------------
  r.get(
    '/channel-configs',
    handler(async (_req, res) => {
      res.json(envelope({ items: (await op.listChannelConfigs(db, deps.secretBox)).map(v.channelConfigView) }));
    }),
  );

  r.get(
    '/channel-configs/:id',
    handler(async (req, res) => {
      const config = await op.getChannelConfig(db, deps.secretBox, intParam(req, 'id'));
      if (!config) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      res.json(envelope(v.channelConfigView(config)));
    }),
  );

  r.post(
    '/channel-configs',
    handler(async (req, res) => {
      const body = parse(s.channelConfigCreateSchema, req.body ?? {});
      const id = await createChannelConfig(db, deps.secretBox, body);
      await record(req, res, {
        action: 'channel_config.create',
        targetType: 'channel_config',
        targetId: id,
        detail: { channelType: body.channelType, name: body.name, mchId: body.mchId, providerAppId: body.providerAppId, gatewayUrl: body.gatewayUrl, secretFields: Object.keys(body.secrets).sort() },
      });
      res.json(envelope(v.channelConfigView((await op.getChannelConfig(db, deps.secretBox, id))!)));
    }),
  );

  r.patch(
    '/channel-configs/:id',
    handler(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.channelConfigPatchSchema, req.body ?? {});
      if (!(await op.channelConfigExists(db, id))) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      const { status, ...fields } = body;
      await updateChannelConfig(db, deps.secretBox, id, fields);
      if (status) await op.setChannelConfigStatus(db, id, status);
      const { secrets, ...plain } = body;
      await record(req, res, {
        action: 'channel_config.update',
        targetType: 'channel_config',
        targetId: id,
        detail: { ...plain, ...(secrets ? { secretsReplaced: true, secretFields: Object.keys(secrets).sort() } : {}) },
      });
      res.json(envelope(v.channelConfigView((await op.getChannelConfig(db, deps.secretBox, id))!)));
    }),
  );

  r.post(
    '/channel-configs/:id/channels',
    handler(async (req, res) => {
      const configId = intParam(req, 'id');
      const body = parse(s.channelCreateSchema, req.body ?? {});
      const config = await op.channelConfigExists(db, configId);
      if (!config) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      const exists = await db('channels').where({ config_id: configId, scene_code: body.sceneCode }).first('id');
      if (exists) throw new DomainError(ErrorCode.CONFLICT, `该配置已有 ${SCENE_NAMES[body.sceneCode as SceneCode]} 渠道 (id ${exists.id})`);
      const channelId = await createChannel(db, { configId, channelType: config.channel_type as 'ali-pay' | 'wx-pay', channelName: body.channelName, sceneCode: body.sceneCode, sort: body.sort });
      await record(req, res, { action: 'channel.create', targetType: 'channel', targetId: channelId, detail: { configId, ...body } });
      res.json(envelope(v.channelView((await op.findChannel(db, channelId))!)));
    }),
  );

  r.patch(
    '/channels/:id',
    handler(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.channelPatchSchema, req.body ?? {});
      if (!(await op.findChannel(db, id))) throw new DomainError(ErrorCode.NOT_FOUND, '渠道不存在');
      await op.updateChannel(db, id, body);
      await record(req, res, { action: 'channel.update', targetType: 'channel', targetId: id, detail: body });
      res.json(envelope(v.channelView((await op.findChannel(db, id))!)));
    }),
  );

  // ---- binding applications ----------------------------------------------------------------------------
  r.get(
    '/bindings',
    handler(async (req, res) => {
      const f = parse(s.bindingListQuery, req.query);
      const { items, total } = await bindingsQ.listBindings(db, f);
      res.json(envelope({ items: items.map((b) => v.bindingView(b, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  const decide = (decision: 'APPROVED' | 'REJECTED') =>
    handler(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.noteSchema, req.body ?? {});
      const p = principal(res);
      const { row, status } = await deps.bindings.decide(id, decision, p.username, body.note || null);
      await record(req, res, {
        action: decision === 'APPROVED' ? 'binding.approve' : 'binding.reject',
        targetType: 'binding',
        targetId: `${row.app_id}:${row.channel_id}`,
        detail: { bindingId: id, appId: row.app_id, channelId: row.channel_id, note: body.note ?? null, recordedStatus: status },
      });
      res.json(envelope({ id, appId: row.app_id, channelId: row.channel_id, status, workflowId: row.workflow_id ?? null }));
    });
  r.post('/bindings/:id/approve', decide('APPROVED'));
  r.post('/bindings/:id/reject', decide('REJECTED'));

  // ---- orders ------------------------------------------------------------------------------------------
  r.get(
    '/orders',
    handler(async (req, res) => {
      const f = parse(s.orderSearchQuery, req.query);
      const { items, total } = await op.searchOrders(db, f);
      res.json(envelope({ items: items.map((o) => v.orderListView(o, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/orders/:id',
    handler(async (req, res) => {
      const order = await findOrderById(db, intParam(req, 'id'));
      if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      const [attempts, app] = await Promise.all([listNotifyAttempts(db, order.id), op.getApp(db, order.app_id)]);
      const handle = temporal.workflow.getHandle(paymentWorkflowId(order.app_id, order.out_trade_no));
      const description = await within(
        handle.describe().then((d) => ({ status: d.status.name as string, startTime: d.startTime, closeTime: d.closeTime ?? null })),
        3000,
        null,
      );
      const live = description?.status === 'RUNNING' ? await within<PaymentState | null>(handle.query(stateQuery), 3000, null) : null;
      res.json(envelope(v.orderDetailView(order, app, attempts, description, live, settings)));
    }),
  );

  r.post(
    '/orders/:id/renotify',
    handler(async (req, res) => {
      const order = await findOrderById(db, intParam(req, 'id'));
      if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      if (!isFinal(order.status as OrderStatus)) throw new DomainError(ErrorCode.CONFLICT, '订单尚无支付结果，无需通知');
      if (!order.notify_url) throw new DomainError(ErrorCode.CONFLICT, '订单没有通知地址');
      const { workflowId, mode } = await renotifyOrder({ db, temporal, taskQueue: settings.taskQueue }, order);
      await record(req, res, { action: 'order.renotify', targetType: 'order', targetId: order.id, detail: { appId: order.app_id, outTradeNo: order.out_trade_no, workflowId } });
      res.json(envelope({ id: order.id, workflowId, signalled: mode === 'signal' }));
    }),
  );

  // ---- audit log -----------------------------------------------------------------------------------------
  r.get(
    '/audit',
    handler(async (req, res) => {
      const f = parse(s.auditListQuery, req.query);
      const { items, total } = await audit.listAudit(db, f);
      res.json(envelope({ items: items.map(v.auditView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.use((_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  return r;
}
