/**
 * Administrator authentication for the console and its JSON API:
 * - sessions in PostgreSQL: a random 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure, and the
 *   `__Host-` prefix, when the public base URL is https); only its SHA-256 is stored; idle and absolute expiry;
 * - CSRF: a synchronizer token per session, required in `X-CSRF-Token` on every state-changing request,
 *   plus an Origin (or Referer) check against our own origin;
 * - login throttling per username and per IP over a sliding window (PostgreSQL, so it holds across API
 *   instances), and a constant-time credential check;
 * - requests carrying merchant signature headers are refused: merchant keys never authorize admin routes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/connection';
import * as q from '../../db/queries/admin-sessions';
import { insertAudit } from '../../db/queries/audit-log';
import { DomainError, ErrorCode } from '../../domain/errors';
import { HEADER } from '../../signature';
import { clientIp } from '../envelope';
import { verifyPassword } from '../../security/password';
import type { AdminSettings } from './settings';

export interface AdminPrincipal {
  username: string;
  csrfToken: string;
  idHash: string;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
}

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Only refresh last_seen_at this often: idle expiry does not need a write per request. */
const TOUCH_EVERY_MS = 15_000;

export function principal(res: Response): AdminPrincipal {
  const p = res.locals.admin as AdminPrincipal | undefined;
  if (!p) throw new DomainError(ErrorCode.UNAUTHORIZED, '请先登录管理控制台');
  return p;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function constantTimeEqualText(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (!out.has(name)) out.set(name, part.slice(i + 1).trim());
  }
  return out;
}

function hasMerchantSignature(req: Request): boolean {
  return Object.values(HEADER).some((h) => req.headers[h] !== undefined);
}

