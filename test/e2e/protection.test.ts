/**
 * Encrypted titles end to end: HLS AES-128 (RFC 8216 §5.2) and Common Encryption (ISO/IEC
 * 23001-7 `cenc`, W3C Clear Key). Synthetic masters with audio, uploaded with `protection`,
 * encoded by a real worker as chunked flows (two chunks, so the flow's assemble step packages
 * them), served by a real origin and edge, their keys and licenses by the real key server, and
 * played by hls.js in headless Chromium with the playback token (through EME for `cenc`) — and
 * refused without it.
 */
import { execFile } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/http/url-signing.js';
import { uploadMaster } from '../../src/ingest/upload.js';
import type { Protection } from '../../src/keys/content-keys.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { createTestStack, type TestStack } from '../helpers/test-stack.js';

const run = promisify(execFile);
const SIGNING_KEY = 'e2e-signing-key-0123456789abcdef';

let stack: TestStack;
let browser: Browser;
let titleId: string;
let token: string;
let cencTitleId: string;
let cencToken: string;

type Media = InstanceType<typeof HLS.types.MediaPlaylist>;
const mediaPlaylist = async (uri: string): Promise<Media> => HLS.parse(await (await fetch(`${stack.edge!.url}/vod/${titleId}/${uri}`)).text()) as Media;

