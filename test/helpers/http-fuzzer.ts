/**
 * A seeded HTTP fuzzer on raw sockets, after what the hostile probe of issue 11 sent: odd
 * methods, encoded traversal, absolute-form and garbage targets, overlong and malformed headers
 * and ranges, malformed bodies, pipelining, connections dropped mid-answer. The same seed sends
 * the same bytes. It only reports what came back (status lines, bodies); the caller asserts.
 */
import net from 'node:net';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface FuzzTarget {
  /** Base URL of the server. */
  readonly url: string;
  /** Paths that exist there (segments, playlists), mutated into hostile variants. */
  readonly paths: readonly string[];
}

export interface FuzzResult {
  readonly connections: number;
  readonly requests: number;
  /** Count of each status code seen (first status line of each answer on a connection). */
  readonly statuses: Map<number, number>;
  /** Raw answers that look like they carry a stack trace or a server path. */
  readonly leaks: string[];
  /** Every byte received, searched by the caller for secrets (files outside the store). */
  readonly received: Buffer[];
}

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'G\u0000T', 'BREW'];
const RANGES = ['bytes=0-0', 'bytes=-0', 'bytes=-1', 'bytes=-99999999', 'bytes=99999999-', 'bytes=5-1', 'bytes=0-1,3-4', 'bytes=--1', 'bytes=abc', 'items=0-1', `bytes=${'9'.repeat(40)}-`, 'bytes=0-', 'bytes= 1 - 2 '];
const SEGMENT_MUTATIONS: ((p: string) => string)[] = [
  (p) => p,
  (p) => p.replace(/s/g, '%73'),
  (p) => p.replace('/vod/', '/vod/../../'),
  (p) => p.replace('/vod/', '/vod/%2e%2e/%2e%2e/'),
  (p) => p.replace(/\//g, '%2F'),
  (p) => `${p}%00.txt`,
  (p) => `${p}?x=${'a'.repeat(100)}`,
  (p) => p.replace('/vod/', '//vod//'),
  (p) => `${p}/..%2f..%2f..%2fsecret.txt`,
  (p) => p.replace('/vod/', '/vod/%252e%252e/'),
  (p) => `/s/exp=1~acl=%2F~hmac=${'0'.repeat(64)}junk${p}`,
  (p) => `http://evil.example${p}`,
  (p) => `t://x${p}`,
  (p) => p.toUpperCase(),
  (p) => `${p}#frag`,
  (p) => p.replace(/\.m4s$|\.m3u8$/, '.m4s/../../../../etc/passwd'),
];
const OTHER_TARGETS = ['/titles', '/titles/0123456789abcdef', '/titles/../../etc', '/healthz', '/metrics', '/player/', '/player/../../package.json', '/qoe', '/qoe/sessions', '/shape/traces', '/shape/x', '/admin/purge', '/admin/prefill', '*', '/%', '/%zz', `/${'a'.repeat(5000)}`, '/vod/', '/vod', '/s/', '/s/x'];
const BODIES = ['{"session": ', '{"session":"a","events":[{"type":"heartbeat","atMs":1,"bitrateBps":1e308,"bufferS":1,"playedMs":1}]}', 'not json', '[]', '{"titleId":"../../x"}', '{"path":"/vod/../../etc/passwd"}', '{"titles":1e9,"source":"catalog"}', '\u0000\u0001\u0002'];

/**
 * Sends `requests` hostile requests over connections of 1–4 pipelined requests each, some
 * dropped before the answer is read.
 * @param seed PRNG seed (xoroshiro128+): the same seed sends the same bytes.
 */
export async function fuzzHttp(target: FuzzTarget, requests: number, seed: number, options: { concurrency?: number; timeoutMs?: number } = {}): Promise<FuzzResult> {
  const rng = xoroshiro128plus(seed);
  const rand = () => uniformFloat64(rng);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const url = new URL(target.url);
  const result = { connections: 0, requests: 0, statuses: new Map<number, number>(), leaks: [] as string[], received: [] as Buffer[] };

  const makeRequest = (): string => {
    const method = pick(METHODS);
    const path = rand() < 0.7 ? pick(SEGMENT_MUTATIONS)(pick(target.paths)) : pick(OTHER_TARGETS);
    const headers = [`Host: ${rand() < 0.9 ? url.host : 'evil.example'}`];
    if (rand() < 0.4) headers.push(`Range: ${pick(RANGES)}`);
    if (rand() < 0.15) headers.push(`If-None-Match: ${pick(['*', '"x"', '"abc", W/"d"', ''])}`);
    if (rand() < 0.1) headers.push(`Cookie: vod_session=${pick(['a', 'x'.repeat(100), '%00', 'ok_1'])}`);
    if (rand() < 0.05) headers.push(`X-Long: ${'x'.repeat(Math.floor(rand() * 20_000))}`);
    if (rand() < 0.05) headers.push('Transfer-Encoding: chunked, gzip');
    if (rand() < 0.05) headers.push('Authorization: Bearer x');
    let body = '';
    if (method === 'POST' || method === 'PUT' || rand() < 0.05) {
      body = pick(BODIES);
      headers.push(`Content-Type: ${pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded'])}`);
      // Sometimes a Content-Length that lies (shorter than the body: the rest reads as garbage).
      headers.push(`Content-Length: ${rand() < 0.1 ? Math.max(0, Buffer.byteLength(body) - 3) : Buffer.byteLength(body)}`);
    }
    return `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
  };

  const oneConnection = (): Promise<void> =>
    new Promise((resolve) => {
      const n = 1 + Math.floor(rand() * 4);
      const payload = Array.from({ length: n }, makeRequest).join('');
      const dropEarly = rand() < 0.1;
      result.connections++;
      result.requests += n;
      const chunks: Buffer[] = [];
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.end(payload);
      });
      const finish = () => {
        const data = Buffer.concat(chunks);
        result.received.push(data);
        const text = data.toString('latin1');
        for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
          const status = Number(m[1]);
          result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
        }
        if (/\n\s+at \S+ \(|node_modules\/|\/work\/|SyntaxError|TypeError|RangeError/.test(text)) result.leaks.push(text.slice(0, 2000));
        resolve();
      };
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        if (dropEarly) socket.destroy();
      });
      socket.on('close', finish);
      socket.on('error', () => {});
      socket.setTimeout(options.timeoutMs ?? 5000, () => socket.destroy());
    });

  const concurrency = options.concurrency ?? 8;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (result.requests < requests) await oneConnection();
  });
  await Promise.all(lanes);
  return result;
}
