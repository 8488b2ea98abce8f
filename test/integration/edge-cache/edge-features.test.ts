/**
 * Disk tier warm restart, signed URLs, prefill and steering, against a real origin serving a
 * small hand-written HLS title.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeServer } from '../../../src/edge-cache/edge-server.js';
import { startSteeringServer } from '../../../src/edge-cache/steering.js';
import { signedPath } from '../../../src/http/url-signing.js';
import HLS from 'hls-parser';
import { putJson } from '../../../src/ingest/flow-store.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { startOriginServer } from '../../../src/origin/origin-server.js';
import { type RunningServer } from '../../../src/http/listen.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';

const T = '0123456789abcdef';
/** A title `vod remove` took down: only its removal marker is in the store. */
const REMOVED = 'fedcba9876543210';
const KEY = 'signing-key-for-tests-only';
let origin: RunningServer;
const closers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close().catch(() => {});
});

beforeAll(async () => {
  const store = new FsObjectStore(await makeTempDir());
  const s = await store.stage(`vod/${T}`);
  await fs.mkdir(path.join(s.dir, 'video_360p_365k'));
  await fs.writeFile(
    path.join(s.dir, 'master.m3u8'),
    '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-aac",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio_aac_128k/index.m3u8"\n' +
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-aac",NAME="French",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio_aac_128k_2/index.m3u8"\n' +
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subtitles_1/index.m3u8"\n' +
      '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=380000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=24.000,AUDIO="audio-aac",SUBTITLES="subs"\nvideo_360p_365k/index.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,AVERAGE-BANDWIDTH=80000,CODECS="avc1.64001e",RESOLUTION=640x360,URI="video_360p_365k/iframes.m3u8"\n',
  );
  await fs.writeFile(
    path.join(s.dir, 'video_360p_365k', 'index.m3u8'),
    '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg_00000.m4s\n#EXTINF:2.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n',
  );
  await fs.writeFile(
    path.join(s.dir, 'video_360p_365k', 'iframes.m3u8'),
    '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\n#EXT-X-BYTERANGE:9000@0\nseg_00000.m4s\n#EXTINF:2.0,\n#EXT-X-BYTERANGE:9000@0\nseg_00001.m4s\n#EXT-X-ENDLIST\n',
  );
  for (const f of ['init.mp4', 'seg_00000.m4s', 'seg_00001.m4s']) await fs.writeFile(path.join(s.dir, 'video_360p_365k', f), Buffer.alloc(50_000, f.length));
  for (const a of ['audio_aac_128k', 'audio_aac_128k_2']) {
    await fs.mkdir(path.join(s.dir, a));
    await fs.writeFile(path.join(s.dir, a, 'index.m3u8'), '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:6.0,\nseg_00000.m4s\n#EXT-X-ENDLIST\n');
    for (const f of ['init.mp4', 'seg_00000.m4s']) await fs.writeFile(path.join(s.dir, a, f), Buffer.alloc(1_000, f.length));
  }
  await fs.mkdir(path.join(s.dir, 'subtitles_1'));
  await fs.writeFile(path.join(s.dir, 'subtitles_1', 'index.m3u8'), '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:6.0,\nseg_00000.vtt\n#EXT-X-ENDLIST\n');
  await fs.writeFile(path.join(s.dir, 'subtitles_1', 'seg_00000.vtt'), 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:02.000\nHello\n');
  await s.commit();
  await putJson(store, `removed/${REMOVED}`, { titleId: REMOVED, title: 'gone', removedAt: '2026-12-01T10:00:00.000Z' });
  origin = await startOriginServer({ store, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await origin?.close();
});

const seg = `/vod/${T}/video_360p_365k/seg_00000.m4s`;

describe('disk tier', () => {
  it('survives a restart (warm restart from the files on disk) and stays within its size', async () => {
    const dir = await makeTempDir();
    const first = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, diskCacheDir: dir, diskBytes: 120_000, host: '127.0.0.1', port: 0 });
    for (const f of ['seg_00000.m4s', 'seg_00001.m4s', 'init.mp4']) expect((await fetch(`${first.url}/vod/${T}/video_360p_365k/${f}`)).status).toBe(200);
    await first.edge.disk!.idle(); // disk writes are asynchronous
    expect(first.edge.disk!.size().bytes).toBeLessThanOrEqual(120_000); // 3 × 50 kB do not fit: the oldest went
    await first.close();
    // A half-written file left in tmp/ must never be served.
    await fs.writeFile(path.join(dir, 'tmp', 'partial'), 'half');

    const unreachable = 'http://127.0.0.1:9'; // nothing listens: only the disk can answer
    const second = await startEdgeServer({ originUrl: unreachable, cacheBytes: 1024 * 1024, diskCacheDir: dir, diskBytes: 120_000, host: '127.0.0.1', port: 0 });
    closers.push(second);
    const hit = await fetch(`${second.url}/vod/${T}/video_360p_365k/init.mp4`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect((await hit.arrayBuffer()).byteLength).toBe(50_000);
    expect((await fetch(`${second.url}/vod/${T}/video_360p_365k/seg_00000.m4s`)).status).toBe(502); // evicted earlier
    expect(await listFiles(path.join(dir, 'tmp'))).toEqual([]);
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(/^vod_edge_disk_hits_total 1$/m);
  });
});

describe('signed URLs at the edge', () => {
  it('serves a valid token, refuses tampered or expired ones, and keeps the token out of the cache key', async () => {
    const edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, signingKey: KEY, requireSignature: true, host: '127.0.0.1', port: 0 });
    closers.push(edge);
    const prefix = `/vod/${T}/`;
    const url = (exp: number) => `${edge.url}${signedPath(seg, { pathPrefix: prefix, expiresAtS: exp }, KEY)}`;
    const now = Math.floor(Date.now() / 1000);
    const a = await fetch(url(now + 600));
    expect(a.status).toBe(200);
    expect(a.headers.get('x-cache')).toBe('MISS');
    const b = await fetch(url(now + 900)); // another token, same object: one cache entry
    expect(b.headers.get('x-cache')).toBe('HIT');
    expect((await fetch(url(now - 1))).status).toBe(403);
    // Tamper with the MAC's first character (to a different one: replacing it with a fixed
    // character left the token intact whenever it already was that character).
    const tampered = url(now + 600).replace(/hmac=(.)/, (_m, c: string) => `hmac=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(`${edge.url}${seg}`)).status).toBe(403); // unsigned refused
    expect(await (await fetch(`${edge.url}/metrics`)).text()).toMatch(/^vod_edge_forbidden_total 3$/m);
  });
});

describe('prefill', () => {
  it('fills a whole title — playlists, init and segments — from the catalog', async () => {
    const edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, host: '127.0.0.1', port: 0 });
    closers.push(edge);
    const res = await fetch(`${edge.url}/admin/prefill`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ titleIds: [T] }) });
    // master, the media and the I-frame playlist, init, two segments (each once: the I-frame
    // playlist names the same files), each audio track's playlist, init and segment, and the
    // subtitles' playlist and segment.
    expect(await res.json()).toMatchObject({ titles: [T], objects: 14, failures: 0 });
    for (const p of ['master.m3u8', 'video_360p_365k/index.m3u8', 'video_360p_365k/iframes.m3u8', 'video_360p_365k/init.mp4', 'video_360p_365k/seg_00001.m4s', 'audio_aac_128k_2/seg_00000.m4s', 'subtitles_1/seg_00000.vtt']) {
      expect((await fetch(`${edge.url}/vod/${T}/${p}`)).headers.get('x-cache'), p).toBe('HIT');
    }
  });
});

describe('steering', () => {
  it('ranks healthy edges, signs playback URLs, writes a content-steered playlist and drops a dead edge within seconds', async () => {
    const e1 = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, signingKey: KEY, host: '127.0.0.1', port: 0 });
    const e2 = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, signingKey: KEY, host: '127.0.0.1', port: 0 });
    closers.push(e1, e2);
    const steer = await startSteeringServer({ edges: [e1.url, e2.url], signingKey: KEY, healthIntervalMs: 200, failThreshold: 2, host: '127.0.0.1', port: 0 });
    closers.push(steer);
    const play = (await (await fetch(`${steer.url}/play/${T}`)).json()) as { edges: { url: string; playbackUrl: string; placement: string }[] };
    expect(play.edges.map((e) => e.url).sort()).toEqual([e1.url, e2.url].sort());
    const pb = await fetch(play.edges[0]!.playbackUrl);
    expect(pb.status).toBe(200); // the signed URL plays on the edge

    const text = await (await fetch(`${steer.url}/play/${T}/master.m3u8`)).text();
    expect(text).toMatch(/#EXT-X-CONTENT-STEERING:SERVER-URI="http:\/\/127\.0\.0\.1:\d+\/steering\/0123456789abcdef",PATHWAY-ID="edge\d"/);
    const parsed = HLS.parse(text);
    if (!parsed.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(parsed.variants.filter((v) => !v.isIFrameOnly)).toHaveLength(2); // one variant per pathway
    expect(text.match(/#EXT-X-STREAM-INF:[^\n]*PATHWAY-ID="edge1"/g)).toHaveLength(1);
    expect(text.match(/#EXT-X-STREAM-INF:[^\n]*PATHWAY-ID="edge2"/g)).toHaveLength(1);
    // Every audio track (both languages, French the default) in each pathway's audio group.
    for (const pathway of ['edge1', 'edge2']) {
      const v = parsed.variants.find((x) => !x.isIFrameOnly && x.uri.includes(pathway === 'edge1' ? e1.url : e2.url))!;
      expect(v.audio.map((a) => [a.groupId, a.name, a.language, a.isDefault])).toEqual([
        [`audio-aac-${pathway}`, 'English', 'en', false],
        [`audio-aac-${pathway}`, 'French', 'fr', true],
      ]);
      expect(v.subtitles.map((t) => [t.groupId, t.name, t.language, t.uri?.endsWith('/subtitles_1/index.m3u8')])).toEqual([[`subs-${pathway}`, 'English', 'en', true]]);
    }
    // The I-frame stream (trick play) too, once per pathway, never as a playable variant.
    expect(text.match(/#EXT-X-I-FRAME-STREAM-INF:[^\n]*PATHWAY-ID="edge\d",URI="http:[^"]*\/video_360p_365k\/iframes\.m3u8"/g)).toHaveLength(2);
    expect((await fetch(parsed.variants[0]!.uri)).status).toBe(200); // absolute, signed, playable

    const manifest = (await (await fetch(`${steer.url}/steering/${T}`)).json()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ VERSION: 1 });
    expect(manifest['PATHWAY-PRIORITY']).toHaveLength(2);

    const dead = play.edges[0]!.url;
    await (dead === e1.url ? e1 : e2).close();
    await expect
      .poll(async () => ((await (await fetch(`${steer.url}/play/${T}`)).json()) as { edges: { url: string }[] }).edges.map((e) => e.url), { timeout: 3000, interval: 100 })
      .not.toContain(dead);
  });

  it('says why there is no steered playlist: the edge\'s own reason for a 404 or a removed title\'s 410, each edge\'s failure for a 502, 400 for a bad title id', async () => {
    // The edges do not check signatures but the steering service signs: every signed path is refused.
    const unsignedEdge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 1024 * 1024, host: '127.0.0.1', port: 0 });
    closers.push(unsignedEdge);
    const steer = await startSteeringServer({ edges: [unsignedEdge.url], signingKey: KEY, healthIntervalMs: 60_000, host: '127.0.0.1', port: 0 });
    closers.push(steer);
    const a = await fetch(`${steer.url}/play/${T}/master.m3u8`);
    expect(a.status).toBe(404);
    expect(((await a.json()) as { error: string }).error).toBe(`no such title on edge1 (${unsignedEdge.url}): signed URLs are not enabled on this edge`);

    // A removed title: 410 from the origin, passed on by the edge and the steering service with its reason.
    const plainSteer = await startSteeringServer({ edges: [unsignedEdge.url], healthIntervalMs: 60_000, host: '127.0.0.1', port: 0 });
    closers.push(plainSteer);
    const gone = await fetch(`${plainSteer.url}/play/${REMOVED}/master.m3u8`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: string }).error).toBe(
      `no such title on edge1 (${unsignedEdge.url}): upstream ${new URL(origin.url).host} answered 410: title ${REMOVED} was removed at 2026-12-01T10:00:00.000Z`,
    );

    // An edge whose origin is gone (502 from the edge) and one nobody listens on: 502, both named.
    const orphan = await startEdgeServer({ originUrl: 'http://127.0.0.1:1', cacheBytes: 1024 * 1024, host: '127.0.0.1', port: 0 });
    closers.push(orphan);
    const steer2 = await startSteeringServer({ edges: [orphan.url, 'http://127.0.0.1:1'], healthIntervalMs: 60_000, host: '127.0.0.1', port: 0 });
    closers.push(steer2);
    const b = await fetch(`${steer2.url}/play/${T}/master.m3u8`);
    expect(b.status).toBe(502);
    const reason = ((await b.json()) as { error: string }).error;
    expect(reason).toMatch(/^no edge gave the title's playlist: /);
    expect(reason).toContain(`(${orphan.url}) answered 50`);
    expect(reason).toContain('(http://127.0.0.1:1) failed: ');

    for (const p of ['/play/xyz/master.m3u8', '/steering/xyz']) expect((await fetch(`${steer2.url}${p}`)).status, p).toBe(400);
    await expect(startSteeringServer({ edges: [orphan.url, `${orphan.url}/`], host: '127.0.0.1', port: 0 })).rejects.toThrow(/listed twice/);
  });
});
