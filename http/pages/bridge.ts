/**
 * WeixinJSBridge for the JSAPI scene. Inside WeChat the bridge is provided by the in-app browser and the page
 * loads nothing. For development and tests only, the page loads the WeChat sandbox's stand-in
 * (`<sandbox>/jsbridge.js`) — never in production:
 *  - config.env === 'production' → never;
 *  - an explicit `config.jsBridgeUrl` (if the composition root passes one) → that URL;
 *  - otherwise only when the order's WeChat channel is configured against a loopback gateway, i.e. the local
 *    sandbox (a real WeChat Pay gateway is never on 127.0.0.1, so production data cannot turn this on).
 */
import type { Config } from '../../config';
import type { GatewayInfo } from '../../db/queries/channel-configs';
import { httpOrigin, isLoopbackUrl } from './security';

export function devJsBridgeUrl(config: { env?: Config['env']; jsBridgeUrl?: string }, gateways: readonly GatewayInfo[]): string | null {
  if (config.env === 'production') return null;
  const explicit = config.jsBridgeUrl;
  if (explicit && httpOrigin(explicit)) return explicit;
  const sandbox = gateways.find((g) => g.channelType === 'wx-pay' && isLoopbackUrl(g.gatewayUrl));
  const origin = sandbox ? httpOrigin(sandbox.gatewayUrl) : null;
  return origin ? `${origin}/jsbridge.js` : null;
}
