/**
 * ABR in real headless Chromium: hls.js on the player page, a real edge shaping this
 * session's responses to a set rate, a title encoded by the real pipeline. Playback runs in
 * real time, so the forward buffer is small (?maxBufferLength=6) and the title just long enough
 * (120 s) to drop and recover the rate within it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { uploadMaster } from '../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestStack, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;
let browser: Browser;
let titleId: string;

/** Longest single stall allowed while the rate drops below the second rung, ms. */
const MAX_STALL_MS = 6000;

beforeAll(async () => {
  stack = await createTestStack();
  const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'abr.mp4'), durationS: 120, width: 768, height: 432 }, stack.paths);
  await stack.startWorker();
  await stack.startServers();
  const up = await uploadMaster({ file: master, title: 'ABR test', ladder: 'fixed' }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  const final = await stack.queue.waitUntilFinished(up.titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
  titleId = up.titleId;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

type PlayerState = { levels: { bitrate: number }[]; switches: { level: number }[]; rebuffers: { durationMs: number }[]; fatalError: string | null; session: string };
const player = (page: Page) => page.evaluate(() => {
  const s = (window as unknown as { vodPlayer: PlayerState & { hls: { currentLevel: number; loadLevel: number } | null } }).vodPlayer;
  // currentLevel: the rung playing now; loadLevel: the rung hls.js is downloading.
  return { levels: s.levels, switches: s.switches, rebuffers: s.rebuffers, fatalError: s.fatalError, session: s.session, currentLevel: s.hls?.currentLevel ?? -1, loadLevel: s.hls?.loadLevel ?? -1 };
});
const setNetwork = (page: Page, value: string) => page.evaluate((v) => (window as unknown as { vodPlayer: { setNetwork(v: string): Promise<void> } }).vodPlayer.setNetwork(v), value);

describe('ABR under shaped bandwidth', () => {
  it('steps down below the second rung when the rate drops, then back up when it recovers', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}&network=rate:6M&maxBufferLength=6`);
    // High rate: the player climbs to the upper rungs (4 rungs: 145k, 365k, 730k, 1100k targets).
    await expect.poll(async () => (await player(page)).currentLevel, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    const { levels } = await player(page);
    expect(levels).toHaveLength(4);
    // Below the second rung's BANDWIDTH: only the lowest rung fits.
    const low = Math.floor(levels[1]!.bitrate * 0.8);
    expect(low).toBeGreaterThan(levels[0]!.bitrate);
    const before = (await player(page)).loadLevel;
    await setNetwork(page, `rate:${low}`);
    // hls.js first plays out its buffer (up to ~16 s here), then downloads lower rungs: the first
    // lower download within five 4 s segments, the lowest rung within four more, and it plays
    // the lowest rung within three more.
    await expect.poll(async () => (await player(page)).loadLevel, { timeout: 20_000, interval: 250 }).toBeLessThan(before);
    await expect.poll(async () => (await player(page)).loadLevel, { timeout: 16_000, interval: 250 }).toBe(0);
    await expect.poll(async () => (await player(page)).currentLevel, { timeout: 12_000, interval: 250 }).toBe(0);

    // Recovery: hls.js's slow EWMA climbs back; it switches up off the lowest rung.
    await setNetwork(page, 'rate:6M');
    await expect.poll(async () => (await player(page)).loadLevel, { timeout: 25_000, interval: 250 }).toBeGreaterThanOrEqual(1);
    const after = await player(page);
    expect(after.fatalError).toBeNull();
    for (const r of after.rebuffers) expect(r.durationMs).toBeLessThan(MAX_STALL_MS);

    // The edge's QoE metrics saw this session.
    await page.waitForTimeout(2500); // beacons go out every 2 s
    const sessions = (await (await fetch(`${stack.edge!.url}/qoe/sessions`)).json()) as { sessions: { session: string; switches: number; startupMs: number; abr: string }[] };
    const mine = sessions.sessions.find((s) => s.session === after.session);
    expect(mine?.switches).toBeGreaterThanOrEqual(2);
    expect(mine?.startupMs).toBeGreaterThan(0);
    expect(mine?.abr).toBe('hlsjs'); // the page's default controller, named in its beacons
    const metrics = await (await fetch(`${stack.edge!.url}/metrics`)).text();
    expect(metrics).toMatch(/^vod_qoe_switches_total\{abr="hlsjs"\} [1-9]/m);
    expect(metrics).toMatch(/^vod_qoe_average_bitrate_bps\{abr="hlsjs"\} [1-9]/m);
    await page.close();
  });

  it('plays with our DYNAMIC rule as the hls.js ABR controller and steps down when the rate drops', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.edge!.url}/player/?title=${titleId}&network=rate:6M&maxBufferLength=6&abr=dynamic`);
    await expect.poll(async () => (await player(page)).currentLevel, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    const { levels } = await player(page);
    const before = (await player(page)).loadLevel;
    await setNetwork(page, `rate:${Math.floor(levels[1]!.bitrate * 0.8)}`);
    await expect.poll(async () => (await player(page)).loadLevel, { timeout: 30_000, interval: 250 }).toBeLessThan(before);
    await expect.poll(async () => (await player(page)).loadLevel, { timeout: 30_000, interval: 250 }).toBe(0);
    const decisions = await page.evaluate(() => (window as unknown as { vodPlayer: { abrRule: string; abrDecisions: { rule: string }[]; switches: { reason: string }[] } }).vodPlayer);
    expect(decisions.abrRule).toBe('dynamic');
    // DYNAMIC delegates: the throughput rule at start-up (empty buffer); every decision names its rule.
    expect(decisions.abrDecisions[0]!.rule).toBe('throughput');
    expect(decisions.abrDecisions.every((d) => d.rule === 'throughput' || d.rule === 'bola')).toBe(true);
    expect(decisions.switches.some((sw) => /^(throughput|bola) \(buffer/.test(sw.reason))).toBe(true);
    expect((await player(page)).fatalError).toBeNull();
    expect(errors).toEqual([]);
    // Its QoE beacons name the rule: /metrics keeps DYNAMIC's sessions apart from hls.js's.
    await expect
      .poll(async () => (await (await fetch(`${stack.edge!.url}/metrics`)).text()).match(/^vod_qoe_play_seconds_total\{abr="dynamic"\} ([0-9.]+)/m)?.[1], { timeout: 10_000, interval: 500 })
      .toMatch(/^[0-9.]*[1-9]/);
    await page.close();
  });

  it('shows a clear message when the edge dies and resumes when it returns', async () => {
    const page = await browser.newPage();
    const edgeUrl = stack.edge!.url;
    await page.goto(`${edgeUrl}/player/?title=${titleId}&maxBufferLength=8`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 30_000 });
    const port = Number(new URL(edgeUrl).port);
    await stack.edge!.close();
    await page.waitForFunction(() => !(document.getElementById('message') as HTMLElement).hidden, undefined, { timeout: 30_000 });
    expect(await page.textContent('#message')).toMatch(/edge cannot be reached/);
    await stack.startEdge({ cacheBytes: 64 * 1024 * 1024, port });
    await page.waitForFunction(() => (document.getElementById('message') as HTMLElement).hidden, undefined, { timeout: 30_000 });
    const t0 = await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime);
    await page.waitForFunction((t) => (document.querySelector('video') as HTMLVideoElement).currentTime > t + 2, t0, { timeout: 30_000 });
    await page.close();
  });
});
