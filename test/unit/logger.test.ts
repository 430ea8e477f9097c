/**
 * The logger (observability/logger.ts, pino underneath): secrets never reach the output, whatever their place;
 * the level is honoured; lines written while serving a request carry its id; the Temporal runtime adapter keeps
 * the project's workflow/activity lines at LOG_LEVEL and the SDK's own narration to warnings.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, type Level } from '../../observability/logger';
import { requestIdFrom, withRequestId } from '../../observability/request-context';
import { temporalRuntimeLogger } from '../../observability/temporal-logger';

const secret = () => `S3CRET-${randomBytes(6).toString('hex')}`;

function capture(level?: Level, base?: Record<string, unknown>) {
  const lines: string[] = [];
  const log = createLogger({ level, base, write: (l) => lines.push(l) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('one JSON line per call: time, level label, message, fields', () => {
  const { log, parsed, lines } = capture('info', { service: 'api' });
  log.info('api listening', { url: 'http://127.0.0.1:8080' });
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain('\n');
  expect(parsed()[0]).toMatchObject({ level: 'info', service: 'api', msg: 'api listening', url: 'http://127.0.0.1:8080' });
  expect(new Date(parsed()[0].time as string).toISOString()).toBe(parsed()[0].time);
});

test('a secret never appears in the output, wherever it is put', () => {
  const { log, lines, parsed } = capture('debug');
  const s = Array.from({ length: 16 }, secret);
  const child = log.child({ component: 'x', appKey: s[0], channel: { config: { apiV3Key: s[1] } } });
  child.info('app created', {
    appKey: s[2],
    app: { appId: '10123', appKey: s[3], keys: { current: s[4] } },
    channel: { config: { wechat: { privateKey: s[5], mchId: '1900000001' } } }, // deeper than pino's wildcards reach
    headers: { authorization: s[6], cookie: s[7], 'x-cashier-signature': s[8], 'user-agent': 'curl' },
    req: { headers: { authorization: `Bearer ${s[9]}`, 'set-cookie': [s[10]] } },
    password: s[11],
    admin: { passwordHash: s[12] },
    signature: s[13],
    list: [{ secret: s[14] }],
    masterKey: s[15],
  });
  log.error('failed', { error: new Error('boom'), sign: 'x'.repeat(3) });
  const out = lines.join('\n');
  for (const v of s) expect(out).not.toContain(v);
  expect(out).not.toContain('"xxx"');
  const [line, failed] = parsed();
  // What is not secret stays readable.
  expect(line).toMatchObject({ component: 'x', appKey: '[redacted]', app: { appId: '10123', appKey: '[redacted]', keys: '[redacted]' }, channel: { config: { wechat: { privateKey: '[redacted]', mchId: '1900000001' } } } });
  expect(line).toMatchObject({ headers: { authorization: '[redacted]', 'user-agent': 'curl' }, list: [{ secret: '[redacted]' }] });
  // Errors: name and message, never a stack.
  expect(failed).toMatchObject({ level: 'error', error: { name: 'Error', message: 'boom' } });
  expect(JSON.stringify(failed)).not.toContain('at ');
});

test('the level is honoured: info by default, debug and warn when configured', () => {
  const emitAll = (level?: Level) => {
    const c = capture(level);
    c.log.debug('d');
    c.log.info('i');
    c.log.warn('w');
    c.log.error('e');
    c.log.child({ component: 'c' }).debug('child d');
    return c.parsed().map((l) => l.msg);
  };
  expect(emitAll()).toEqual(['i', 'w', 'e']);
  expect(emitAll('debug')).toEqual(['d', 'i', 'w', 'e', 'child d']);
  expect(emitAll('warn')).toEqual(['w', 'e']);
  expect(emitAll('error')).toEqual(['e']);
});

test('lines logged while serving a request carry its id (also after awaits); others do not', async () => {
  const { log, parsed } = capture();
  log.info('outside');
  await withRequestId('req-0123456789', async () => {
    await new Promise((r) => setTimeout(r, 5));
    log.child({ component: 'api' }).info('inside');
  });
  expect(parsed()).toEqual([expect.not.objectContaining({ requestId: expect.anything() }), expect.objectContaining({ msg: 'inside', requestId: 'req-0123456789' })]);
});

test('X-Request-Id: a plausible one is kept, anything else replaced by a fresh UUID', () => {
  expect(requestIdFrom('req-0123456789')).toBe('req-0123456789');
  expect(requestIdFrom(['abcdefgh-1', 'x'])).toBe('abcdefgh-1');
  for (const bad of [undefined, '', 'short', 'has space in it', 'x'.repeat(129), '{"json":1}', 'line\nbreak-123']) {
    expect(requestIdFrom(bad)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  }
});

test('Temporal runtime logger: workflow/activity lines at LOG_LEVEL with their attributes, SDK narration only from warn', () => {
  const run = (level: Level) => {
    const c = capture(level);
    const t = temporalRuntimeLogger(c.log, level);
    t.info('order paid', { sdkComponent: 'workflow', workflowId: 'payment:1:2', requestId: 'req-0123456789' });
    t.info('merchant notification attempt', { sdkComponent: 'activity', activityType: 'notifyMerchant', appKey: 'k-secret' });
    t.debug('Activity completed', { sdkComponent: 'worker' });
    t.info('Workflow bundle created', { sdkComponent: 'worker' });
    t.warn('Worker state changed', { sdkComponent: 'worker' });
    t.trace('core detail', { sdkComponent: 'core' });
    return c.parsed();
  };
  const info = run('info');
  expect(info.map((l) => l.msg)).toEqual(['order paid', 'merchant notification attempt', 'Worker state changed']);
  expect(info[0]).toMatchObject({ level: 'info', sdkComponent: 'workflow', workflowId: 'payment:1:2', requestId: 'req-0123456789' });
  expect(info[1]).toMatchObject({ appKey: '[redacted]' });
  expect(run('debug').map((l) => l.msg)).toEqual(['order paid', 'merchant notification attempt', 'Activity completed', 'Workflow bundle created', 'Worker state changed', 'core detail']);
  expect(run('error').map((l) => l.msg)).toEqual([]);
});
