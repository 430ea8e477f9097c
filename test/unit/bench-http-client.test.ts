/** The bench's own HTTP client: GETs, JSON POSTs, the gateway's envelope, over kept-alive sockets. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gatewayCall, request } from '../../scripts/bench/http-client';

let server: http.Server;
let base: string;
const seen: Array<{ method: string; url: string; type?: string; body: string; socket: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // The race of a server closing an idle kept-alive socket as the client reuses it: the request is lost.
      if (req.url === '/reset-reused' && seen.some((s) => s.socket === `${req.socket.remotePort}`)) return void req.socket.destroy();
      seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], body, socket: `${req.socket.remotePort}` });
      if (req.url === '/refused') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 4003, msg: '订单已结束' }));
      if (req.url === '/teapot') return void res.writeHead(418).end('no');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 1000, msg: 'ok', data: { echo: body || null } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a GET without a body and a POST of JSON, both on one kept-alive socket', async () => {
  seen.length = 0;
  expect(await gatewayCall('get', `${base}/a`)).toEqual({ echo: null });
  expect(await gatewayCall('post', `${base}/b`, { token: 'T1', n: 1 })).toEqual({ echo: '{"token":"T1","n":1}' });
  expect(seen.map((s) => [s.method, s.url, s.type ?? null])).toEqual([
    ['GET', '/a', null],
    ['POST', '/b', 'application/json'],
  ]);
  expect(seen[1].socket).toBe(seen[0].socket);
});

test('an envelope other than success is an error naming the call, code and message; a bare request returns any status', async () => {
  await expect(gatewayCall('choose', `${base}/refused`, {})).rejects.toThrow('choose 4003 订单已结束');
  expect(await request(`${base}/teapot`, {})).toEqual({ status: 418, text: 'no' });
  await expect(request('http://127.0.0.1:1/unreachable')).rejects.toThrow();
});

test('a request whose reused socket is reset is sent again on a new socket, once', async () => {
  seen.length = 0;
  await gatewayCall('first', `${base}/a`);
  expect(await gatewayCall('again', `${base}/reset-reused`, { n: 2 })).toEqual({ echo: '{"n":2}' });
  expect(seen.map((s) => s.url)).toEqual(['/a', '/reset-reused']);
  expect(seen[1].socket).not.toBe(seen[0].socket);
});
