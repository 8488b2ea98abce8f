/**
 * Common Encryption end to end (ISO/IEC 23001-7 `cenc`, W3C Clear Key): a synthetic master with
 * audio, uploaded with `protection: cenc`, encoded by a real worker as a chunked flow, served by
 * a real origin and edge, its license by the real key server, and played by hls.js in headless
 * Chromium through EME (Clear Key CDM) with the playback token — and refused without it.
 */
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/http/url-signing.js';
import { uploadMaster } from '../../src/ingest/upload.js';
import type { Protection } from '../../src/keys/content-keys.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { createTestStack, type TestStack } from '../helpers/test-stack.js';
import path from 'node:path';

const SIGNING_KEY = 'e2e-signing-key-0123456789abcdef';

let stack: TestStack;
let browser: Browser;
let titleId: string;
let token: string;

beforeAll(async () => {
  stack = await createTestStack({ env: { VOD_SIGNING_KEY: SIGNING_KEY, VOD_CHUNK_DURATION_S: '8' } });
  await stack.startWorker();
  await stack.startServers();
  await stack.startKeyServer({ port: 0 });
  browser = await launchChromium();
  const master = await makeSyntheticMaster({ path: path.join(stack.dataDir, 'cenc.mp4'), durationS: 16, width: 640, height: 360, audio: true }, stack.paths);
  const protection: Protection = { scheme: 'cenc', keyRotationSegments: 0, keyServerUrl: stack.keys!.url };
  const up = await uploadMaster({ file: master, title: 'Common Encryption', ladder: 'fixed', protection }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  titleId = up.titleId;
  const final = await stack.queue.waitUntilFinished(titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
  token = signToken({ pathPrefix: `/vod/${titleId}/`, expiresAtS: Date.now() / 1000 + 3600 }, SIGNING_KEY);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const text = async (uri: string) => (await fetch(`${stack.edge!.url}/vod/${titleId}/${uri}`)).text();

describe('a cenc title', () => {
  it('signals Clear Key in every media and I-frame playlist, one key tag before the init segment', async () => {
    const record = (await (await fetch(`${stack.edge!.url}/titles/${titleId}`)).json()) as { protection?: Protection; renditions: { uri: string; kind: string; iFrameUri?: string }[] };
    expect(record.protection).toMatchObject({ scheme: 'cenc' });
    const licenseUrl = `${stack.keys!.url}/clearkey/${titleId}`;
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
    const src = `${stack.edge!.url}/s/${token}/vod/${titleId}/master.m3u8`;
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}&src=${encodeURIComponent(src)}`);
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
    expect(licenseRequests.every((l) => l.auth === `Bearer ${token}`)).toBe(true);
    await page.close();

    const refused = await browser.newPage();
    await refused.goto(`${stack.edge!.url}/player/?title=${titleId}`);
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
