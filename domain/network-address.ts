/**
 * Which network addresses a merchant notification may be sent to. Outside development the gateway posts only
 * to public unicast addresses: a notify URL (or the DNS name in it) must not turn the worker against its own
 * network — loopback, private ranges, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast and
 * the IPv6 forms that smuggle an IPv4 address in. Pure: the notify activity resolves names and asks here;
 * the merchant API's URL validation asks here for literal hosts.
 */

export interface ParsedAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
}

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;

/** A dotted-quad IPv4 address in its canonical decimal form (what resolvers and the URL parser produce). */
function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** IPv6 text: `::` compression, an embedded dotted-quad tail, surrounding brackets and a zone index (`%eth0`). */
function parseIPv6(text: string): number[] | null {
  const s = text.replace(/%[^%]*$/, '');
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0].includes('.')) return null;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    words = [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** An IP literal (IPv4 dotted quad, or IPv6 with or without brackets), or null for anything else (a name). */
export function parseIpAddress(text: string): ParsedAddress | null {
  const t = text.trim().replace(/^\[(.*)\]$/, '$1');
  const v4 = parseIPv4(t);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = t.includes(':') ? parseIPv6(t) : null;
  return v6 ? { family: 6, bytes: v6 } : null;
}

function ipv4Reason([a, b, c, d]: number[]): string | null {
  if (a === 0) return 'this-network (0.0.0.0/8)';
  if (a === 10) return 'private (10.0.0.0/8)';
  if (a === 100 && b >= 64 && b <= 127) return 'shared CGNAT (100.64.0.0/10)';
  if (a === 127) return 'loopback (127.0.0.0/8)';
  if (a === 169 && b === 254) return c === 169 && d === 254 ? 'cloud metadata (169.254.169.254)' : 'link-local (169.254.0.0/16)';
  if (a === 172 && b >= 16 && b <= 31) return 'private (172.16.0.0/12)';
  if (a === 192 && b === 0 && c === 0) return 'IETF protocol assignments (192.0.0.0/24)';
  if (a === 192 && b === 0 && c === 2) return 'documentation (192.0.2.0/24)';
  if (a === 192 && b === 88 && c === 99) return '6to4 relay anycast (192.88.99.0/24)';
  if (a === 192 && b === 168) return 'private (192.168.0.0/16)';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking (198.18.0.0/15)';
  if (a === 198 && b === 51 && c === 100) return 'documentation (198.51.100.0/24)';
  if (a === 203 && b === 0 && c === 113) return 'documentation (203.0.113.0/24)';
  if (a >= 224 && a <= 239) return 'multicast (224.0.0.0/4)';
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast (255.255.255.255)';
  if (a >= 240) return 'reserved (240.0.0.0/4)';
  return null;
}

const startsWith = (bytes: number[], prefix: number[]) => prefix.every((p, i) => bytes[i] === p);

function ipv6Reason(b: number[]): string | null {
  const word = (i: number) => (b[2 * i] << 8) | b[2 * i + 1];
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const embedded = (at: number) => b.slice(at, at + 4);
  const v4text = (at: number) => embedded(at).join('.');
  if (zeros(0, 16)) return 'unspecified (::)';
  if (zeros(0, 15) && b[15] === 1) return 'loopback (::1)';
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) {
    // Refused whatever it embeds: a DNS answer never needs the mapped form, and sockets treat it as the IPv4 address.
    const inner = ipv4Reason(embedded(12));
    return `IPv4-mapped (::ffff:${v4text(12)}${inner ? `, ${inner}` : ''})`;
  }
  if (zeros(0, 8) && word(4) === 0xffff && word(5) === 0) return `IPv4-translated (::ffff:0:${v4text(12)})`;
  if (zeros(0, 12)) return `IPv4-compatible, deprecated (::${v4text(12)})`;
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b]) && zeros(4, 12)) {
    // NAT64 (RFC 6052): reaches the embedded IPv4 address, so that address decides.
    const inner = ipv4Reason(embedded(12));
    return inner ? `NAT64 of ${inner}` : null;
  }
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) return 'NAT64 local-use (64:ff9b:1::/48)';
  if (startsWith(b, [0x01, 0x00]) && zeros(2, 8)) return 'discard-only (100::/64)';
  if (startsWith(b, [0x20, 0x01, 0x0d, 0xb8])) return 'documentation (2001:db8::/32)';
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] < 0x02) return 'IETF protocol assignments, incl. Teredo (2001::/23)';
  if (b[0] === 0x20 && b[1] === 0x02) {
    // 6to4 (RFC 3056): the embedded IPv4 address is where the packets end up.
    const inner = ipv4Reason(embedded(2));
    return inner ? `6to4 of ${inner}` : null;
  }
  if (b[0] === 0x3f && b[1] === 0xff && b[2] < 0x10) return 'documentation (3fff::/20)';
  if ((b[0] & 0xfe) === 0xfc) return 'unique-local (fc00::/7)';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local (fe80::/10)';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 'site-local, deprecated (fec0::/10)';
  if (b[0] === 0xff) return 'multicast (ff00::/8)';
  // Only 2000::/3 is allocated as global unicast; everything else is reserved.
  if ((b[0] & 0xe0) !== 0x20) return 'reserved (outside 2000::/3)';
  return null;
}

/**
 * Why a notification must not be sent to this address (a short, loggable reason naming the range), or null
 * for a public unicast address. Text that is not an IP literal is refused as such.
 */
export function nonPublicAddressReason(address: string): string | null {
  const parsed = parseIpAddress(address);
  if (!parsed) return 'not an IP address';
  return parsed.family === 4 ? ipv4Reason(parsed.bytes) : ipv6Reason(parsed.bytes);
}

export function isPublicAddress(address: string): boolean {
  return nonPublicAddressReason(address) === null;
}

/** Names that are local by definition (RFC 6761 localhost, mDNS .local, .internal), whatever DNS says. */
export function isLocalHostName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal');
}

/**
 * A URL host (name or literal, IPv6 in brackets) that a notify URL may not name outside development. Names
 * pass here unless local by definition: what they resolve to is checked when the notification is sent.
 */
export function isPrivateHost(hostname: string): boolean {
  if (isLocalHostName(hostname)) return true;
  const literal = parseIpAddress(hostname);
  return literal !== null && nonPublicAddressReason(hostname) !== null;
}
