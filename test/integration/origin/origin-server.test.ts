/**
 * The origin over real HTTP: catalog, content types, ETag and 304, ranges (206/416), HEAD,
 * CORS, 404s, and paths that try to leave the store.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { startOriginServer } from '../../../src/origin/origin-server.js';
import { type RunningServer } from '../../../src/http/listen.js';
import type { TitleRecord } from '../../../src/origin/catalog.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const TITLE = '0123456789abcdef';
let origin: RunningServer;
let root: string;
const segment = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

const record: TitleRecord = {
  titleId: TITLE,
  title: 'Fixture',
  publishedAt: '2026-11-21T00:00:00.000Z',
  durationS: 4,
  playlist: 'master.m3u8',
  ladder: 'fixed',
  segmentDurationS: 4,
  master: { fileName: 'f.mp4', sizeBytes: 1, formatName: 'mp4', videoCodec: 'h264', width: 640, height: 360, frameRate: 24 },
  renditions: [],
  encodeTimeS: 1,
};

beforeAll(async () => {
  root = await makeTempDir();
  const store = new FsObjectStore(root);
  const staging = await store.stage(`vod/${TITLE}`);
  await fs.mkdir(path.join(staging.dir, 'video_360p_365k'));
  await fs.mkdir(path.join(staging.dir, 'audio_aac_128k'));
  await fs.writeFile(path.join(staging.dir, 'master.m3u8'), '#EXTM3U\n');
  await fs.writeFile(path.join(staging.dir, 'video_360p_365k', 'seg_00000.m4s'), segment);
  await fs.writeFile(path.join(staging.dir, 'audio_aac_128k', 'seg_00000.m4s'), segment);
  await fs.writeFile(path.join(staging.dir, 'title.json'), JSON.stringify(record));
  await staging.commit();
  await fs.writeFile(path.join(root, 'secret.txt'), 'outside the vod prefix');
  origin = await startOriginServer({ store, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await origin?.close();
});

/** Sends a request with the path exactly as given (fetch would normalise '..'). */
function rawRequest(pathname: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(origin.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathname, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const seg = `/vod/${TITLE}/video_360p_365k/seg_00000.m4s`;

describe('origin server', () => {
  it('serves the catalog with playback paths', async () => {
    const res = await fetch(`${origin.url}/titles`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const { titles } = (await res.json()) as { titles: (TitleRecord & { playbackPath: string })[] };
    expect(titles).toHaveLength(1);
    expect(titles[0]).toMatchObject({ titleId: TITLE, title: 'Fixture', playbackPath: `/vod/${TITLE}/master.m3u8` });
    expect((await fetch(`${origin.url}/titles/${TITLE}`)).status).toBe(200);
    expect((await fetch(`${origin.url}/titles/ffffffffffffffff`)).status).toBe(404);
  });

  it('labels playlists and segments and makes segments immutable', async () => {
    const pl = await fetch(`${origin.url}/vod/${TITLE}/master.m3u8`);
    expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const s = await fetch(`${origin.url}${seg}`);
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toBe('video/mp4');
    expect(s.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(s.headers.get('content-length')).toBe('1000');
    expect(Buffer.from(await s.arrayBuffer()).equals(segment)).toBe(true);
    const a = await fetch(`${origin.url}/vod/${TITLE}/audio_aac_128k/seg_00000.m4s`);
    expect(a.headers.get('content-type')).toBe('audio/mp4');
  });

  it('answers a matching If-None-Match with 304', async () => {
    const etag = (await fetch(`${origin.url}${seg}`)).headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const res = await fetch(`${origin.url}${seg}`, { headers: { 'If-None-Match': etag } });
    expect(res.status).toBe(304);
  });

  it('serves single byte ranges with 206, answers 416 past the end, ignores multi-range', async () => {
    const r = await fetch(`${origin.url}${seg}`, { headers: { Range: 'bytes=10-19' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await r.arrayBuffer()).equals(segment.subarray(10, 20))).toBe(true);
    const suffix = await fetch(`${origin.url}${seg}`, { headers: { Range: 'bytes=-5' } });
    expect(suffix.headers.get('content-range')).toBe('bytes 995-999/1000');
    const bad = await fetch(`${origin.url}${seg}`, { headers: { Range: 'bytes=5000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */1000');
    const multi = await fetch(`${origin.url}${seg}`, { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
  });

  it('honours If-Range (RFC 9110 §13.1.5): the range only while the validator still holds', async () => {
    const whole = await fetch(`${origin.url}${seg}`);
    const etag = whole.headers.get('etag')!;
    const lastModified = whole.headers.get('last-modified')!;
    const ranged = (ifRange: string) => fetch(`${origin.url}${seg}`, { headers: { Range: 'bytes=10-19', 'If-Range': ifRange } });
    for (const holds of [etag, lastModified]) {
      const r = await ranged(holds);
      expect(r.status, holds).toBe(206);
      expect(r.headers.get('content-range')).toBe('bytes 10-19/1000');
    }
    // A stale or weak entity tag, another date, a malformed value: the whole object.
    for (const stale of ['"not-this-one"', `W/${etag}`, 'Thu, 01 Jan 1970 00:00:00 GMT', 'garbage']) {
      const r = await ranged(stale);
      expect(r.status, stale).toBe(200);
      expect(r.headers.get('content-range'), stale).toBeNull();
      expect((await r.arrayBuffer()).byteLength, stale).toBe(1000);
    }
  });

  it('answers HEAD with headers and no body', async () => {
    const res = await rawRequest(seg, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('1000');
    expect(res.body.length).toBe(0);
  });

  it('answers CORS preflight', async () => {
    const res = await fetch(`${origin.url}${seg}`, { method: 'OPTIONS', headers: { Origin: 'http://player.example', 'Access-Control-Request-Headers': 'range' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Range/);
  });

  it('answers 404 for unknown titles and paths', async () => {
    expect((await fetch(`${origin.url}/vod/${TITLE}/nope.m3u8`)).status).toBe(404);
    expect((await fetch(`${origin.url}/vod/ffffffffffffffff/master.m3u8`)).status).toBe(404);
    expect((await fetch(`${origin.url}/nothing-here`)).status).toBe(404);
  });

  it('never serves anything outside the store prefix', async () => {
    for (const p of ['/vod/../secret.txt', `/vod/${TITLE}/../../secret.txt`, '/vod/%2e%2e/secret.txt', `/vod/${TITLE}/..%2f..%2fsecret.txt`, '/vod/%2e%2e%2f%2e%2e%2fetc/passwd']) {
      const res = await rawRequest(p);
      expect([400, 404], p).toContain(res.status);
      expect(res.body.toString()).not.toContain('outside the vod prefix');
    }
    expect((await rawRequest('/vod/a/%E0%A4%A')).status).toBe(400);
  });
});
