/**
 * Random faults for load tests (`npm run test:faults`): a share of the server API calls answered with the
 * provider's 5xx without being processed, and a share of payment notifications never sent (as if lost on the
 * network). Off (both rates 0) unless a test sets it through the control API (POST /__sim/chaos) or the handle.
 */
export interface SandboxChaosSettings {
  /** Share (0…1) of authenticated server API calls answered 5xx before anything is processed. */
  http5xxRate: number;
  /** Share (0…1) of payment notifications dropped: recorded as lost, never delivered, never retried. */
  callbackDropRate: number;
}

export const NO_CHAOS: SandboxChaosSettings = { http5xxRate: 0, callbackDropRate: 0 };

export class SandboxChaos {
  private settings: SandboxChaosSettings = { ...NO_CHAOS };
  /** What the chaos did so far, so a test can tell that its faults really happened. */
  readonly counts = { http5xx: 0, callbacksDropped: 0 };

  constructor(private readonly random: () => number = Math.random) {}

  get(): SandboxChaosSettings & { counts: { http5xx: number; callbacksDropped: number } } {
    return { ...this.settings, counts: { ...this.counts } };
  }

  /** Replaces the given rates (others keep their value); throws a 400 SimError for a rate outside 0…1. */
  set(s: Partial<SandboxChaosSettings>): SandboxChaosSettings {
    const next = { ...this.settings };
    for (const key of ['http5xxRate', 'callbackDropRate'] as const) {
      const v = s[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new ChaosError(`${key} must be a number from 0 to 1`);
      next[key] = v;
    }
    this.settings = next;
    return { ...next };
  }

  /** Whether this server API call fails with a 5xx (counted when it does). */
  fail5xx(): boolean {
    if (this.settings.http5xxRate <= 0 || this.random() >= this.settings.http5xxRate) return false;
    this.counts.http5xx++;
    return true;
  }

  /** Whether this payment notification is dropped (counted when it is). */
  dropCallback(): boolean {
    if (this.settings.callbackDropRate <= 0 || this.random() >= this.settings.callbackDropRate) return false;
    this.counts.callbacksDropped++;
    return true;
  }
}

/** A bad chaos setting: each sandbox's control API answers it with HTTP 400. */
export class ChaosError extends Error {}
