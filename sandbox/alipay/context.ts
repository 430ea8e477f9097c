/** What the sandbox's request handlers and trade operations share, passed to them explicitly. */
import type { SandboxChaos } from '../chaos';
import type { Notifier } from './notify';
import type { AlipayState, BillUrlStore, FaultQueue } from './state';

export interface AlipayContext {
  readonly state: AlipayState;
  readonly notifier: Notifier;
  readonly faults: FaultQueue;
  /** Random 5xx answers and dropped notifications for load tests; off by default. */
  readonly chaos: SandboxChaos;
  /** Base URL as seen by browsers: prefix of QR codes, cashier pages and the gatewayUrl handed out. */
  readonly baseUrl: string;
  /** Signed server API calls whose timestamp differs more than this from now are refused. */
  readonly maxSkewMs: number;
  /** The bill_download_url tokens handed out and still valid (in memory only: they live seconds). */
  readonly billUrls: BillUrlStore;
}
