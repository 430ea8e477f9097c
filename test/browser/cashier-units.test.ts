/**
 * Pure parts of the hosted cashier pages (no browser, no system): escaping, the CSP builder and the rule that
 * keeps the WeixinJSBridge stand-in out of production.
 */
import { devJsBridgeUrl } from '../../http/pages/bridge';
import { escapeHtml, html, raw } from '../../http/pages/html';
import { contentSecurityPolicy, formActionOrigins } from '../../http/pages/security';
import { formatRemaining } from '../../http/pages/views';

/** No NODE_ENV given: development rules apply. */
const config: { env?: 'development' | 'test' | 'production'; jsBridgeUrl?: string } = {};
const sandboxGateway = { configId: 1, channelType: 'wx-pay', gatewayUrl: 'http://127.0.0.1:43121' };
const realGateway = { configId: 2, channelType: 'wx-pay', gatewayUrl: 'https://api.mch.weixin.qq.com' };

test('html escapes every interpolated value, nested templates and raw markup pass through', () => {
  expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
  const inner = html`<b>${'<i>'}</b>`;
  expect(html`<p title="${'" onmouseover="x'}">${inner}${raw('<br>')}${null}${undefined}${false}${[1, '<2>']}</p>`.value).toBe(
    '<p title="&quot; onmouseover=&quot;x"><b>&lt;i&gt;</b><br>1&lt;2&gt;</p>',
  );
});

test('the WeixinJSBridge stand-in is loaded only from a loopback sandbox and never in production', () => {
  expect(devJsBridgeUrl({ ...config, env: 'development' }, [sandboxGateway])).toBe('http://127.0.0.1:43121/jsbridge.js');
  expect(devJsBridgeUrl({ ...config }, [sandboxGateway])).toBe('http://127.0.0.1:43121/jsbridge.js');
  expect(devJsBridgeUrl({ ...config, env: 'production' }, [sandboxGateway])).toBeNull();
  expect(devJsBridgeUrl({ ...config, env: 'development' }, [realGateway])).toBeNull();
  expect(devJsBridgeUrl({ ...config, env: 'test' }, [{ ...sandboxGateway, channelType: 'ali-pay' }])).toBeNull();
  const explicit = { ...config, env: 'test' as const, jsBridgeUrl: 'http://127.0.0.1:9999/jsbridge.js' };
  expect(devJsBridgeUrl(explicit, [])).toBe('http://127.0.0.1:9999/jsbridge.js');
  expect(devJsBridgeUrl({ ...explicit, env: 'production' }, [])).toBeNull();
});

test('CSP: self only, no inline, gateways in form-action, frame-ancestors none', () => {
  expect(contentSecurityPolicy()).toBe(
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  expect(formActionOrigins(['https://openapi.alipay.com/gateway.do', 'javascript:alert(1)', 'not a url', 'http://127.0.0.1:5000'])).toEqual([
    'https://openapi.alipay.com',
    'https://*.alipay.com',
    'http://127.0.0.1:5000',
  ]);
});

test('countdown format', () => {
  expect(formatRemaining(1_799_400)).toBe('29:59');
  expect(formatRemaining(5_400_000)).toBe('1:30:00');
  expect(formatRemaining(-5)).toBe('00:00');
});
