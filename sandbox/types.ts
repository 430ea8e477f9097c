/**
 * Common shape of the local provider sandboxes (protocol-faithful stand-ins for Alipay and WeChat Pay).
 * They listen on 127.0.0.1 only, verify the real SDKs' signatures and send real signed notifications.
 */
import type { ChannelCredentials } from '../providers/types';

export type NotifyMode = 'normal' | 'lost' | 'duplicate' | 'tampered' | 'delayed';

export interface SandboxHandle {
  /** Base URL, e.g. http://127.0.0.1:43121 — the channel config's gatewayUrl. */
  readonly url: string;
  /**
   * Creates a merchant account at the sandbox (generates its keys the way the real onboarding hands them
   * out) and returns the credentials a channel config needs.
   */
  createMerchant(opts?: { mchId?: string; providerAppId?: string }): Promise<ChannelCredentials>;
  close(): Promise<void>;
}