beforeAll(async () => {
  stack = await createTestStack({ env: { VOD_SIGNING_KEY: SIGNING_KEY, VOD_CHUNK_DURATION_S: '8' } });
  await stack.startWorker();
  await stack.startServers();
  await stack.startKeyServer({ port: 0 });
  browser = await launchChromium();
  const master = await makeSyntheticMaster({ path: path.join(stack.dataDir, 'protected.mp4'), durationS: 16, width: 640, height: 360, audio: true }, stack.paths);
  const protection: Protection = { scheme: 'aes-128', keyRotationSegments: 2, keyServerUrl: stack.keys!.url };
  const up = await uploadMaster({ file: master, title: 'Protected', ladder: 'fixed', protection }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  titleId = up.titleId;
  // A second master (another title id) for Common Encryption, queued behind the first.
  const cencMaster = await makeSyntheticMaster({ path: path.join(stack.dataDir, 'cenc.mp4'), durationS: 16, width: 640, height: 360, audio: true, frameRate: 25 }, stack.paths);
  const cenc: Protection = { scheme: 'cenc', keyRotationSegments: 0, keyServerUrl: stack.keys!.url };
  cencTitleId = (await uploadMaster({ file: cencMaster, title: 'Common Encryption', ladder: 'fixed', protection: cenc }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths })).titleId;
  for (const id of [titleId, cencTitleId]) {
    const final = await stack.queue.waitUntilFinished(id, () => {});
    expect(final.state, final.failedReason).toBe('completed');
  }
  token = signToken({ pathPrefix: `/vod/${titleId}/`, expiresAtS: Date.now() / 1000 + 3600 }, SIGNING_KEY);
  cencToken = signToken({ pathPrefix: `/vod/${cencTitleId}/`, expiresAtS: Date.now() / 1000 + 3600 }, SIGNING_KEY);
}, 360_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('an AES-128 encrypted title', () => {
  it('has every segment encrypted under the key its EXT-X-KEY names, rotated every 2 segments; a raw segment does not decode, the decrypted one does', async () => {
    const record = (await (await fetch(`${stack.edge!.url}/titles/${titleId}`)).json()) as { protection?: Protection; renditions: { uri: string; kind: string }[] };
    expect(record.protection).toMatchObject({ scheme: 'aes-128', keyRotationSegments: 2 });
    expect(record.renditions.some((r) => r.kind === 'audio')).toBe(true);
    // No I-frame playlists: their byte ranges could not be decrypted apart from the whole segment.
    expect(await (await fetch(`${stack.edge!.url}/vod/${titleId}/master.m3u8`)).text()).not.toMatch(/I-FRAME-STREAM-INF/);
    for (const r of record.renditions) {
      const media = await mediaPlaylist(r.uri);
      expect(media.segments.length).toBeGreaterThanOrEqual(4);
      const uris = media.segments.map((s) => s.key?.uri);
      expect(uris).toEqual(media.segments.map((_s, i) => `${stack.keys!.url}/keys/${titleId}/${Math.floor(i / 2)}`));
      expect(media.segments.every((s) => s.key?.method === 'AES-128' && s.key.iv?.byteLength === 16)).toBe(true);
    }

    // The first video segment: undecodable as published, decodable once decrypted with the served key.
    const video = record.renditions.find((r) => r.kind === 'video')!;
    const media = await mediaPlaylist(video.uri);
    const base = `${stack.edge!.url}/vod/${titleId}/${path.posix.dirname(video.uri)}`;
    const init = Buffer.from(await (await fetch(`${base}/${media.segments[0]!.map!.uri}`)).arrayBuffer());
    const seg = media.segments[2]!;
    const encrypted = Buffer.from(await (await fetch(`${base}/${seg.uri}`)).arrayBuffer());
    const keyRes = await fetch(seg.key!.uri!, { headers: { Authorization: `Bearer ${token}` } });
    expect(keyRes.status).toBe(200);
    const key = Buffer.from(await keyRes.arrayBuffer());
    const d = createDecipheriv('aes-128-cbc', key, Buffer.from(seg.key!.iv as unknown as Uint8Array));
    const clear = Buffer.concat([d.update(encrypted), d.final()]);
    const frames = async (bytes: Buffer) => {
      const file = path.join(stack.dataDir, `probe-${bytes.length}.mp4`);
      await fs.writeFile(file, Buffer.concat([init, bytes]));
      const { stdout } = await run(stack.paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
      return Number(stdout.trim().split('\n')[0]) || 0;
    };
    expect(await frames(clear)).toBeGreaterThan(50); // 4 s at 25-30 fps
    expect(await frames(encrypted)).toBe(0);
  });

  it('keeps its keys out of the data path: the edge and the origin answer no key, the key server none without a token', async () => {
    const seedKey = `keys/${titleId}/key-seed`;
    const seed = (await stack.store.get(seedKey))!;
    expect(seed).toBeDefined();
    expect(await stack.store.list(`vod/${titleId}`)).not.toContain('keys');
    for (const server of [stack.edge!.url, stack.origin!.url]) {
      for (const p of [`/${seedKey}`, `/keys/${titleId}/0`, `/vod/${titleId}/../../${seedKey}`, `/vod/${titleId}/..%2f..%2f${seedKey}`, `/vod/${titleId}/key-seed`]) {
        const res = await fetch(`${server}${p}`);
        const body = Buffer.from(await res.arrayBuffer());
        expect(res.status, `${server}${p}`).toBeGreaterThanOrEqual(400);
        expect(body.includes(seed), `${server}${p}`).toBe(false);
      }
    }
    expect((await fetch(`${stack.keys!.url}/keys/${titleId}/0`)).status).toBe(403);
    const otherTitle = signToken({ pathPrefix: '/vod/0000000000000000/', expiresAtS: Date.now() / 1000 + 60 }, SIGNING_KEY);
    expect((await fetch(`${stack.keys!.url}/keys/${titleId}/0`, { headers: { Authorization: `Bearer ${otherTitle}` } })).status).toBe(403);
  });

  it('plays in Chromium with the token (signed playlist URL): keys fetched with it, across a key rotation; without a token the player stops on a key error', async () => {
    const page = await browser.newPage();
    const keyRequests: { url: string; auth: string | undefined }[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${stack.keys!.url}/keys/`)) keyRequests.push({ url: r.url(), auth: r.headers().authorization });
    });
    const src = `${stack.edge!.url}/s/${token}/vod/${titleId}/master.m3u8`;
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}&src=${encodeURIComponent(src)}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 10, undefined, { timeout: 90_000 });
    const s = await page.evaluate(() => (window as unknown as { vodPlayer: { errors: { fatal: boolean }[]; fatalError: string | null } }).vodPlayer);
    expect(s.errors.filter((e) => e.fatal)).toEqual([]);
    expect(s.fatalError).toBeNull();
    const periods = new Set(keyRequests.map((k) => k.url.split('/').at(-1)));
    expect(periods).toContain('0');
    expect(periods).toContain('1'); // the key changed at segment 2 (4 s in) and the player followed
    expect(keyRequests.every((k) => k.auth === `Bearer ${token}`)).toBe(true);
    await page.close();

    const refused = await browser.newPage();
    await refused.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    await refused.waitForFunction(() => (window as unknown as { vodPlayer: { fatalError: string | null } }).vodPlayer.fatalError !== null, undefined, { timeout: 60_000 });
    const r = await refused.evaluate(() => ({
      fatalError: (window as unknown as { vodPlayer: { fatalError: string | null } }).vodPlayer.fatalError,
      time: (document.querySelector('video') as HTMLVideoElement).currentTime,
    }));
    expect(r.fatalError).toMatch(/key/i);
    expect(r.time).toBe(0);
    await refused.close();
  });
});

const text = async (uri: string) => (await fetch(`${stack.edge!.url}/vod/${cencTitleId}/${uri}`)).text();

describe('a cenc title', () => {
  it('signals Clear Key in every media and I-frame playlist, one key tag before the init segment', async () => {
    const record = (await (await fetch(`${stack.edge!.url}/titles/${cencTitleId}`)).json()) as { protection?: Protection; renditions: { uri: string; kind: string; iFrameUri?: string }[] };
    expect(record.protection).toMatchObject({ scheme: 'cenc' });
    const licenseUrl = `${stack.keys!.url}/clearkey/${cencTitleId}`;
    const uris = [...record.renditions.map((r) => r.uri), ...record.renditions.flatMap((r) => (r.iFrameUri ? [r.iFrameUri] : []))];
    expect(uris.filter((u) => u.endsWith('iframes.m3u8')).length).toBeGreaterThanOrEqual(2);
    for (const uri of uris) {
      const media = HLS.parse(await text(uri)) as InstanceType<typeof HLS.types.MediaPlaylist>;
      expect(media.segments.length, uri).toBeGreaterThan(0);
      expect(media.segments.every((s) => s.key?.method === 'SAMPLE-AES-CTR' && s.key.format === 'org.w3.clearkey' && s.key.uri === licenseUrl), uri).toBe(true);
    }
    expect(await text('master.m3u8')).toMatch(/I-FRAME-STREAM-INF/);
  });

  it('plays in Chromium through EME Clear Key with the token, the license asked with it; without a token the player stops on a license error', async () => {
    const page = await browser.newPage();
    const licenseRequests: { method: string; auth: string | undefined; status?: number }[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${stack.keys!.url}/clearkey/`) && r.method() === 'POST') licenseRequests.push({ method: r.method(), auth: r.headers().authorization });
    });
    const src = `${stack.edge!.url}/s/${cencToken}/vod/${cencTitleId}/master.m3u8`;
    await page.goto(`${stack.edge!.url}/player/?title=${cencTitleId}&src=${encodeURIComponent(src)}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 10, undefined, { timeout: 90_000 });
    const s = await page.evaluate(() => {
      const v = document.querySelector('video') as HTMLVideoElement;
      const p = (window as unknown as { vodPlayer: { errors: { fatal: boolean }[]; fatalError: string | null } }).vodPlayer;
      return { errors: p.errors, fatalError: p.fatalError, hasMediaKeys: v.mediaKeys !== null, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    });
    expect(s.errors.filter((e) => e.fatal)).toEqual([]);
    expect(s.fatalError).toBeNull();
    expect(s.hasMediaKeys).toBe(true); // decrypted by the browser's CDM, not played in the clear
    expect(s.frames).toBeGreaterThan(100);
    expect(licenseRequests.length).toBeGreaterThan(0);
    expect(licenseRequests.every((l) => l.auth === `Bearer ${cencToken}`)).toBe(true);
    await page.close();

    const refused = await browser.newPage();
    await refused.goto(`${stack.edge!.url}/player/?title=${cencTitleId}`);
    await refused.waitForFunction(() => (window as unknown as { vodPlayer: { fatalError: string | null } }).vodPlayer.fatalError !== null, undefined, { timeout: 60_000 });
    const r = await refused.evaluate(() => ({
      fatalError: (window as unknown as { vodPlayer: { fatalError: string | null } }).vodPlayer.fatalError,
      time: (document.querySelector('video') as HTMLVideoElement).currentTime,
      message: document.body.innerText,
    }));
    expect(r.fatalError).toMatch(/keySystem/);
    expect(r.message).toMatch(/license could not be obtained \(key server answered 403\)/);
    expect(r.time).toBe(0);
    await refused.close();
  });
});
