/**
 * The bench's own HTTP client for the buyer's and the cashier page's requests: node:http over kept-alive
 * sockets. It shares the cores with the system it measures, and `fetch` cost twice as much CPU per request
 * here (0.38 against 0.19 ms a summary poll), which the summary's rate paid for as if the API had spent it.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface BenchResponse {
  status: number;
  text: string;
}

/**
 * A GET, or a POST of `json`; resolves with the whole answer, whatever its status (callers decide what is an error).
 * A request that finds its kept-alive socket reset is sent once more on a new one: the server may close an idle
 * socket just as the client picks it for the next request, and that request never reached the server.
 */
export async function request(url: string, json?: unknown): Promise<BenchResponse> {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  try {
    return await send(url, body);
  } catch (err) {
    if (!(err instanceof ReusedSocketReset)) throw err;
    return send(url, body);
  }
}

class ReusedSocketReset extends Error {}

function send(url: string, body: Buffer | undefined): Promise<BenchResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body ? 'POST' : 'GET', agent, headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && err.code === 'ECONNRESET' ? new ReusedSocketReset(err.message) : err));
    req.end(body);
  });
}

/** A gateway call answered with the `{ code, msg, data }` envelope; throws unless code is 1000 (success). */
export async function gatewayCall<T>(what: string, url: string, json?: unknown): Promise<T> {
  const res = await request(url, json);
  const body = JSON.parse(res.text) as { code: number; msg: string; data: T };
  if (body.code !== 1000) throw new Error(`${what} ${body.code} ${body.msg}`);
  return body.data;
}
