/**
 * End to end: a real title (the shared Big Buck Bunny clip and a short synthetic master),
 * encoded by a real worker from a real queue, played by hls.js in headless Chromium through
 * a real edge in front of a real origin.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { uploadMaster } from '../../src/ingest/upload.js';
import type { LadderKind } from '../../src/title/title-address.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestStack, sharedMedia, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;
let browser: Browser;

async function publish(file: string, title: string, ladder?: LadderKind, subtitles?: { language: string; file: string }[]): Promise<string> {
  const result = await uploadMaster({ file, title, ...(ladder ? { ladder } : {}), ...(subtitles ? { subtitles } : {}) }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  const final = await stack.queue.waitUntilFinished(result.titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
  return result.titleId;
}

beforeAll(async () => {
  stack = await createTestStack();
  await stack.startWorker();
  await stack.startServers();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('playback through the edge', () => {
  it('plays Big Buck Bunny (default per-title ladder) in Chromium with hls.js: time advances, the ladder table shows measured quality, the seek bar previews thumbnails, a repeated segment is a HIT', async () => {
    const titleId = await publish(sharedMedia('bbb_anim_1280x720_24fps_10s_aac.mp4'), 'Big Buck Bunny');
    const report = JSON.parse(await fs.readFile(stack.store.localPath(`vod/${titleId}/ladder.json`), 'utf8')) as { ladder: string; rungs: { uri: string }[] };
    expect(report.ladder).toBe('per-title');
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    const edgeUrl = stack.edge!.url;
    await page.goto(`${edgeUrl}/player/?title=${titleId}`);

    // The catalog lists the title and the player starts it.
    await page.waitForSelector(`button[data-title-id="${titleId}"]`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 3, undefined, { timeout: 60_000 });
    const state = await page.evaluate(() => {
      const s = (window as unknown as { vodPlayer: { levels: unknown[]; switches: unknown[]; errors: { fatal: boolean }[]; fatalError: string | null } }).vodPlayer;
      return { levels: s.levels.length, switches: s.switches.length, fatal: s.errors.filter((e) => e.fatal), fatalError: s.fatalError };
    });
    expect(state.levels).toBe(report.rungs.length);
    expect(state.switches).toBeGreaterThan(0);
    expect(state.fatal).toEqual([]);
    expect(state.fatalError).toBeNull();
    // Readouts are live.
    await expect.poll(() => page.textContent('#rendition')).toMatch(/^\d+x\d+$/);
    expect(await page.textContent('#bandwidth')).toMatch(/bit\/s/);
    // The ladder table shows the title's ladder with each rung's measured quality (PSNR: no VMAF model in tests).
    await expect.poll(() => page.textContent('#ladder-info')).toMatch(/^Per-title ladder built on PSNR/);
    const qualityCells = await page.$$eval('#ladder tbody tr', (rows) => rows.map((r) => r.children[4]?.textContent ?? ''));
    expect(qualityCells).toHaveLength(report.rungs.length);
    for (const cell of qualityCells) expect(cell).toMatch(/^\d+\.\d+ \(5%: \d+\.\d+\)$/); // mean and 5th-percentile frame

    // Trick play: hovering the seek bar at 60% (6 s of 10) shows the thumbnail of the 4-8 s cue —
    // the second tile of the first sprite — and a click there seeks.
    await page.waitForFunction(() => ((window as unknown as { vodPlayer: { thumbnails: { cues: number } | null } }).vodPlayer.thumbnails?.cues ?? 0) > 0);
    const bar = (await page.locator('#scrub').boundingBox())!;
    await page.mouse.move(bar.x + bar.width * 0.6, bar.y + bar.height / 2);
    await expect.poll(() => page.isVisible('#scrub-thumb')).toBe(true);
    const shown = await page.evaluate(() => (window as unknown as { vodPlayer: { thumbnailShown: { url: string; x: number; y: number; w: number } } }).vodPlayer.thumbnailShown);
    expect(shown.url).toMatch(new RegExp(`/vod/${titleId}/thumbs/sprite_000\\.jpg$`));
    expect([shown.x, shown.y, shown.w]).toEqual([160, 0, 160]);
    const sprite = await fetch(shown.url);
    expect(sprite.status).toBe(200);
    expect(sprite.headers.get('content-type')).toBe('image/jpeg');
    await page.mouse.click(bar.x + bar.width * 0.8, bar.y + bar.height / 2);
    await expect.poll(() => page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime)).toBeGreaterThan(7.5);
    expect(consoleErrors).toEqual([]);
    await page.close();

    // The first segment of the lowest rung has been fetched through the edge: it is cached now.
    const segmentUrl = `${edgeUrl}/vod/${titleId}/${report.rungs[0]!.uri.replace('index.m3u8', 'seg_00000.m4s')}`;
    const first = await fetch(segmentUrl);
    await first.arrayBuffer();
    const second = await fetch(segmentUrl);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('content-type')).toBe('video/mp4');
  });

  it('plays the 2.4:1 VP8/Vorbis WebM clip', async () => {
    const titleId = await publish(sharedMedia('tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm'), 'Tears of Steel', 'fixed');
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 3, undefined, { timeout: 60_000 });
    const { levels, fatal, width, height } = await page.evaluate(() => {
      const s = (window as unknown as { vodPlayer: { levels: { width: number; height: number }[]; errors: { fatal: boolean }[] } }).vodPlayer;
      const v = document.querySelector('video') as HTMLVideoElement;
      return { levels: s.levels, fatal: s.errors.filter((e) => e.fatal), width: v.videoWidth, height: v.videoHeight };
    });
    expect(fatal).toEqual([]);
    expect(levels.map((l) => `${l.width}x${l.height}`)).toEqual(['416x172', '640x266', '768x318', '768x318']);
    expect(width / height).toBeCloseTo(800 / 332, 1);
    await page.close();
  });

  it('lists every audio language and subtitle track of the master, starts with the default audio, switches tracks and shows cues on time', async () => {
    const subtitleTracks = [
      { language: 'eng', cues: [{ startS: 2, endS: 4.5, text: 'Hello across a segment border' }, { startS: 9, endS: 10, text: 'Later' }] },
      { language: 'fre', isForced: true, cues: [{ startS: 1, endS: 2, text: 'Bonjour' }] },
    ];
    const master = await makeSyntheticMaster(
      { path: path.join(await makeTempDir(), 'two-languages.mkv'), durationS: 12, width: 640, height: 360, audioTracks: [{ language: 'eng' }, { language: 'ger', title: 'Deutsch', isDefault: true, channels: 6 }], subtitleTracks },
      stack.paths,
    );
    // And an Italian side file given at upload, in Windows-1252 as old .srt files often are.
    const italian = path.join(path.dirname(master), 'italian.srt');
    await fs.writeFile(italian, iconv.encode('1\n00:00:05,000 --> 00:00:06,000\nCiao, però è tardi\n', 'win1252'));
    const titleId = await publish(master, 'Two languages', 'fixed', [{ language: 'ita', file: italian }]);
    // The Italian cue was published as UTF-8 WebVTT (segment 1: 4–8 s).
    expect(await (await fetch(`${stack.edge!.url}/vod/${titleId}/subtitles_3/seg_00001.vtt`)).text()).toContain('00:00:05.000 --> 00:00:06.000\nCiao, però è tardi\n');
    // The German 5.1 stream also became AC-3 5.1, in its own audio group with its own variants.
    const mv = HLS.parse(await (await fetch(`${stack.edge!.url}/vod/${titleId}/master.m3u8`)).text());
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const variants = mv.variants.filter((v) => !v.isIFrameOnly);
    const byGroup = (g: string) => variants.filter((v) => v.audio[0]?.groupId === g);
    expect(byGroup('audio-aac').length).toBeGreaterThan(0);
    expect(byGroup('audio-ac3').length).toBe(byGroup('audio-aac').length);
    expect(byGroup('audio-ac3')[0]!.codecs!.split(',').slice(1).sort()).toEqual(['ac-3', 'mp4a.40.2']); // every codec of the group
    expect(byGroup('audio-ac3')[0]!.audio.map((a) => [a.name, a.channels, a.uri])).toEqual([
      ['English', '2', 'audio_aac_128k/index.m3u8'],
      ['Deutsch', '6', 'audio_ac3_384k_2/index.m3u8'],
    ]);
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    type Track = { name: string; lang: string | null; isDefault: boolean };
    type Player = { audioTracks: Track[]; audioTrack: number; subtitleTracks: Track[]; subtitleTrack: number; errors: { fatal: boolean }[] };
    const player = () => page.evaluate(() => (window as unknown as { vodPlayer: Player }).vodPlayer);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 60_000 });
    let s = await player();
    // Chromium has no AC-3 decoder: hls.js keeps the AAC variants only, one level per rung.
    expect(await page.evaluate(() => (window as unknown as { vodPlayer: { levels: unknown[] } }).vodPlayer.levels.length)).toBe(byGroup('audio-aac').length);
    expect(s.audioTracks).toEqual([
      { name: 'English', lang: 'en', isDefault: false },
      { name: 'Deutsch', lang: 'de', isDefault: true },
    ]);
    expect(s.audioTrack).toBe(1);
    expect(await page.isVisible('#audio-track')).toBe(true);
    expect(s.subtitleTracks).toEqual([
      { name: 'English', lang: 'en', isDefault: false },
      { name: 'French', lang: 'fr', isDefault: false },
      { name: 'Italian', lang: 'it', isDefault: false },
    ]);
    expect(await page.isVisible('#subtitle-track')).toBe(true);
    // The menu switches hls.js to English, and playback goes on.
    await page.selectOption('#audio-track', '0');
    await page.waitForFunction(() => (window as unknown as { vodPlayer: Player }).vodPlayer.audioTrack === 0, undefined, { timeout: 20_000 });
    const at = await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime);
    await page.waitForFunction((t) => (document.querySelector('video') as HTMLVideoElement).currentTime > t + 2, at, { timeout: 30_000 });
    // English subtitles: the cue from 2 s to 4.5 s (in two WebVTT segments) is on the media
    // timeline where the master had it, once.
    await page.selectOption('#subtitle-track', '0');
    await page.evaluate(() => {
      const v = document.querySelector('video') as HTMLVideoElement;
      v.currentTime = 1;
    });
    const cues = await page.waitForFunction(
      () => {
        const track = [...(document.querySelector('video') as HTMLVideoElement).textTracks].find((t) => t.label === 'English' && t.mode === 'showing');
        const list = [...(track?.cues ?? [])] as VTTCue[];
        return list.length >= 2 ? list.map((c) => ({ startTime: c.startTime, endTime: c.endTime, text: c.text })) : false;
      },
      undefined,
      { timeout: 30_000 },
    );
    const list = (await cues.jsonValue()) as { startTime: number; endTime: number; text: string }[];
    expect(list.filter((c) => c.text === 'Hello across a segment border')).toHaveLength(1);
    const hello = list.find((c) => c.text === 'Hello across a segment border')!;
    expect(hello.startTime).toBeCloseTo(2, 1);
    expect(hello.endTime).toBeCloseTo(4.5, 1);
    s = await player();
    expect(s.subtitleTrack).toBe(0);
    expect(s.errors.filter((e) => e.fatal)).toEqual([]);
    await page.close();
  });

  it('plays a 60 fps master whose low rungs are 30 fps (fixed ladder, as Apple lists it) and says so in the ladder table', async () => {
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'sixty.mp4'), durationS: 4, width: 960, height: 540, frameRate: 60 }, stack.paths);
    const titleId = await publish(master, 'Sixty', 'fixed');
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 1.5, undefined, { timeout: 60_000 });
    const fatal = await page.evaluate(() => (window as unknown as { vodPlayer: { errors: { fatal: boolean }[] } }).vodPlayer.errors.filter((e) => e.fatal));
    expect(fatal).toEqual([]);
    const sizes = await page.$$eval('#ladder tbody tr', (rows) => rows.map((r) => r.children[1]?.textContent ?? ''));
    expect(sizes).toEqual(['416x234 · 30 fps', '640x360 · 30 fps', '768x432 · 30 fps', '768x432 · 30 fps', '960x540 · 60 fps']);
    const menu = await page.$$eval('#quality option', (options) => options.map((o) => o.textContent ?? ''));
    expect(menu.slice(1).map((m) => m.split(' · ')[0])).toEqual(['234p30', '360p30', '432p30', '432p30', '540p60']);
    await expect.poll(() => page.textContent('#rendition')).toMatch(/^\d+x\d+ · (30|60) fps$/);
    await page.close();
  });

  it('plays the 12.5 fps live-action clip', async () => {
    const titleId = await publish(sharedMedia('intel_liveaction_car_detection_768x432_12.5fps_30s_aac.mp4'), 'Car detection', 'fixed');
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 3, undefined, { timeout: 60_000 });
    const fatal = await page.evaluate(() => (window as unknown as { vodPlayer: { errors: { fatal: boolean }[] } }).vodPlayer.errors.filter((e) => e.fatal));
    expect(fatal).toEqual([]);
    await page.close();
  });
});

