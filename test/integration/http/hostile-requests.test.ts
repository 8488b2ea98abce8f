/**
 * What a hostile probe of the origin and the edge found (issue 11), each as a request that
 * must be answered right: pipelined GETs on connections the client drops (no file handle may
 * stay open), absolute-form and garbage request targets, malformed JSON bodies (400, one
 * sentence, no stack trace), percent-encoded spellings of one segment (one cache entry), a
 * QoE beacon with absurd numbers, a signed-URL token with junk after its MAC, and a suffix
 * range longer than the object.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeServer, type EdgeServer } from '../../../src/edge-cache/edge-server.js';
import { signedPath } from '../../../src/http/url-signing.js';
import { listen, type RunningServer } from '../../../src/http/listen.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { createOriginApp } from '../../../src/origin/origin-server.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const TITLE = '0123456789abcdef';
const SEGMENT = `/vod/${TITLE}/video_360p_365k/seg_00000.m4s`;
const BIG = `/vod/${TITLE}/video_360p_365k/big.m4s`;
const KEY = 'a-signing-key-of-32-characters!!';
let origin: RunningServer;
let edge: RunningServer & { edge: EdgeServer };
const originPaths: string[] = [];
const segment = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

beforeAll(async () => {
  const root = await makeTempDir();
  const store = new FsObjectStore(root);
  const staging = await store.stage(`vod/${TITLE}`);
  await fsp.mkdir(path.join(staging.dir, 'video_360p_365k'));
  await fsp.writeFile(path.join(staging.dir, 'master.m3u8'), '#EXTM3U\n');
  await fsp.writeFile(path.join(staging.dir, 'video_360p_365k', 'seg_00000.m4s'), segment);
  await fsp.writeFile(path.join(staging.dir, 'video_360p_365k', 'big.m4s'), Buffer.alloc(8 << 20, 1));
  await staging.commit();
  const app = createOriginApp({ store });
  // The origin behind the edge records what it is asked for.
  origin = await listen((req, res) => {
    originPaths.push(req.url ?? '');
    app(req, res);
  }, '127.0.0.1', 0);
  edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 32 << 20, signingKey: KEY, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

/** Writes raw bytes on a new connection; resolves with everything the server sent until it closed or `waitMs` passed. */
function raw(server: RunningServer, text: string, waitMs = 1000): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(text));
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', done);
    socket.on('error', done);
    socket.setTimeout(waitMs, () => socket.destroy());
  });
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('the origin under pipelining', () => {
  it('closes every file it opened when the client drops a connection with pipelined GETs queued', async () => {
    const before = openFds();
    for (let round = 0; round < 3; round++) {
      const url = new URL(origin.url);
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(url.port), url.hostname, () => {
          socket.write(`GET ${BIG} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(30));
        });
        let got = 0;
        socket.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 64 * 1024) socket.destroy(); // read a little of the first answer, then vanish
        });
        socket.on('close', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(openFds() - before).toBeLessThanOrEqual(3);
  });
});

describe('request targets and bodies', () => {
  it('builds the catalog pass-through from the configured origin and a normalised path only', async () => {
    originPaths.length = 0;
    for (const target of ['t://x/titles', 'http://evil.example:9/titles', '//evil.example/titles']) {
      const answer = await raw(edge, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      expect(status, target).toBeLessThan(500);
      expect(answer, target).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(originPaths.every((p) => p === '/titles'), originPaths.join(' ')).toBe(true);
    const one = await fetch(`${edge.url}/titles/..%2F..%2Fetc`);
    expect(one.status).toBe(404);
  });

  it('answers malformed JSON bodies with 400 and one sentence, never a stack trace', async () => {
    for (const route of ['/qoe', '/shape', '/admin/purge']) {
      const r = await fetch(`${edge.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"session": ' });
      expect(r.status, route).toBe(400);
      const text = await r.text();
      expect(text, route).not.toMatch(/\bat \S+ \(|node_modules|SyntaxError/);
      expect(JSON.parse(text).error, route).toMatch(/^[A-Z].*\.$|JSON/);
    }
  });

  it('refuses a QoE beacon with absurd numbers and keeps the metrics finite', async () => {
    const beacon = { session: 'fuzz-1', events: [{ type: 'heartbeat', atMs: 1, bitrateBps: 1e308, bufferS: 1, playedMs: 1000 }] };
    const r = await fetch(`${edge.url}/qoe`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(beacon) });
    expect(r.status).toBe(400);
    const metrics = await (await fetch(`${edge.url}/metrics`)).text();
    expect(metrics).not.toMatch(/ [-+]?(Inf|NaN)$/m); // sample values (histograms' le="+Inf" labels are fine)
  });
});

describe('the cache key', () => {
  it('is the normalised path: percent-encoded spellings of one segment share one entry and one purge', async () => {
    originPaths.length = 0;
    const spellings = [
      SEGMENT,
      `/vod/${TITLE}/video_360p_365k/%73eg_00000.m4s`,
      `/vod/%30123456789abcdef/video_360p_365k/seg_00000.m4s`,
      `/vod/${TITLE}/video%5F360p%5f365k/seg%5F00000%2Em4s`,
    ];
    const caches = [];
    for (const p of spellings) {
      const r = await fetch(`${edge.url}${p}`);
      expect(r.status, p).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(segment), p).toBe(true);
      caches.push(r.headers.get('x-cache'));
    }
    expect(caches).toEqual(['MISS', 'HIT', 'HIT', 'HIT']);
    expect(originPaths.filter((p) => p.includes('seg_00000'))).toEqual([SEGMENT]);
    const purge = await fetch(`${edge.url}/admin/purge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ titleId: TITLE }) });
    expect((await purge.json()) as unknown).toEqual({ removed: 1 });
    expect((await fetch(`${edge.url}${spellings[1]}`)).headers.get('x-cache')).toBe('MISS');
    // Encoded separators and dot-segments are refused, not normalised into another path.
    // (Sent raw: fetch's URL parser would itself resolve %2E%2E as a dot-segment.)
    for (const p of [`/vod/${TITLE}/video_360p_365k%2Fseg_00000.m4s`, `/vod/${TITLE}/x/%2E%2E/video_360p_365k/seg_00000.m4s`]) {
      const answer = await raw(edge, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer.slice(0, 12), p).toBe('HTTP/1.1 400');
    }
  });
});

describe('signed URLs', () => {
  it('refuse a token with anything after its MAC', async () => {
    const good = signedPath(SEGMENT, { pathPrefix: `/vod/${TITLE}/`, expiresAtS: Date.now() / 1000 + 600 }, KEY);
    expect((await fetch(`${edge.url}${good}`)).status).toBe(200);
    const at = good.indexOf('/vod/');
    for (const junk of ['junk', '0', '~x=1', 'zz']) {
      const bad = `${good.slice(0, at)}${junk}${good.slice(at)}`;
      expect((await fetch(`${edge.url}${bad}`)).status, junk).toBe(403);
    }
  });
});

describe('ranges', () => {
  it('answers a suffix range longer than the object with the whole object as 206 (RFC 9110 §14.1.2)', async () => {
    for (const server of [origin, edge]) {
      const r = await fetch(`${server.url}${SEGMENT}`, { headers: { Range: 'bytes=-200000' } });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes 0-99999/100000`);
      expect((await r.arrayBuffer()).byteLength).toBe(100_000);
      expect((await fetch(`${server.url}${SEGMENT}`, { headers: { Range: 'bytes=-0' } })).status).toBe(416);
    }
  });
});

describe('slow clients', () => {
  it('cuts slow-header clients at the configured header timeout and stalled readers at the send timeout', async () => {
    const big = Buffer.alloc(16 << 20, 1);
    const server = await listen((_req, res) => res.end(big), '127.0.0.1', 0, {}, { headersTimeoutMs: 500, sendTimeoutMs: 500 });
    const closedAfterMs: number[] = [];
    const started = Date.now();
    server.server.on('connection', (s: net.Socket) => s.on('close', () => closedAfterMs.push(Date.now() - started)));
    const url = new URL(server.url);
    const slowHeaders = net.connect(Number(url.port), url.hostname, () => {
      slowHeaders.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => slowHeaders.writable && slowHeaders.write('X-Drip: 1\r\n'), 100);
      slowHeaders.on('close', () => clearInterval(drip));
    });
    slowHeaders.on('error', () => {});
    // A reader that asks for 16 MiB and never reads (paused): the server must let it go.
    const stalled = net.connect(Number(url.port), url.hostname, () => {
      stalled.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      stalled.pause();
    });
    stalled.on('error', () => {});
    for (let i = 0; i < 100 && closedAfterMs.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    stalled.destroy();
    slowHeaders.destroy();
    await server.close();
    expect(closedAfterMs).toHaveLength(2);
    for (const ms of closedAfterMs) expect(ms).toBeLessThan(5000);
  });
});
