/**
 * The edge against scripted upstreams (real HTTP servers whose answers the test controls):
 * streaming request coalescing, parent tiers and fail-over, circuit breakers, timeouts,
 * stale-if-error, recovery, purge, and request size limits.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeServer, type EdgeServer } from '../../../src/edge-cache/edge-server.js';
import { listen, type RunningServer } from '../../../src/http/listen.js';

const KEY = '/vod/0123456789abcdef/v/seg_00000.m4s';
const PLAYLIST = '/vod/0123456789abcdef/master.m3u8';
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0).reverse()) await s.close().catch(() => {});
});

interface Scripted extends RunningServer {
  requests: string[];
  mode: 'ok' | 'down' | 'hang' | 'error500';
}

/** An origin whose behaviour the test switches: body in `chunks` parts, `gapMs` apart. */
async function scriptedOrigin(options: { body?: Buffer; chunks?: number; gapMs?: number; cacheControl?: string } = {}): Promise<Scripted> {
  const body = options.body ?? Buffer.alloc(300_000, 7);
  const state = { requests: [] as string[], mode: 'ok' as Scripted['mode'] };
  const server = await listen(
    (req: http.IncomingMessage, res: http.ServerResponse) => {
      state.requests.push(req.url ?? '');
      if (state.mode === 'hang') return; // never answers
      if (state.mode === 'error500') {
        res.writeHead(500).end();
        return;
      }
      if (!req.url?.startsWith('/vod/')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'video/mp4',
        'Content-Length': body.length,
        'Cache-Control': options.cacheControl ?? 'public, max-age=31536000, immutable',
        ETag: '"abc"',
      });
      const parts = options.chunks ?? 1;
      const size = Math.ceil(body.length / parts);
      let i = 0;
      const send = () => {
        res.write(body.subarray(i * size, (i + 1) * size));
        if (++i < parts) setTimeout(send, options.gapMs ?? 0);
        else res.end();
      };
      send();
    },
    '127.0.0.1',
    0,
  );
  const s = Object.assign(server, state) as Scripted;
  // The handler closes over `state`; keep the two views in sync.
  Object.defineProperty(s, 'mode', { get: () => state.mode, set: (m) => (state.mode = m) });
  Object.defineProperty(s, 'requests', { get: () => state.requests });
  servers.push(s);
  return s;
}

async function edgeOf(options: Partial<Parameters<typeof startEdgeServer>[0]>): Promise<RunningServer & { edge: EdgeServer }> {
  const e = await startEdgeServer({ cacheBytes: 64 * 1024 * 1024, host: '127.0.0.1', port: 0, fillTimeoutMs: 1000, ...options });
  servers.push(e);
  return e;
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers }).then(async (r) => ({ status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) }));

describe('streaming request coalescing', () => {
  it('makes one upstream request for 10 concurrent misses and streams bytes before the fill ends', async () => {
    const body = Buffer.from(Array.from({ length: 400_000 }, (_, i) => i % 251));
    const origin = await scriptedOrigin({ body, chunks: 8, gapMs: 60 });
    const edge = await edgeOf({ originUrl: origin.url });
    const started = Date.now();
    let firstByteMs = 0;
    const first = new Promise<number>((resolve) => {
      http.get(`${edge.url}${KEY}`, (res) => {
        res.once('data', () => {
          firstByteMs = Date.now() - started;
        });
        res.on('end', () => resolve(Date.now() - started));
        res.resume();
      });
    });
    const others = await Promise.all(Array.from({ length: 9 }, () => get(`${edge.url}${KEY}`)));
    const totalMs = await first;
    expect(origin.requests.filter((u) => u === KEY)).toHaveLength(1);
    for (const r of others) {
      expect(r.status).toBe(200);
      expect(r.body.equals(body)).toBe(true);
      expect(r.headers.get('x-cache')).toBe('MISS');
    }
    // The origin takes ~7 × 60 ms; the first bytes reach the client long before that.
    expect(firstByteMs).toBeLessThan(totalMs - 150);
    const again = await get(`${edge.url}${KEY}`);
    expect(again.headers.get('x-cache')).toBe('HIT');
  });
});

