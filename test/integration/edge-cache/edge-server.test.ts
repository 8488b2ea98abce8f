/**
 * The edge over real HTTP in front of a real origin: MISS then HIT, ranges from the cached
 * object, Prometheus counters, one upstream fetch for concurrent misses, behaviour with the
 * origin down, and the player page.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startEdgeServer, type EdgeServer } from '../../../src/edge-cache/edge-server.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { createOriginApp } from '../../../src/origin/origin-server.js';
import { listen, type RunningServer } from '../../../src/http/listen.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { readAccessLogTrace } from '../../../src/simulator/trace-readers.js';

const TITLE = '0123456789abcdef';
const SEGMENTS = 30;
let origin: RunningServer;
let edge: RunningServer & { edge: EdgeServer };
let originVodRequests = 0;
const body = (i: number) => Buffer.alloc(10_000 + i, i % 251);

beforeAll(async () => {
  const store = new FsObjectStore(await makeTempDir());
  const staging = await store.stage(`vod/${TITLE}`);
  await fs.mkdir(path.join(staging.dir, 'v'));
  await fs.writeFile(path.join(staging.dir, 'master.m3u8'), '#EXTM3U\n');
  for (let i = 0; i < SEGMENTS; i++) await fs.writeFile(path.join(staging.dir, 'v', `seg_${i}.m4s`), body(i));
  await staging.commit();
  const app = createOriginApp({ store });
  origin = await listen(
    (req, res) => {
      if (req.url?.startsWith('/vod/')) originVodRequests++;
      app(req, res);
    },
    '127.0.0.1',
    0,
  );
  edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 16 * 1024 * 1024, host: '127.0.0.1', port: 0, fillTimeoutMs: 2000, playerDir: loadConfig({}).playerDir });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${edge.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('edge server', () => {
  it('answers MISS then HIT with the same bytes and headers, counting both', async () => {
    const url = `${edge.url}/vod/${TITLE}/v/seg_0.m4s`;
    const before = { hits: await metric('vod_edge_cache_hits_total'), misses: await metric('vod_edge_cache_misses_total'), served: await metric('vod_edge_bytes_served_total'), filled: await metric('vod_edge_bytes_filled_total') };
    const a = await fetch(url);
    expect(a.headers.get('x-cache')).toBe('MISS');
    const aBody = Buffer.from(await a.arrayBuffer());
    const b = await fetch(url);
    expect(b.headers.get('x-cache')).toBe('HIT');
    expect(Buffer.from(await b.arrayBuffer()).equals(aBody)).toBe(true);
    expect(aBody.equals(body(0))).toBe(true);
    expect(b.headers.get('content-type')).toBe('video/mp4');
    expect(b.headers.get('cache-control')).toMatch(/immutable/);
    expect(b.headers.get('etag')).toBe(a.headers.get('etag'));
    expect(await metric('vod_edge_cache_hits_total')).toBe(before.hits + 1);
    expect(await metric('vod_edge_cache_misses_total')).toBe(before.misses + 1);
    expect(await metric('vod_edge_bytes_served_total')).toBe(before.served + 2 * body(0).length);
    expect(await metric('vod_edge_bytes_filled_total')).toBe(before.filled + body(0).length);
    const text = await (await fetch(`${edge.url}/metrics`)).text();
    expect(text).toMatch(/^vod_edge_requests_total\{cache="hit"\} 1$/m);
    expect(text).toMatch(/^vod_edge_requests_total\{cache="miss"\} 1$/m);
  });

  it('serves byte ranges on a miss and on a hit from the cached object', async () => {
    const url = `${edge.url}/vod/${TITLE}/v/seg_1.m4s`;
    const miss = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    expect(miss.status).toBe(206);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(miss.headers.get('content-range')).toBe(`bytes 100-199/${body(1).length}`);
    expect(Buffer.from(await miss.arrayBuffer()).equals(body(1).subarray(100, 200))).toBe(true);
    const hit = await fetch(url, { headers: { Range: 'bytes=-10' } });
    expect(hit.status).toBe(206);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(Buffer.from(await hit.arrayBuffer()).equals(body(1).subarray(-10))).toBe(true);
    const none = await fetch(url, { headers: { Range: 'bytes=999999-' } });
    expect(none.status).toBe(416);
  });

  it('makes one upstream fetch for many concurrent misses of one object', async () => {
    const before = originVodRequests;
    const url = `${edge.url}/vod/${TITLE}/v/seg_2.m4s`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => fetch(url).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) }))));
    expect(responses.every((r) => r.status === 200 && r.bytes.equals(body(2)))).toBe(true);
    expect(originVodRequests - before).toBe(1);
    expect(await metric('vod_edge_coalesced_requests_total')).toBeGreaterThan(0);
  });

  it('passes 404s through and refuses bad paths', async () => {
    const r = await fetch(`${edge.url}/vod/${TITLE}/v/none.m4s`);
    expect(r.status).toBe(404);
    expect(r.headers.get('x-cache')).toBe('MISS');
    expect((await fetch(`${edge.url}/vod/${TITLE}/v%2F..%2F..%2Fx/y`)).status).toBe(400);
    expect((await fetch(`${edge.url}/vod/${TITLE}/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${edge.url}/vod/${TITLE}/v/seg_0.m4s`, { method: 'POST' })).status).toBe(405);
  });

  it('serves the player page, hls.js and the catalog', async () => {
    const page = await fetch(`${edge.url}/player/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/vendor\/hls\.min\.js/);
    expect((await fetch(`${edge.url}/player/vendor/hls.min.js`)).status).toBe(200);
    expect((await fetch(`${edge.url}/player/player.js`)).status).toBe(200);
    expect((await fetch(`${edge.url}/`, { redirect: 'manual' })).headers.get('location')).toBe('/player/');
    const titles = await fetch(`${edge.url}/titles`);
    expect(titles.status).toBe(200);
    expect(titles.headers.get('x-cache')).toBe('MISS');
  });

  it('serves no player page when none is configured', async () => {
    const bare = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, host: '127.0.0.1', port: 0 });
    try {
      expect((await fetch(`${bare.url}/player/`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('writes an access log that reads back as a trace', async () => {
    const logPath = path.join(await makeTempDir(), 'logs', 'access.jsonl');
    const logged = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, host: '127.0.0.1', port: 0, accessLogPath: logPath });
    for (const i of [5, 6, 5]) await fetch(`${logged.url}/vod/${TITLE}/v/seg_${i}.m4s`).then((r) => r.arrayBuffer());
    await logged.close();
    const lines = (await fs.readFile(logPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path: string; bytes: number; cache: string; status: number });
    expect(lines.map((l) => l.cache)).toEqual(['MISS', 'MISS', 'HIT']);
    expect(lines[0]).toMatchObject({ path: `/vod/${TITLE}/v/seg_5.m4s`, bytes: body(5).length, status: 200 });
    const trace = await readAccessLogTrace(logPath);
    expect(Array.from(trace.ids)).toEqual([0, 1, 0]);
  });

  it('keeps serving cached objects with the origin down, and fails misses fast with 502', async () => {
    await fetch(`${edge.url}/vod/${TITLE}/v/seg_3.m4s`).then((r) => r.arrayBuffer());
    await origin.close();
    const hit = await fetch(`${edge.url}/vod/${TITLE}/v/seg_3.m4s`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const started = Date.now();
    const miss = await fetch(`${edge.url}/vod/${TITLE}/v/seg_4.m4s`);
    expect(miss.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(2500); // within the fill timeout
    expect((await fetch(`${edge.url}/titles`)).status).toBe(502);
  });
});