export function createAuth(deps: { db: Db; settings: AdminSettings }) {
  const { db, settings } = deps;
  const cookieName = settings.secureCookies ? '__Host-cashier_admin' : 'cashier_admin';
  const allowedOrigins = new Set([settings.publicOrigin]);

  function originOk(req: Request): boolean {
    let origin = req.get('origin');
    if (!origin) {
      const referer = req.get('referer');
      if (referer) {
        try {
          origin = new URL(referer).origin;
        } catch {
          return false;
        }
      }
    }
    if (!origin || origin === 'null') return false;
    if (allowedOrigins.has(origin)) return true;
    // The origin the browser used to reach us (e.g. 127.0.0.1 vs localhost): a cross-site page cannot
    // make its own Origin equal to our Host.
    const host = req.get('host');
    return !!host && origin === `${req.protocol}://${host}`;
  }

  /** Refuses merchant credentials and cross-origin state changes before anything else is looked at. */
  const guard: RequestHandler = (req, _res, next) => {
    if (hasMerchantSignature(req)) return next(new DomainError(ErrorCode.FORBIDDEN, '管理接口不接受商户签名请求'));
    if (!SAFE_METHODS.has(req.method) && !originOk(req)) return next(new DomainError(ErrorCode.FORBIDDEN, '来源校验失败 (Origin)'));
    next();
  };

  async function load(req: Request): Promise<AdminPrincipal | null> {
    const raw = parseCookies(req.headers.cookie).get(cookieName);
    if (!raw || !/^[A-Za-z0-9_-]{43}$/.test(raw)) return null;
    const idHash = sha256hex(raw);
    const row = await q.findLiveSession(db, idHash, settings.sessionIdleSeconds);
    if (!row) return null;
    const now = new Date();
    if (now.getTime() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) await q.touchSession(db, idHash, now);
    return { username: row.username, csrfToken: row.csrf_token, idHash, createdAt: row.created_at, expiresAt: row.expires_at, lastSeenAt: now };
  }

  /** Session required; CSRF token required on state-changing methods. Sets res.locals.admin. */
  const requireAdmin: RequestHandler = (req, res, next) => {
    void (async () => {
      const p = await load(req);
      if (!p) throw new DomainError(ErrorCode.UNAUTHORIZED, '请先登录管理控制台');
      if (!SAFE_METHODS.has(req.method)) {
        const token = req.get(CSRF_HEADER);
        if (!token) throw new DomainError(ErrorCode.FORBIDDEN, '缺少 CSRF 令牌');
        if (!constantTimeEqualText(token, p.csrfToken)) throw new DomainError(ErrorCode.FORBIDDEN, 'CSRF 令牌无效');
      }
      res.locals.admin = p;
    })().then(() => next(), next);
  };

  function setCookie(res: Response, value: string, maxAgeMs: number) {
    res.cookie(cookieName, value, { httpOnly: true, sameSite: 'strict', secure: settings.secureCookies, path: '/', maxAge: maxAgeMs });
  }

  function tooMany(res: Response, oldest: Date | null): never {
    const retry = oldest ? Math.max(1, Math.ceil((oldest.getTime() + settings.loginWindowSeconds * 1000 - Date.now()) / 1000)) : settings.loginWindowSeconds;
    res.setHeader('Retry-After', String(retry));
    throw new DomainError(ErrorCode.RATE_LIMITED, `登录失败次数过多，请 ${Math.ceil(retry / 60)} 分钟后再试`);
  }

  /**
   * Checks the credential (throttled) and opens a session. Returns the principal; throws 4010 on a bad
   * credential and 4290 while the username or the IP is locked out.
   */
  async function login(req: Request, res: Response, username: string, password: string): Promise<AdminPrincipal> {
    const ip = clientIp(req);
    const who = username.trim().toLowerCase().slice(0, 64);
    const windowStart = new Date(Date.now() - settings.loginWindowSeconds * 1000);
    // The attempt is claimed (stored as a failure) before the counts are read: of N concurrent attempts the k-th
    // stored sees at least k, so a burst cannot slip more than the limit of password checks past a stale count.
    const claim = await q.recordLoginAttempt(db, { username: who, ip, success: false });
    const failures = await q.recentFailures(db, who, ip, windowStart);
    if (failures.byUser > settings.loginMaxFailures || failures.byIp > settings.loginMaxFailuresPerIp) {
      await q.deleteLoginAttempt(db, claim);
      tooMany(res, failures.byUser > settings.loginMaxFailures ? failures.oldestUser : failures.oldestIp);
    }

    // Both checks always run: the time taken does not reveal whether the username exists.
    const userOk = constantTimeEqualText(username.trim(), settings.credential.username);
    const passOk = await verifyPassword(password, settings.credential.passwordHash);
    if (!(userOk && passOk)) {
      await insertAudit(db, { actor: who || 'anonymous', action: 'admin.login', targetType: 'admin', targetId: who, ip, outcome: 'DENIED' });
      throw new DomainError(ErrorCode.UNAUTHORIZED, '用户名或密码错误');
    }
    await q.markLoginAttemptSucceeded(db, claim);
    await q.clearUserFailures(db, who);
    await q.purgeExpiredSessions(db, settings.sessionIdleSeconds);
    await q.purgeOldLoginAttempts(db, new Date(Date.now() - 7 * 86_400_000));

    // A new id at every login (no session fixation); an old session cookie of this browser is ended.
    const old = parseCookies(req.headers.cookie).get(cookieName);
    if (old) await q.deleteSession(db, sha256hex(old));
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + settings.sessionMaxSeconds * 1000);
    await q.insertSession(db, { idHash: sha256hex(id), username: settings.credential.username, csrfToken, ip, userAgent: req.get('user-agent') ?? null, expiresAt });
    setCookie(res, id, settings.sessionMaxSeconds * 1000);
    await insertAudit(db, { actor: settings.credential.username, action: 'admin.login', targetType: 'admin', targetId: settings.credential.username, ip });
    return { username: settings.credential.username, csrfToken, idHash: sha256hex(id), createdAt: now, expiresAt, lastSeenAt: now };
  }

  async function logout(req: Request, res: Response, p: AdminPrincipal): Promise<void> {
    await q.deleteSession(db, p.idHash);
    res.clearCookie(cookieName, { httpOnly: true, sameSite: 'strict', secure: settings.secureCookies, path: '/' });
    await insertAudit(db, { actor: p.username, action: 'admin.logout', targetType: 'admin', targetId: p.username, ip: clientIp(req) });
  }

  return { guard, requireAdmin, login, logout };
}

export type Auth = ReturnType<typeof createAuth>;
