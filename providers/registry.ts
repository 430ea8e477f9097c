import type { ChannelType, PaymentProvider } from './types';

/** The providers a process can talk to, by channel type. Adding a wallet = one folder + one entry here. */
export interface ProviderRegistry {
  get(channelType: ChannelType): PaymentProvider;
}

export function createProviderRegistry(providers: PaymentProvider[]): ProviderRegistry {
  const byType = new Map(providers.map((p) => [p.channelType, p]));
  return {
    get(channelType) {
      const p = byType.get(channelType);
      if (!p) throw new Error(`no provider registered for channel type ${channelType}`);
      return p;
    },
  };
}
