/** domain/network-address.ts: the addresses a merchant notification may reach outside development. */
import { isLocalHostName, isPrivateHost, isPublicAddress, nonPublicAddressReason, parseIpAddress } from '../../domain/network-address';

describe('parseIpAddress', () => {
  test.each([
    ['1.2.3.4', 4, [1, 2, 3, 4]],
    ['::1', 6, [...Array(15).fill(0), 1]],
    ['[::1]', 6, [...Array(15).fill(0), 1]],
    ['::', 6, Array(16).fill(0)],
    ['fe80::1%eth0', 6, [0xfe, 0x80, ...Array(13).fill(0), 1]],
    ['::ffff:127.0.0.1', 6, [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]],
    ['0:0:0:0:0:ffff:7f00:1', 6, [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', 6, [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]],
  ])('%s', (text, family, bytes) => {
    expect(parseIpAddress(text)).toEqual({ family, bytes });
  });

  test.each(['example.com', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '0x7f.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '1.2.3.4::', '::1.2.3', '', '12345::'])('not an IP literal: %s', (text) => {
    expect(parseIpAddress(text)).toBeNull();
  });
});

describe('nonPublicAddressReason', () => {
  test.each([
    // IPv4
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'CGNAT'], // Alibaba Cloud metadata
    ['100.127.255.255', 'CGNAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.1.1', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF'],
    ['192.0.2.10', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'IPv4-mapped'],
    ['::ffff:7f00:1', 'loopback'], // the mapped form in hex still names 127.0.0.1
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:8.8.8.8', 'IPv4-mapped'], // refused whatever it embeds
    ['::ffff:0:10.0.0.1', 'IPv4-translated'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['64:ff9b::127.0.0.1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of cloud metadata'],
    ['64:ff9b:1::1', 'NAT64 local-use'],
    ['100::1', 'discard-only'],
    ['2001::1', 'Teredo'],
    ['2001:2::1', 'IETF'],
    ['2001:db8::1', 'documentation'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of private'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'], // AWS IPv6 metadata
    ['fdff:ffff::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['4000::1', 'reserved'],
    ['e000::1', 'reserved'],
    // Not an address at all
    ['localhost', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%s is refused (%s)', (address, reason) => {
    expect(nonPublicAddressReason(address)).toContain(reason);
    expect(isPublicAddress(address)).toBe(false);
  });

  test.each(['1.1.1.1', '8.8.8.8', '100.63.255.255', '100.128.0.1', '169.253.1.1', '172.15.255.255', '172.32.0.1', '192.167.1.1', '192.169.0.1', '198.17.0.1', '198.20.0.1', '223.255.255.255', '2400:cb00::1', '2606:4700:4700::1111', '2001:4860:4860::8888', '64:ff9b::8.8.8.8', '2002:808:808::1', '[2a00:1450:4001::200e]'])('%s is public', (address) => {
    expect(nonPublicAddressReason(address)).toBeNull();
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('host names', () => {
  test('local by definition, whatever DNS says', () => {
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'printer.local', 'metadata.google.internal']) expect(isLocalHostName(h)).toBe(true);
    for (const h of ['localhost.example.com', 'merchant.example.com', 'local', 'internal.example.com']) expect(isLocalHostName(h)).toBe(false);
  });

  test('isPrivateHost judges URL hosts: literals by range, names only when local by definition', () => {
    // What the WHATWG URL parser leaves in .hostname for the tricky forms of loopback.
    for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://127.1/', 'http://[::ffff:127.0.0.1]/', 'http://[0:0:0:0:0:0:0:1]/', 'http://169.254.169.254/latest/meta-data', 'http://[fd00::1]/', 'http://0/']) {
      expect(isPrivateHost(new URL(url).hostname)).toBe(true);
    }
    for (const h of ['merchant.example.com', '8.8.8.8', '[2606:4700:4700::1111]', 'evil-rebinding.example']) expect(isPrivateHost(h)).toBe(false);
  });
});
