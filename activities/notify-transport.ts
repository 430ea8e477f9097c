/**
 * The HTTP transport of merchant notifications, built so a notify URL cannot reach the gateway's own network:
 * the host is resolved once, every address it resolves to is checked (domain/network-address.ts) unless
 * private destinations are allowed (development), and the connection goes to a checked address — the socket's
 * lookup returns what was checked, so a second DNS answer (DNS rebinding) never gets a say. Redirects are
 * never followed (node:http does not), each request gets its own connection (no pooled socket from an
 * earlier check), and at most `maxResponseBytes` of the answer are read.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isLocalHostName, nonPublicAddressReason, parseIpAddress } from '../domain/network-address';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to; the transport's only DNS lookup per request. Tests inject their own. */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolveHost: ResolveHost = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface DestinationPolicy {
  /** Development and tests: loopback/private destinations are allowed (ALLOW_PRIVATE_NOTIFY_URLS). */
  allowPrivate: boolean;
  resolveHost: ResolveHost;
}

/** A destination the policy refuses; the attempt fails with this message and the schedule goes on. */
export class RefusedDestinationError extends Error {
  readonly code = 'DESTINATION_REFUSED';
  override name = 'RefusedDestinationError';
}

/** A host name that did not resolve. */
export class ResolveError extends Error {
  override name = 'ResolveError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The addresses a request to this URL may connect to. A name is refused when any of its addresses is not
 * public: a mixed answer is how rebinding tricks hide a private address behind a public one.
 */
export async function checkedAddresses(url: URL, policy: DestinationPolicy): Promise<ResolvedAddress[]> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = parseIpAddress(host);
  if (!policy.allowPrivate && isLocalHostName(host)) throw new RefusedDestinationError(`notify host ${host} is local by name; notify URLs must reach a public address`);
  let addresses: ResolvedAddress[];
  if (literal) {
    addresses = [{ address: host, family: literal.family }];
  } else {
    try {
      addresses = await policy.resolveHost(host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ResolveError(e.code ?? 'EAI_FAIL', `DNS lookup of ${host} failed: ${e.message}`);
    }
    if (!addresses.length) throw new ResolveError('ENOTFOUND', `DNS lookup of ${host} returned no address`);
  }
  if (!policy.allowPrivate) {
    for (const a of addresses) {
      const reason = nonPublicAddressReason(a.address);
      if (reason) throw new RefusedDestinationError(`notify host ${host}${literal ? '' : ` resolves to ${a.address}`}: ${reason}; notify URLs must reach a public address`);
    }
  }
  return addresses;
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Answers the socket's lookup with the checked addresses only (both the single and the `all` form Node uses). */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, addresses[0].address, addresses[0].family);
  };
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  maxResponseBytes: number;
  policy: DestinationPolicy;
}

/** POSTs `body` to a checked address of `url`; resolves with the status and at most maxResponseBytes of the answer. */
export async function postToCheckedAddress(url: URL, opts: PostOptions): Promise<{ status: number; text: string }> {
  // getaddrinfo cannot be aborted: race it, so a slow resolver still ends the attempt at its timeout.
  const addresses = await untilAborted(checkedAddresses(url, opts.policy), opts.signal);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) },
        lookup: pinnedLookup(addresses),
        agent: false,
        signal: opts.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => settle(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = opts.maxResponseBytes - size;
          chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk);
          size += Math.min(chunk.byteLength, room);
          if (size >= opts.maxResponseBytes) {
            // Enough to judge the answer: stop reading and drop the connection instead of draining a flood.
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', (err) => settle(() => reject(err)));
        res.on('close', () => settle(() => reject(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' }))));
      },
    );
    req.on('error', (err) => settle(() => reject(err)));
    req.end(opts.body);
  });
}
