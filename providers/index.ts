import { createAlipayProvider } from './alipay';
import { createProviderRegistry, type ProviderRegistry } from './registry';
import { createWechatProvider } from './wechat';

/** Every wallet this build supports. */
export function createDefaultProviders(): ProviderRegistry {
  return createProviderRegistry([createAlipayProvider(), createWechatProvider()]);
}
