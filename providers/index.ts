import type { Metrics } from '../observability/metrics';
import { createAlipayProvider } from './alipay';
import { createProviderRegistry, type ProviderRegistry } from './registry';
import { createWechatProvider } from './wechat';

/** Every wallet this build supports, counted and traced at the registry (providers/registry.ts). */
export function createDefaultProviders(opts: { metrics?: Metrics } = {}): ProviderRegistry {
  return createProviderRegistry([createAlipayProvider(), createWechatProvider()], opts);
}
