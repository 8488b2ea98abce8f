/**
 * ABR benchmark: plays the Tears of Steel clip (../shared/media) in headless Chromium through
 * a real edge that shapes the session to real throughput traces (../shared/traces/net), in
 * real time (no fast-forward), with hls.js's default ABR settings and with the tuned settings
 * the player offers (?abr=tuned). Reports per trace and setting: average delivered bitrate
 * (the playing rendition's BANDWIDTH, time-weighted), the trace's mean throughput over the
 * same window, rebuffer ratio, startup time and switches per minute. Writes
 * bench/results/abr.json and abr.svg. Run: npm run bench:abr (about 4 minutes).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from '../src/util/vega-svg.js';
import { loadConfig, storeDir } from '../src/config.js';
import { resolveFfmpegPaths } from '../src/encoder/ffmpeg.js';
import { parseThroughputTrace, RateProfile } from '../src/edge-cache/shaping.js';
import { uploadMaster } from '../src/ingest/upload.js';
import { FsObjectStore } from '../src/origin/fs-object-store.js';
import { startWholeStack } from '../src/stack/whole-stack.js';
import { launchChromium } from '../test/helpers/browser.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const PLAY_S = Number(process.env.ABR_PLAY_S ?? 40);
const TRACES = ['hsdpa_norway_3g/norway_tram_26.txt', 'fcc_broadband/trace_635_http---www.yahoo.com.txt', 'puffer/traceEpfovAiaxP_efWCrQ_e_f_D6Ebc6SwxAuUk3PjUQxFo__75.txt'];
const SETTINGS = ['default', 'tuned'] as const;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-abr-'));
// The recorded figures (README) were measured on the fixed ladder encoded with veryfast:
// pinned here so a rerun plays the same ladder.
const config = loadConfig({ VOD_DATA_DIR: dataDir, VOD_X264_PRESET: 'veryfast', VOD_HOST: '127.0.0.1' });
const paths = resolveFfmpegPaths(config);
const store = new FsObjectStore(storeDir(config));
const stack = await startWholeStack({ config, store, paths }, { origin: { port: 0 }, edge: { cacheBytes: 512 * 1024 * 1024, port: 0 } });
const { queue } = stack;
const edge = stack.edge!;
process.stderr.write('encoding the Tears of Steel clip…\n');
const up = await uploadMaster({ file: path.join(SHARED, 'media', 'tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm'), title: 'Tears of Steel', ladder: 'fixed' }, { store, queue: async () => queue, paths });
const done = await queue.waitUntilFinished(up.titleId, () => {});
if (done.state !== 'completed') throw new Error(`encode failed: ${done.failedReason}`);

const browser = await launchChromium();
const rows = [];
for (const traceName of TRACES) {
  const trace = parseThroughputTrace(traceName, await fs.readFile(path.join(SHARED, 'traces', 'net', traceName), 'utf8'));
  const profile = RateProfile.fromTrace(trace);
  let traceMean = 0;
  for (let t = 0; t < PLAY_S; t += 0.1) traceMean += profile.rateBpsAt(t) * 0.1;
  traceMean /= PLAY_S;
  for (const setting of SETTINGS) {
    const page = await browser.newPage();
    await page.goto(`${edge.url}/player/?title=${up.titleId}&network=${encodeURIComponent(`trace:${traceName}`)}${setting === 'tuned' ? '&abr=tuned' : ''}`);
    let bitrateSum = 0;
    let playingSamples = 0;
    for (let elapsed = 0; elapsed < PLAY_S; elapsed += 0.5) {
      await page.waitForTimeout(500);
      const s = await page.evaluate(() => {
        const p = (window as unknown as { vodPlayer: { hls: { currentLevel: number; levels: { bitrate: number }[] } | null } }).vodPlayer;
        const v = document.querySelector('video') as HTMLVideoElement;
        const level = p.hls?.levels?.[p.hls.currentLevel];
        return { playing: !v.paused && v.readyState >= 3, bitrate: level?.bitrate ?? 0 };
      });
      if (s.playing) {
        bitrateSum += s.bitrate;
        playingSamples++;
      }
    }
    const st = await page.evaluate(() => {
      const p = (window as unknown as { vodPlayer: { startupMs: number | null; rebuffers: { durationMs: number }[]; switches: unknown[] } }).vodPlayer;
      return { startupMs: p.startupMs, rebufferMs: p.rebuffers.reduce((a, r) => a + r.durationMs, 0), rebuffers: p.rebuffers.length, switches: Math.max(0, p.switches.length - 1) };
    });
    await page.close();
    const playedS = playingSamples * 0.5;
    const row = {
      trace: traceName,
      setting,
      traceMeanBps: traceMean,
      averageBitrateBps: playingSamples > 0 ? bitrateSum / playingSamples : 0,
      rebufferRatio: st.rebufferMs / 1000 / (playedS + st.rebufferMs / 1000 || 1),
      rebuffers: st.rebuffers,
      startupS: (st.startupMs ?? 0) / 1000,
      switchesPerMinute: playedS > 0 ? st.switches / (playedS / 60) : 0,
      playedS,
    };
    rows.push(row);
    process.stderr.write(`${traceName} [${setting}]: avg ${(row.averageBitrateBps / 1e3).toFixed(0)} kbit/s (trace mean ${(traceMean / 1e3).toFixed(0)}), rebuffer ${(row.rebufferRatio * 100).toFixed(1)}%, startup ${row.startupS.toFixed(2)} s, ${row.switchesPerMinute.toFixed(1)} switches/min\n`);
  }
}
await browser.close();
await stack.stop({ obliterateQueue: true });

const outDir = path.join(ROOT, 'bench', 'results');
await fs.mkdir(outDir, { recursive: true });
await fs.writeFile(path.join(outDir, 'abr.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), playSeconds: PLAY_S, title: 'Tears of Steel (70 s clip)', rows }, null, 2)}\n`);
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: `hls.js over real throughput traces (${PLAY_S} s each)`,
  data: { values: rows.flatMap((r) => [
    { trace: r.trace.split('/')[1]!.slice(0, 28), setting: r.setting, metric: 'average bitrate (kbit/s)', value: r.averageBitrateBps / 1e3 },
    { trace: r.trace.split('/')[1]!.slice(0, 28), setting: 'trace mean', metric: 'average bitrate (kbit/s)', value: r.traceMeanBps / 1e3 },
    { trace: r.trace.split('/')[1]!.slice(0, 28), setting: r.setting, metric: 'rebuffer ratio (%)', value: r.rebufferRatio * 100 },
  ]) },
  facet: { column: { field: 'metric', type: 'nominal', title: null } },
  spec: { width: 300, height: 220, mark: 'bar', encoding: { x: { field: 'trace', type: 'nominal', title: null }, xOffset: { field: 'setting' }, y: { field: 'value', type: 'quantitative', title: null }, color: { field: 'setting', type: 'nominal' } } },
  resolve: { scale: { y: 'independent' } },
  config: { background: 'white' },
} as TopLevelSpec;
await fs.writeFile(path.join(outDir, 'abr.svg'), await renderVegaLiteSvg(spec));
process.stdout.write(`| trace | setting | trace mean kbit/s | avg bitrate kbit/s | rebuffer ratio | startup s | switches/min |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n${rows.map((r) => `| ${r.trace} | ${r.setting} | ${(r.traceMeanBps / 1e3).toFixed(0)} | ${(r.averageBitrateBps / 1e3).toFixed(0)} | ${(r.rebufferRatio * 100).toFixed(1)}% | ${r.startupS.toFixed(2)} | ${r.switchesPerMinute.toFixed(1)} |`).join('\n')}\n\nWrote bench/results/abr.json and abr.svg\n`);
process.exit(0);
