/**
 * The administrator JSON API, `/api/cashier-desk-admin/*`, used by the console. Every route needs an
 * administrator session; every state-changing one also the session's CSRF token and a same-origin Origin.
 * Handlers parse, call the operator use-cases (app/operator.ts, which writes the audit log) and answer.
 */
import express, { Router, type Request, type Response } from 'express';
import type { Actor, OperatorService } from '../../app/operator';
import { DomainError, ErrorCode } from '../../domain/errors';
import { clientIp, envelope, route } from '../envelope';
import { storableTextReviver } from '../strict-json';
import { rateLimit, type RateLimiter } from '../rate-limit';
import { parse } from '../validation';
import { principal, type Auth } from './auth';
import * as s from './schemas';
import type { AdminSettings } from './settings';
import * as v from './views';

export interface AdminApiDeps {
  operator: OperatorService;
  /** The wallets a channel config may be created for (the provider registry's channel types). */
  channelTypes: readonly string[];
  settings: AdminSettings;
  auth: Auth;
  limiter: RateLimiter;
}

function intParam(req: Request, name: string): number {
  const raw = String(req.params[name] ?? '');
  if (!s.idPathParam.safeParse(raw).success) throw new DomainError(ErrorCode.NOT_FOUND, '资源不存在');
  return Number(raw);
}

function appIdParam(req: Request): string {
  const raw = String(req.params.appId ?? '');
  if (!s.appIdPathParam.safeParse(raw).success) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
  return raw;
}

