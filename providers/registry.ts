import type { ChannelType, PaymentProvider, SceneCode } from './types';

/**
 * The providers a process can talk to, by channel type: the one list of channel types and of the scenes
 * each offers. Adding a wallet = one folder under providers/ + one entry in providers/index.ts.
 */
export interface ProviderRegistry {
  get(channelType: ChannelType): PaymentProvider;
  has(channelType: string): boolean;
  channelTypes(): ChannelType[];
  /** Whether `channelType` is registered and offers `sceneCode`. */
  offers(channelType: string, sceneCode: string): sceneCode is SceneCode;
}

export function createProviderRegistry(providers: PaymentProvider[]): ProviderRegistry {
  const byType = new Map(providers.map((p) => [p.channelType, p]));
  return {
    get(channelType) {
      const p = byType.get(channelType);
      if (!p) throw new Error(`no provider registered for channel type ${channelType}`);
      return p;
    },
    has: (channelType) => byType.has(channelType),
    channelTypes: () => [...byType.keys()],
    offers: (channelType, sceneCode): sceneCode is SceneCode => (byType.get(channelType)?.scenes as readonly string[] | undefined)?.includes(sceneCode) ?? false,
  };
}