describe('tiers', () => {
  it('fills from a parent edge; Via and X-Cache-Fill name the tier that answered', async () => {
    const origin = await scriptedOrigin();
    const parent = await edgeOf({ originUrl: origin.url, name: 'parent-b' });
    const child = await edgeOf({ parentUrls: [parent.url], name: 'edge-a' });
    const first = await get(`${child.url}${KEY}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('x-cache-fill')).toMatch(/MISS$/); // the parent missed too
    expect(first.headers.get('via')).toBe('1.1 parent-b, 1.1 edge-a');
    child.edge.purge({ path: KEY });
    const second = await get(`${child.url}${KEY}`);
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(second.headers.get('x-cache-fill')).toBe(`${new URL(parent.url).host} HIT`); // answered by the parent's cache
    expect(origin.requests.filter((u) => u === KEY)).toHaveLength(1);
    const third = await get(`${child.url}${KEY}`);
    expect(third.headers.get('x-cache')).toBe('HIT');
  });

  it('fails over to the next parent when one is down, and opens its circuit breaker', async () => {
    const origin = await scriptedOrigin();
    const dead = await scriptedOrigin();
    dead.mode = 'error500';
    const edge = await edgeOf({ parentUrls: [dead.url], originUrl: origin.url, breaker: { failureThreshold: 2, openMs: 60_000 } });
    for (let i = 0; i < 4; i++) {
      const r = await get(`${edge.url}/vod/0123456789abcdef/v/seg_${i}.m4s`);
      expect(r.status).toBe(200);
    }
    expect(dead.requests).toHaveLength(2); // then its breaker is open and it is skipped
    const metrics = await (await fetch(`${edge.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vod_edge_upstream_breaker_state\\{upstream="${new URL(dead.url).host}"\\} 2`));
  });
});

/** A clock the test moves by hand (the edge's `nowMs`): expiry and breakers without sleeping. */
function manualClock(startMs = 1_700_000_000_000): { nowMs: () => number; advance(ms: number): void } {
  let now = startMs;
  return { nowMs: () => now, advance: (ms) => (now += ms) };
}

describe('upstream failures', () => {
  it('keeps serving cached objects, fails misses fast (502) or at the fill timeout (504), and recovers', async () => {
    const origin = await scriptedOrigin();
    const clock = manualClock();
    const edge = await edgeOf({ originUrl: origin.url, breaker: { failureThreshold: 2, openMs: 5_000 }, nowMs: clock.nowMs });
    expect((await get(`${edge.url}${KEY}`)).status).toBe(200);

    origin.mode = 'hang';
    const t = Date.now();
    const slow = await get(`${edge.url}/vod/0123456789abcdef/v/a.m4s`);
    expect(slow.status).toBe(504);
    expect(Date.now() - t).toBeLessThan(3000);

    origin.mode = 'error500';
    expect((await get(`${edge.url}/vod/0123456789abcdef/v/b.m4s`)).status).toBe(502);
    const before = origin.requests.length;
    expect((await get(`${edge.url}/vod/0123456789abcdef/v/c.m4s`)).status).toBe(502); // breaker open: no upstream call
    expect(origin.requests.length).toBe(before);
    const cached = await get(`${edge.url}${KEY}`);
    expect(cached.status).toBe(200);
    expect(cached.headers.get('x-cache')).toBe('HIT');

    origin.mode = 'ok';
    clock.advance(4_999);
    expect((await get(`${edge.url}/vod/0123456789abcdef/v/d.m4s`)).status).toBe(502); // still open
    expect(origin.requests.length).toBe(before);
    clock.advance(1); // open period over: the next miss probes, and its success closes the breaker
    expect((await get(`${edge.url}/vod/0123456789abcdef/v/d.m4s`)).status).toBe(200);
    expect((await get(`${edge.url}/vod/0123456789abcdef/v/e.m4s`)).status).toBe(200);
  });

  it('serves an expired playlist under stale-if-error when the origin fails, and not past that window', async () => {
    const origin = await scriptedOrigin({ body: Buffer.from('#EXTM3U\n'), cacheControl: 'public, max-age=1, stale-if-error=60' });
    const clock = manualClock();
    const edge = await edgeOf({ originUrl: origin.url, nowMs: clock.nowMs, breaker: { failureThreshold: 100 } });
    expect((await get(`${edge.url}${PLAYLIST}`)).headers.get('x-cache')).toBe('MISS');
    clock.advance(500);
    expect((await get(`${edge.url}${PLAYLIST}`)).headers.get('x-cache')).toBe('HIT'); // still fresh
    clock.advance(600); // 1.1 s: expired
    origin.mode = 'error500';
    const stale = await get(`${edge.url}${PLAYLIST}`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(stale.body.toString()).toBe('#EXTM3U\n');
    clock.advance(60_000); // 61.1 s: past max-age + stale-if-error
    expect((await get(`${edge.url}${PLAYLIST}`)).status).toBe(502);
    origin.mode = 'ok';
    expect((await get(`${edge.url}${PLAYLIST}`)).headers.get('x-cache')).toBe('MISS'); // refreshed
  });
});

describe('operations and hardening', () => {
  it('purges a title, reports ratios in /metrics and limits URL and header sizes', async () => {
    const origin = await scriptedOrigin();
    const edge = await edgeOf({ originUrl: origin.url });
    await get(`${edge.url}${KEY}`);
    await get(`${edge.url}${KEY}`);
    const purge = await fetch(`${edge.url}/admin/purge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ titleId: '0123456789abcdef' }) });
    expect(await purge.json()).toEqual({ removed: 1 });
    expect((await get(`${edge.url}${KEY}`)).headers.get('x-cache')).toBe('MISS');
    const metrics = await (await fetch(`${edge.url}/metrics`)).text();
    expect(metrics).toMatch(/^vod_edge_hit_ratio 0\.333/m);
    expect(metrics).toMatch(/^vod_edge_origin_offload 0\.333/m);
    expect(metrics).toMatch(/^vod_edge_byte_hit_ratio 0\.333/m);
    expect(metrics).toMatch(/^vod_edge_fill_seconds_count 2$/m);
    expect(metrics).toMatch(/^vod_edge_purged_objects_total 1$/m);

    expect((await get(`${edge.url}/vod/${'a'.repeat(5000)}`)).status).toBe(414);
    const big = await new Promise<number>((resolve) => {
      const req = http.get(`${edge.url}${KEY}`, { headers: { 'X-Big': 'x'.repeat(20_000) } }, (res) => resolve(res.statusCode!));
      req.on('error', () => resolve(-1));
    });
    expect(big).toBe(431);
  });

  it('refuses admin routes to a wrong token', async () => {
    const origin = await scriptedOrigin();
    const edge = await edgeOf({ originUrl: origin.url, adminToken: 'secret-admin' });
    const denied = await fetch(`${edge.url}/admin/purge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"path":"/vod/x"}' });
    expect(denied.status).toBe(403);
    const ok = await fetch(`${edge.url}/admin/purge`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer secret-admin' }, body: '{"path":"/vod/x"}' });
    expect(ok.status).toBe(200);
  });
});