export function adminApiRouter(deps: AdminApiDeps): Router {
  const { operator, settings, auth } = deps;
  const r = Router();
  const appPatch = s.appPatchSchema(settings.allowPrivateUrls);
  const channelConfigCreate = s.channelConfigCreateSchema(deps.channelTypes);

  // API responses are data, never documents.
  r.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    next();
  });
  r.use(auth.guard);
  r.use(rateLimit({ limiter: deps.limiter, key: (req) => clientIp(req) }));
  r.use(express.json({ limit: settings.maxBodyBytes, type: ['application/json', 'application/*+json'], reviver: storableTextReviver }));
  // State changes carry JSON (or nothing): a cross-site form could only send form encodings or text/plain.
  r.use((req, _res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && hasBody && !req.is(['application/json', 'application/*+json'])) {
      return next(new DomainError(ErrorCode.VALIDATION, 'Content-Type 必须为 application/json'));
    }
    next();
  });

  const actor = (req: Request, res: Response): Actor => ({ username: principal(res).username, ip: clientIp(req) });

  // ---- session -------------------------------------------------------------------------------------
  r.post(
    '/login',
    route(async (req, res) => {
      const body = parse(s.loginSchema, req.body ?? {});
      const p = await auth.login(req, res, body.username, body.password);
      res.json(envelope(v.sessionView(p, settings)));
    }),
  );

  r.use(auth.requireAdmin);

  r.get(
    '/session',
    route(async (_req, res) => {
      res.json(envelope(v.sessionView(principal(res), settings)));
    }),
  );

  r.post(
    '/logout',
    route(async (req, res) => {
      await auth.logout(req, res, principal(res));
      res.json(envelope());
    }),
  );

  r.get(
    '/overview',
    route(async (_req, res) => {
      res.json(envelope(await operator.overview()));
    }),
  );

  // ---- apps (应用信息注册表管理) ----------------------------------------------------------------------
  r.get(
    '/apps',
    route(async (req, res) => {
      const f = parse(s.appListQuery, req.query);
      const { items, total } = await operator.listApps(f);
      res.json(envelope({ items: items.map(v.appView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/apps/:appId',
    route(async (req, res) => {
      const { app, bindings } = await operator.appDetail(appIdParam(req));
      res.json(envelope({ ...v.appView(app), bindings: bindings.map((b) => v.bindingView(b, settings)) }));
    }),
  );

  const statusChange = (change: 'approve' | 'disable') =>
    route(async (req, res) => {
      res.json(envelope(v.appView(await operator.changeAppStatus(actor(req, res), appIdParam(req), change))));
    });
  r.post('/apps/:appId/approve', statusChange('approve'));
  r.post('/apps/:appId/disable', statusChange('disable'));

  r.patch(
    '/apps/:appId',
    route(async (req, res) => {
      const appId = appIdParam(req);
      const body = parse(appPatch, req.body ?? {});
      res.json(envelope(v.appView(await operator.updateApp(actor(req, res), appId, body))));
    }),
  );

  r.post(
    '/apps/:appId/rotate-key',
    route(async (req, res) => {
      const appId = appIdParam(req);
      const body = parse(s.rotateKeySchema, req.body ?? {});
      const rotated = await operator.rotateAppKey(actor(req, res), appId, body.graceSeconds);
      res.json(
        envelope({
          appId,
          appKey: rotated.appKey,
          previousKeyValidUntil: rotated.previousKeyValidUntil.toISOString(),
          graceSeconds: rotated.graceSeconds,
          notice: '新密钥只显示这一次；旧密钥在宽限期内仍然有效，之后将被拒绝。',
        }),
      );
    }),
  );

  // ---- channel configs and channels (商户信息配置化管理) -----------------------------------------------
  r.get(
    '/channel-configs',
    route(async (_req, res) => {
      res.json(envelope({ items: (await operator.listChannelConfigs()).map(v.channelConfigView) }));
    }),
  );

  r.get(
    '/channel-configs/:id',
    route(async (req, res) => {
      res.json(envelope(v.channelConfigView(await operator.getChannelConfig(intParam(req, 'id')))));
    }),
  );

  r.post(
    '/channel-configs',
    route(async (req, res) => {
      const body = parse(channelConfigCreate, req.body ?? {});
      res.json(envelope(v.channelConfigView(await operator.createChannelConfig(actor(req, res), body))));
    }),
  );

  r.patch(
    '/channel-configs/:id',
    route(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.channelConfigPatchSchema, req.body ?? {});
      res.json(envelope(v.channelConfigView(await operator.updateChannelConfig(actor(req, res), id, body))));
    }),
  );

  r.post(
    '/channel-configs/:id/channels',
    route(async (req, res) => {
      const configId = intParam(req, 'id');
      const body = parse(s.channelCreateSchema, req.body ?? {});
      res.json(envelope(v.channelView(await operator.createChannel(actor(req, res), configId, body))));
    }),
  );

  r.patch(
    '/channels/:id',
    route(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.channelPatchSchema, req.body ?? {});
      res.json(envelope(v.channelView(await operator.updateChannel(actor(req, res), id, body))));
    }),
  );

  // ---- binding applications ----------------------------------------------------------------------------
  r.get(
    '/bindings',
    route(async (req, res) => {
      const f = parse(s.bindingListQuery, req.query);
      const { items, total } = await operator.listBindings(f);
      res.json(envelope({ items: items.map((b) => v.bindingView(b, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  const decide = (decision: 'APPROVED' | 'REJECTED') =>
    route(async (req, res) => {
      const id = intParam(req, 'id');
      const body = parse(s.noteSchema, req.body ?? {});
      const { row, status } = await operator.decideBinding(actor(req, res), id, decision, body.note ?? null);
      res.json(envelope({ id, appId: row.app_id, channelId: row.channel_id, status, workflowId: row.workflow_id ?? null }));
    });
  r.post('/bindings/:id/approve', decide('APPROVED'));
  r.post('/bindings/:id/reject', decide('REJECTED'));

  // ---- orders ------------------------------------------------------------------------------------------
  r.get(
    '/orders',
    route(async (req, res) => {
      const f = parse(s.orderSearchQuery, req.query);
      const { items, total } = await operator.searchOrders(f);
      res.json(envelope({ items: items.map((o) => v.orderListView(o, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/orders/:id',
    route(async (req, res) => {
      res.json(envelope(v.orderDetailView(await operator.orderDetail(intParam(req, 'id')), settings)));
    }),
  );

  r.post(
    '/orders/:id/renotify',
    route(async (req, res) => {
      res.json(envelope(await operator.renotify(actor(req, res), intParam(req, 'id'))));
    }),
  );

  r.post(
    '/orders/:id/refunds',
    route(async (req, res) => {
      res.json(envelope(await operator.refundOrder(actor(req, res), intParam(req, 'id'), parse(s.adminRefundSchema, req.body ?? {}))));
    }),
  );

  // ---- refunds and payment exceptions ----------------------------------------------------------------------
  r.get(
    '/refunds',
    route(async (req, res) => {
      const f = parse(s.refundListQuery, req.query);
      const { items, total } = await operator.listRefunds(f);
      res.json(envelope({ items: items.map((x) => v.refundListView(x, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/refunds/:id',
    route(async (req, res) => {
      res.json(envelope(v.refundDetailView(await operator.refundDetail(intParam(req, 'id')), settings)));
    }),
  );

  r.get(
    '/payment-exceptions',
    route(async (req, res) => {
      const f = parse(s.exceptionListQuery, req.query);
      const { items, total } = await operator.listPaymentExceptions(f);
      res.json(envelope({ items: items.map(v.paymentExceptionView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.post(
    '/payment-exceptions/:id/refund',
    route(async (req, res) => {
      res.json(envelope(await operator.refundPaymentException(actor(req, res), intParam(req, 'id'))));
    }),
  );

  // ---- transfers -----------------------------------------------------------------------------------------
  r.get(
    '/transfers',
    route(async (req, res) => {
      const f = parse(s.transferListQuery, req.query);
      const { items, total } = await operator.listTransfers(f);
      res.json(envelope({ items: items.map((t) => ({ ...v.transferView(t, settings), appName: t.app_name })), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/transfers/:id',
    route(async (req, res) => {
      res.json(envelope(v.transferDetailView(await operator.transferDetail(intParam(req, 'id')), settings)));
    }),
  );

  for (const [path, approve] of [['approve', true], ['reject', false]] as const) {
    r.post(
      `/transfers/:id/${path}`,
      route(async (req, res) => {
        const body = parse(s.transferDecisionSchema, req.body ?? {});
        res.json(envelope(await operator.decideTransfer(actor(req, res), intParam(req, 'id'), approve, body.note ?? null)));
      }),
    );
  }

  r.get(
    '/apps/:appId/transfer-settings',
    route(async (req, res) => {
      res.json(envelope(await operator.transferSettings(appIdParam(req))));
    }),
  );

  r.put(
    '/apps/:appId/transfer-settings',
    route(async (req, res) => {
      res.json(envelope(await operator.saveTransferSettings(actor(req, res), appIdParam(req), parse(s.transferSettingsSchema, req.body ?? {}))));
    }),
  );

  // ---- reconciliation, statistics, exports --------------------------------------------------------------
  r.get(
    '/reconciliations',
    route(async (req, res) => {
      const f = parse(s.reconciliationRunQuery, req.query);
      const { items, total } = await operator.reconciliationRuns(f);
      res.json(envelope({ items: items.map((x) => v.reconciliationRunView(x, settings)), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.get(
    '/reconciliations/discrepancies',
    route(async (req, res) => {
      const f = parse(s.discrepancyQuery, req.query);
      const { items, total } = await operator.discrepancies(f);
      res.json(envelope({ items: items.map(v.discrepancyView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.post(
    '/reconciliations',
    route(async (req, res) => {
      const body = parse(s.reconciliationRunSchema, req.body ?? {});
      const { workflowId } = await operator.runReconciliation(actor(req, res), body.day, body.configId);
      res.json(envelope({ workflowId, workflowUrl: v.workflowUrl(settings, workflowId) }));
    }),
  );

  r.get(
    '/statistics',
    route(async (req, res) => {
      const f = parse(s.statisticsQuery, req.query);
      const range = v.statisticsRange(f.from, f.to);
      const days = await operator.statistics({ from: range.start, to: range.end, appId: f.appId, channelType: f.channelType, sceneCode: f.sceneCode });
      res.json(envelope(v.statisticsView(range.days, days)));
    }),
  );

  for (const what of ['orders', 'refunds'] as const) {
    r.get(
      `/exports/${what}.csv`,
      route(async (req, res) => {
        const f = parse(s.exportQuery, req.query);
        const range = v.statisticsRange(f.from, f.to);
        const { total, columns, pages } = await operator.exportRows(actor(req, res), what, { from: range.start, to: range.end, appId: f.appId });
        res.status(200).set({
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${what}-${f.from}-${f.to}.csv"`,
          'x-total-rows': String(total),
          'cache-control': 'no-store',
        });
        await v.streamCsv(res, columns, pages);
      }),
    );
  }

  // ---- audit log -----------------------------------------------------------------------------------------
  r.get(
    '/audit',
    route(async (req, res) => {
      const f = parse(s.auditListQuery, req.query);
      const { items, total } = await operator.listAudit(f);
      res.json(envelope({ items: items.map(v.auditView), total, page: f.page, pageSize: f.pageSize }));
    }),
  );

  r.use((_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  return r;
}
