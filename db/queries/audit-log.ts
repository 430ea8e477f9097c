/** admin_audit_log: every administrator (and system) action. */
import type { Db } from '../connection';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType?: string | null;
  targetId?: string | number | null;
  ip?: string | null;
  outcome?: 'OK' | 'DENIED' | 'FAILED';
  /** Field names and non-secret values only. */
  detail?: Record<string, unknown> | null;
}

export async function insertAudit(db: Db, e: AuditEntry): Promise<void> {
  await db('admin_audit_log').insert({
    actor: e.actor.slice(0, 64),
    action: e.action.slice(0, 48),
    target_type: e.targetType ?? null,
    target_id: e.targetId === undefined || e.targetId === null ? null : String(e.targetId).slice(0, 128),
    ip: e.ip?.slice(0, 64) ?? null,
    outcome: e.outcome ?? 'OK',
    detail: e.detail ? JSON.stringify(e.detail) : null,
  });
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

export async function listAudit(
  db: Db,
  f: { action?: string; actor?: string; targetType?: string; targetId?: string; page: number; pageSize: number },
): Promise<{ items: AuditRow[]; total: number }> {
  const q = db<AuditRow>('admin_audit_log');
  if (f.action) q.where('action', 'like', `${f.action.replace(/[%_\\]/g, '\\$&')}%`);
  if (f.actor) q.where({ actor: f.actor });
  if (f.targetType) q.where({ target_type: f.targetType });
  if (f.targetId) q.where({ target_id: f.targetId });
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q.orderBy('id', 'desc').limit(f.pageSize).offset((f.page - 1) * f.pageSize)) as AuditRow[];
  return { items, total: Number(n) };
}
