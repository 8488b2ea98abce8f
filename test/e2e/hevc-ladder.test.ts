/**
 * A second codec end to end (`--codecs h264,hevc`): a synthetic master uploaded for a per-title
 * ladder in H.264 and HEVC, run by a real worker as a chunked flow (trial groups of both codecs
 * as child jobs, then chunk jobs encoding both ladders), served through the real origin and
 * edge. Checked: each codec's rungs come from its own hull (ladder.json), every variant's CODECS
 * matches its init segment (avc1… from avcC, hvc1… from hvcC) and the multivariant playlist lists
 * both codecs; Chromium (no HEVC decoder) keeps only the H.264 variants in hls.js and plays.
 */
import path from 'node:path';
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoCodecString } from '../../src/encoder/codecs.js';
import type { LadderReport } from '../../src/encoder/ladder-report.js';
import { uploadMaster } from '../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { createTestStack, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;
let browser: Browser;
let titleId: string;

beforeAll(async () => {
  stack = await createTestStack({ env: { VOD_CHUNK_DURATION_S: '8' } });
  await stack.startWorker();
  await stack.startServers();
  browser = await launchChromium();
  const master = await makeSyntheticMaster({ path: path.join(stack.dataDir, 'two-codecs.mp4'), durationS: 12, width: 480, height: 270, audio: true }, stack.paths);
  const up = await uploadMaster({ file: master, title: 'Two codecs', ladder: 'per-title', codecs: ['h264', 'hevc'] }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  titleId = up.titleId;
  const final = await stack.queue.waitUntilFinished(titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
}, 480_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const get = (uri: string) => fetch(`${stack.edge!.url}/vod/${titleId}/${uri}`);

describe('a title with an H.264 and an HEVC ladder', () => {
  it('has each ladder from its own hull, every CODECS from its init segment, both codecs in the multivariant playlist', async () => {
    const report = (await (await get('ladder.json')).json()) as LadderReport & { analysis: { rungs: unknown[]; hevc?: { rungs: { bitrateBps: number }[]; hull: { codec?: string }[] } } };
    expect(report.analysis.hevc?.rungs.length).toBeGreaterThan(0);
    expect(report.analysis.hevc!.hull.every((p) => p.codec === 'hevc')).toBe(true);
    const hevcRungs = report.rungs.filter((r) => r.codec === 'hevc');
    expect(hevcRungs).toHaveLength(report.analysis.hevc!.rungs.length);
    expect(report.rungs.length - hevcRungs.length).toBe(report.analysis.rungs.length);

    const master = HLS.parse(await (await get('master.m3u8')).text()) as InstanceType<typeof HLS.types.MasterPlaylist>;
    const video = master.variants.filter((v) => !v.isIFrameOnly);
    const codecsOf = (v: (typeof video)[number]) => v.codecs!.split(',')[0]!;
    expect(video.some((v) => codecsOf(v).startsWith('avc1.'))).toBe(true);
    expect(video.filter((v) => codecsOf(v).startsWith('hvc1.'))).toHaveLength(hevcRungs.length);
    for (const v of video) {
      const media = HLS.parse(await (await get(v.uri)).text()) as InstanceType<typeof HLS.types.MediaPlaylist>;
      const init = Buffer.from(await (await get(path.posix.join(path.posix.dirname(v.uri), media.segments[0]!.map!.uri))).arrayBuffer());
      expect(codecsOf(v), v.uri).toBe(videoCodecString(init));
      expect(v.uri.includes('hevc')).toBe(codecsOf(v).startsWith('hvc1.'));
    }
  });

  it("plays in Chromium on the H.264 variants only (hls.js leaves out what the browser cannot decode)", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 6, undefined, { timeout: 90_000 });
    const s = await page.evaluate(() => (window as unknown as { vodPlayer: { levels: { codecs: string }[]; fatalError: string | null } }).vodPlayer);
    expect(s.fatalError).toBeNull();
    expect(s.levels.length).toBeGreaterThan(0);
    expect(s.levels.every((l) => l.codecs.startsWith('avc1.'))).toBe(true);
    await page.close();
  });
});
