/**
 * ABR benchmark in real time, beside the simulator's prediction of the same sessions.
 *
 * A per-title title (Big Buck Bunny's 10 s clip looped to ABR_TITLE_S seconds, so its top rung,
 * about 2.4 Mbit/s at 720p, is above every trace's mean and the trace, not the ladder, limits
 * the bitrate) is published through the real pipeline, then played in headless Chromium through
 * a real edge that shapes each session to a real throughput trace (../shared/traces/net), in
 * real time, with each ABR controller: hls.js's own (`hlsjs`) and our rules as hls.js ABR
 * controllers (`throughput`, `bola`, `dynamic`; src/abr/). Every (trace, controller) cell is
 * played ABR_RUNS times (default 3) for ABR_PLAY_S seconds (default 30); the report gives the
 * median and min–max of the average bitrate (the playing rendition's AVERAGE-BANDWIDTH, as the
 * simulator counts it; time-weighted),
 * rebuffer ratio, startup time and switches per minute. Beside each cell, the ABR simulator
 * (`vod bench abr-sim`, src/abr/abr-sim.ts) runs the very same rule code on the same title's
 * segment sizes, trace, session length and buffer target, starting the trace where the page's
 * first segment request met it (the median over the cell's runs of the time from the edge
 * accepting the session's trace to the first media segment request: the page meanwhile loads
 * its playlists and init segments): the prediction it makes and its error against the Chromium
 * median.
 *
 * Writes bench/results/abr.json, abr.md and abr.svg (abr-<ABR_TAG>.* with ABR_TAG). Run: npm run
 * bench:abr (about 25 minutes with the defaults: 3 traces × 4 controllers × 3 runs × 30 s, plus
 * the encode). ABR_TRACES and ABR_CONTROLLERS (comma-separated; a trace is picked by any part of
 * its name, e.g. `puffer`) run a subset: `ABR_TRACES=puffer ABR_CONTROLLERS=bola ABR_TAG=puffer-bola
 * npm run bench:abr` takes about 6 minutes. ABR_DUMP=dir writes each run's switch log (every
 * decision with its rule, buffer, throughput estimate and BOLA placeholder), stalls and fragment
 * loads to dir/<trace>-<controller>-<n>.json.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { createAbrRule, type AbrRuleName } from '../src/abr/abr-rules.js';
import { HLSJS_MAX_BUFFER_SIZE_BYTES, qoeLinPerSegment, simulateSession } from '../src/abr/abr-sim.js';
import { loadSimTitle } from '../src/abr/sim-title.js';
import { loadConfig, storeDir } from '../src/config.js';
import { parseThroughputTrace, RateProfile } from '../src/edge-cache/shaping.js';
import { resolveFfmpegPaths } from '../src/encoder/ffmpeg.js';
import { uploadMaster } from '../src/ingest/upload.js';
import { FsObjectStore } from '../src/origin/fs-object-store.js';
import { startWholeStack } from '../src/stack/whole-stack.js';
import { renderVegaLiteSvg } from '../src/util/vega-svg.js';
import { launchChromium } from '../test/helpers/browser.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const PLAY_S = Number(process.env.ABR_PLAY_S ?? 30);
const RUNS = Math.max(1, Number(process.env.ABR_RUNS ?? 3));
const TITLE_S = Number(process.env.ABR_TITLE_S ?? 60);
/** The page's buffer target (hls.js maxBufferLength), s: the simulator is given the same. */
const BUFFER_TARGET_S = 30;
/**
 * How far ahead hls.js really buffers in the page: player-demo/player.js sets maxMaxBufferLength
 * to twice `?maxBufferLength`, and below 16 Mbit/s hls.js's 60 MB maxBufferSize lets it fill to
 * that (abr-sim.ts SimSettings.hlsBufferLimit); the simulator models the same.
 */
const HLS_BUFFER_LIMIT = { maxMaxBufferS: 2 * BUFFER_TARGET_S, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES };
/** A comma-separated env filter: the items any of whose parts it names (all when unset). */
const pick = <T extends string>(items: readonly T[], env: string | undefined): T[] => {
  const wanted = env?.split(',').map((w) => w.trim()).filter(Boolean);
  const out = wanted?.length ? items.filter((i) => wanted.some((w) => i.includes(w))) : [...items];
  if (out.length === 0) throw new Error(`nothing matches ${JSON.stringify(env)} among ${items.join(', ')}`);
  return out;
};
const TRACES = pick(['hsdpa_norway_3g/norway_tram_26.txt', 'fcc_broadband/trace_635_http---www.yahoo.com.txt', 'puffer/traceEpfovAiaxP_efWCrQ_e_f_D6Ebc6SwxAuUk3PjUQxFo__75.txt'], process.env.ABR_TRACES);
const CONTROLLERS: readonly AbrRuleName[] = pick<AbrRuleName>(['hlsjs', 'throughput', 'bola', 'dynamic'], process.env.ABR_CONTROLLERS);
/** Output name: abr.* or abr-<ABR_TAG>.* (a subset run should not replace the full one). */
const OUT_NAME = process.env.ABR_TAG ? `abr-${process.env.ABR_TAG.replace(/[^A-Za-z0-9_-]/g, '_')}` : 'abr';
/** Agreement we hold the simulator to (our bounds): average bitrate within ±25% of the Chromium median, rebuffer ratio within 3 points. */
const BITRATE_BOUND = 0.25;
const REBUFFER_BOUND = 0.03;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-abr-'));
const config = loadConfig({ VOD_DATA_DIR: dataDir, VOD_X264_PRESET: 'veryfast', VOD_HOST: '127.0.0.1', VMAF_MODEL: path.join(SHARED, 'vmaf', 'vmaf_v0.6.1.pkl') });
const paths = resolveFfmpegPaths(config);
const store = new FsObjectStore(storeDir(config));
const stack = await startWholeStack({ config, store, paths }, { origin: { port: 0 }, edge: { cacheBytes: 512 * 1024 * 1024, port: 0 } });
const { queue } = stack;
const edge = stack.edge!;

// The title: Big Buck Bunny looped (stream copy, so it stays the real clip's pictures).
const master = path.join(dataDir, `bbb_looped_${TITLE_S}s.mp4`);
const loops = Math.max(0, Math.ceil(TITLE_S / 10) - 1);
const made = spawnSync(paths.ffmpegPath, ['-v', 'error', '-y', '-stream_loop', String(loops), '-i', path.join(SHARED, 'media', 'bbb_anim_1280x720_24fps_10s_aac.mp4'), '-t', String(TITLE_S), '-c', 'copy', master]);
if (made.status !== 0) throw new Error(`could not make the looped master: ${made.stderr.toString()}`);
process.stderr.write(`encoding a ${TITLE_S} s Big Buck Bunny loop with the per-title ladder…\n`);
const up = await uploadMaster({ file: master, title: `Big Buck Bunny ×${loops + 1}`, ladder: 'per-title' }, { store, queue: async () => queue, paths });
const done = await queue.waitUntilFinished(up.titleId, () => {});
if (done.state !== 'completed') throw new Error(`encode failed: ${done.failedReason}`);
const simTitle = await loadSimTitle(store, up.titleId);
process.stderr.write(`ladder (AVERAGE-BANDWIDTH): ${simTitle.bitratesBps.map((b) => Math.round(b / 1000)).join(', ')} kbit/s\n`);

/**
 * QoE_lin per segment of a Chromium session, as the simulator scores its own (abr-sim.ts; Yin et
 * al., SIGCOMM 2015, μ = 4.3 as Pensieve): over the video segments the session loaded (the last
 * copy of each number, the first round(played / segment duration) numbers), Σ R_k − μ·(stall
 * seconds) − Σ |R_{k+1} − R_k|, R the level's AVERAGE-BANDWIDTH in Mbit/s, divided by the segments.
 * @returns undefined when no load matches a level.
 */
function sessionQoe(loads: readonly { name: string }[], playedS: number, rebufferS: number): number | undefined {
  const folderLevel = new Map((simTitle.levelUris ?? []).map((u, i) => [u.slice(0, u.lastIndexOf('/')), i]));
  const levelOf = new Map<number, number>();
  for (const l of loads) {
    const m = /^(video_[^/]+)\/seg_(\d+)\.m4s$/.exec(l.name);
    const level = m ? folderLevel.get(m[1]!) : undefined;
    if (level !== undefined) levelOf.set(Number(m![2]), level);
  }
  const d = simTitle.segmentDurationsS[0] ?? 4;
  const played = [...levelOf.keys()].sort((a, b) => a - b).slice(0, Math.max(1, Math.round(playedS / d)));
  if (played.length === 0) return undefined;
  return qoeLinPerSegment(played.map((n) => simTitle.bitratesBps[levelOf.get(n)!]! / 1e6), rebufferS);
}

interface Run {
  /** QoE_lin per segment (sessionQoe); NaN when no load matched a level. */
  qoePerSegment: number;
  averageBitrateBps: number;
  rebufferRatio: number;
  startupS: number;
  switchesPerMinute: number;
  playedS: number;
  /** Video segments loaded again at another level, and the smaller copy's bytes (what the repeat wasted). */
  refetchedSegments: number;
  refetchedBytes: number;
  /** Seconds from the edge starting the session's trace to the page's first media segment request. */
  firstSegmentS: number;
}

/** ABR_DUMP=dir: each run's switch log, stalls and fragment loads as JSON files there. */
const DUMP_DIR = process.env.ABR_DUMP ? path.resolve(process.env.ABR_DUMP) : undefined;
let dumpIndex = 0;
const short = (t: string) => t.split('/')[0]!;
const browser = await launchChromium();
async function play(traceName: string, controller: AbrRuleName): Promise<Run> {
  const page = await browser.newPage();
  try {
    await page.goto(`${edge.url}/player/?title=${up.titleId}&network=${encodeURIComponent(`trace:${traceName}`)}&maxBufferLength=${BUFFER_TARGET_S}${controller === 'hlsjs' ? '' : `&abr=${controller}`}`);
    let bitrateSum = 0;
    let playingSamples = 0;
    for (let elapsed = 0; elapsed < PLAY_S; elapsed += 0.5) {
      await page.waitForTimeout(500);
      const s = await page.evaluate(() => {
        const p = (window as unknown as { vodPlayer: { hls: { currentLevel: number; levels: { bitrate: number; averageBitrate?: number }[] } | null } }).vodPlayer;
        const v = document.querySelector('video') as HTMLVideoElement;
        const level = p.hls?.levels?.[p.hls.currentLevel];
        return { playing: !v.paused && v.readyState >= 3, bitrate: level ? level.averageBitrate || level.bitrate : 0 };
      });
      if (s.playing) {
        bitrateSum += s.bitrate;
        playingSamples++;
      }
    }
    const st = await page.evaluate(() => {
      const p = (window as unknown as { vodPlayer: { startupMs: number | null; rebuffers: { durationMs: number }[]; switches: unknown[] } }).vodPlayer;
      return { startupMs: p.startupMs, rebufferMs: p.rebuffers.reduce((a, r) => a + r.durationMs, 0), switches: Math.max(0, p.switches.length - 1) };
    });
    const playedS = playingSamples * 0.5;
    // The session's switch log (each decision: rule, buffer, estimate, placeholder), stalls and
    // fragment loads (Resource Timing: every load the page made, on the decisions' atMs clock).
    const log = await page.evaluate(() => {
      const p = (window as unknown as { vodPlayer: { abrDecisions?: unknown[]; rebuffers: unknown[]; switches: unknown[]; startupMs: number | null; shapedAtMs: number | null } }).vodPlayer;
      const loads = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => /\.(m4s|mp4)(\?|$)/.test(e.name))
        .map((e) => ({ name: new URL(e.name).pathname.replace(/^\/vod\/[^/]+\//, ''), startMs: Math.round(e.startTime), firstByteMs: Math.round(e.responseStart), endMs: Math.round(e.responseEnd), bytes: e.encodedBodySize }));
      return { startupMs: p.startupMs, shapedAtMs: p.shapedAtMs === null ? null : Math.round(p.shapedAtMs), decisions: p.abrDecisions ?? [], switches: p.switches, rebuffers: p.rebuffers, loads };
    });
    // Video segments loaded more than once (the same segment number at two levels): bytes the link
    // carried for nothing, the smaller copy's.
    const largest = new Map<string, number>();
    const refetch = { count: 0, bytes: 0 };
    for (const l of log.loads) {
      const n = /^video_[^/]+\/seg_(\d+)\.m4s$/.exec(l.name)?.[1];
      if (n === undefined) continue;
      if (largest.has(n)) {
        refetch.count++;
        refetch.bytes += Math.min(largest.get(n)!, l.bytes);
      }
      largest.set(n, Math.max(largest.get(n) ?? 0, l.bytes));
    }
    if (DUMP_DIR) {
      dumpIndex++;
      await fs.mkdir(DUMP_DIR, { recursive: true });
      await fs.writeFile(path.join(DUMP_DIR, `${short(traceName)}-${controller}-${dumpIndex}.json`), `${JSON.stringify(log, null, 1)}\n`);
    }
    const firstSegmentMs = Math.min(...log.loads.filter((l) => /\/seg_\d+\.m4s$/.test(l.name)).map((l) => l.startMs));
    return {
      qoePerSegment: sessionQoe(log.loads, playedS, st.rebufferMs / 1000) ?? Number.NaN,
      firstSegmentS: log.shapedAtMs !== null && Number.isFinite(firstSegmentMs) ? Math.max(0, (firstSegmentMs - log.shapedAtMs) / 1000) : 0,
      averageBitrateBps: playingSamples > 0 ? bitrateSum / playingSamples : 0,
      rebufferRatio: st.rebufferMs / 1000 / (playedS + st.rebufferMs / 1000 || 1),
      startupS: (st.startupMs ?? 0) / 1000,
      switchesPerMinute: playedS > 0 ? st.switches / (playedS / 60) : 0,
      playedS,
      refetchedSegments: refetch.count,
      refetchedBytes: refetch.bytes,
    };
  } finally {
    await page.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (runs: Run[], k: keyof Run) => ({ median: median(runs.map((r) => r[k])), min: Math.min(...runs.map((r) => r[k])), max: Math.max(...runs.map((r) => r[k])) });

const cells = [];
for (const traceName of TRACES) {
  const trace = parseThroughputTrace(traceName, await fs.readFile(path.join(SHARED, 'traces', 'net', traceName), 'utf8'));
  const profile = RateProfile.fromTrace(trace);
  let traceMean = 0;
  for (let t = 0; t < PLAY_S; t += 0.1) traceMean += profile.rateBpsAt(t) * 0.1;
  traceMean /= PLAY_S;
  for (const controller of CONTROLLERS) {
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await play(traceName, controller));
    // The simulator: the same rule code, title, trace, content length played, buffer target and
    // the trace time of the first segment request.
    const startS = median(runs.map((r) => r.firstSegmentS));
    const simSettings = { sessionS: Math.max(1, median(runs.map((r) => r.playedS))), bufferTargetS: BUFFER_TARGET_S, hlsBufferLimit: HLS_BUFFER_LIMIT };
    const sim = simulateSession(simTitle, RateProfile.fromTrace(trace), createAbrRule(controller), { ...simSettings, startS });
    // The same session with the trace started at the first request (how the simulator ran until 2026-12-03).
    const simAtZero = simulateSession(simTitle, RateProfile.fromTrace(trace), createAbrRule(controller), simSettings);
    const cell = {
      trace: traceName,
      controller,
      traceMeanBps: traceMean,
      runs,
      averageBitrateBps: spread(runs, 'averageBitrateBps'),
      rebufferRatio: spread(runs, 'rebufferRatio'),
      startupS: spread(runs, 'startupS'),
      switchesPerMinute: spread(runs, 'switchesPerMinute'),
      refetchedSegments: spread(runs, 'refetchedSegments'),
      qoePerSegment: spread(runs, 'qoePerSegment'),
      simulated: { startS, averageBitrateBps: sim.averageBitrateBps, rebufferRatio: sim.rebufferRatio, startupS: sim.startupS, switchesPerMinute: sim.switchesPerMinute, qoePerSegment: sim.qoePerSegment },
      simulatedFromTraceStart: { averageBitrateBps: simAtZero.averageBitrateBps, rebufferRatio: simAtZero.rebufferRatio, startupS: simAtZero.startupS },
    };
    const bitrateError = cell.simulated.averageBitrateBps / cell.averageBitrateBps.median - 1;
    const rebufferError = cell.simulated.rebufferRatio - cell.rebufferRatio.median;
    cells.push({ ...cell, bitrateError, rebufferError, withinBounds: Math.abs(bitrateError) <= BITRATE_BOUND && Math.abs(rebufferError) <= REBUFFER_BOUND });
    process.stderr.write(
      `${traceName} [${controller}]: avg ${(cell.averageBitrateBps.median / 1e3).toFixed(0)} kbit/s (${(cell.averageBitrateBps.min / 1e3).toFixed(0)}–${(cell.averageBitrateBps.max / 1e3).toFixed(0)}; sim ${(sim.averageBitrateBps / 1e3).toFixed(0)}), rebuffer ${(cell.rebufferRatio.median * 100).toFixed(1)}% (sim ${(sim.rebufferRatio * 100).toFixed(1)}%), trace mean ${(traceMean / 1e3).toFixed(0)}\n`,
    );
  }
}
await browser.close();
await stack.stop({ obliterateQueue: true });

/** Per rule: on how many traces its median QoE beats hls.js's own (issue 15's Chromium target), when both were played. */
function qoeAgainstHlsJs(all: readonly { trace: string; controller: string; qoePerSegment: { median: number } }[]): string[] {
  const out: string[] = [];
  for (const rule of CONTROLLERS.filter((c) => c !== 'hlsjs')) {
    const pairs = TRACES.map((t) => [all.find((c) => c.trace === t && c.controller === rule), all.find((c) => c.trace === t && c.controller === 'hlsjs')] as const).filter(([a, b]) => a && b);
    if (pairs.length === 0) continue;
    const wins = pairs.filter(([a, b]) => a!.qoePerSegment.median > b!.qoePerSegment.median).length;
    out.push(`${rule}: QoE above hls.js's on ${wins} of ${pairs.length} traces.`);
  }
  return out.length ? [...out, ''] : [];
}

const outDir = path.join(ROOT, 'bench', 'results');
await fs.mkdir(outDir, { recursive: true });
const kbps = (b: number) => (b / 1e3).toFixed(0);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const table = [
  `ABR in Chromium through the shaping edge (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores): ${simTitle.name} per-title ladder (AVERAGE-BANDWIDTH) ${simTitle.bitratesBps.map((b) => kbps(b)).join('/')} kbit/s, ${RUNS} runs × ${PLAY_S} s per cell, buffer target ${BUFFER_TARGET_S} s; median (min–max); "sim" is \`vod bench abr-sim\`'s prediction of the same session, its trace started where the page's first segment request met it ("first segment s", the median over the runs), "sim from trace start" the same with the first request at the trace's start.`,
  '',
  '| trace | controller | trace mean kbit/s | avg bitrate kbit/s | sim kbit/s | sim from trace start kbit/s | rebuffer | sim rebuffer | startup s | first segment s | switches/min | QoE/segment (sim) | segments loaded twice | sim within bounds |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...cells.map(
    (c) =>
      `| ${short(c.trace)} | ${c.controller} | ${kbps(c.traceMeanBps)} | ${kbps(c.averageBitrateBps.median)} (${kbps(c.averageBitrateBps.min)}–${kbps(c.averageBitrateBps.max)}) | ${kbps(c.simulated.averageBitrateBps)} | ${kbps(c.simulatedFromTraceStart.averageBitrateBps)} | ${pct(c.rebufferRatio.median)} (${pct(c.rebufferRatio.min)}–${pct(c.rebufferRatio.max)}) | ${pct(c.simulated.rebufferRatio)} | ${c.startupS.median.toFixed(2)} | ${c.simulated.startS.toFixed(2)} | ${c.switchesPerMinute.median.toFixed(1)} | ${c.qoePerSegment.median.toFixed(3)} (${c.simulated.qoePerSegment.toFixed(3)}) | ${c.refetchedSegments.median} (${c.refetchedSegments.min}–${c.refetchedSegments.max}) | ${c.withinBounds ? 'yes' : 'no'} (${c.bitrateError >= 0 ? '+' : '−'}${Math.abs(c.bitrateError * 100).toFixed(0)}%, ${c.rebufferError >= 0 ? '+' : '−'}${Math.abs(c.rebufferError * 100).toFixed(1)} pt) |`,
  ),
  '',
  `Bounds (ours): the simulator's average bitrate within ±${BITRATE_BOUND * 100}% of the Chromium median and its rebuffer ratio within ${REBUFFER_BOUND * 100} points; ${cells.filter((c) => c.withinBounds).length} of ${cells.length} cells within.`,
  '',
  ...qoeAgainstHlsJs(cells),
  'QoE/segment: QoE_lin per segment (Yin et al. 2015, μ = 4.3), the median over the runs, counted on the video segments each session loaded; in brackets the simulator\'s for the same session.',
  '',
].join('\n');
await fs.writeFile(path.join(outDir, `${OUT_NAME}.md`), table);
await fs.writeFile(
  path.join(outDir, `${OUT_NAME}.json`),
  `${JSON.stringify({ generatedAt: new Date().toISOString(), playSeconds: PLAY_S, runs: RUNS, bufferTargetS: BUFFER_TARGET_S, title: simTitle.name, ladderBps: simTitle.bitratesBps, bounds: { bitrate: BITRATE_BOUND, rebuffer: REBUFFER_BOUND }, cells }, null, 2)}\n`,
);
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: `ABR controllers over real throughput traces in Chromium (median of ${RUNS} × ${PLAY_S} s) and the simulator's prediction`,
  data: {
    values: cells.flatMap((c) => [
      { trace: short(c.trace), controller: c.controller, source: 'Chromium', metric: 'average bitrate (kbit/s)', value: c.averageBitrateBps.median / 1e3 },
      { trace: short(c.trace), controller: c.controller, source: 'simulator', metric: 'average bitrate (kbit/s)', value: c.simulated.averageBitrateBps / 1e3 },
      { trace: short(c.trace), controller: c.controller, source: 'Chromium', metric: 'rebuffer ratio (%)', value: c.rebufferRatio.median * 100 },
      { trace: short(c.trace), controller: c.controller, source: 'simulator', metric: 'rebuffer ratio (%)', value: c.simulated.rebufferRatio * 100 },
    ]),
  },
  facet: { row: { field: 'metric', type: 'nominal', title: null }, column: { field: 'trace', type: 'nominal', title: null } },
  spec: {
    width: 220,
    height: 160,
    mark: 'bar',
    encoding: { x: { field: 'controller', type: 'nominal', title: null }, xOffset: { field: 'source' }, y: { field: 'value', type: 'quantitative', title: null }, color: { field: 'source', type: 'nominal' } },
  },
  resolve: { scale: { y: 'independent' } },
  config: { background: 'white' },
} as TopLevelSpec;
await fs.writeFile(path.join(outDir, `${OUT_NAME}.svg`), await renderVegaLiteSvg(spec));
process.stdout.write(`${table}\nWrote bench/results/${OUT_NAME}.json, ${OUT_NAME}.md and ${OUT_NAME}.svg\n`);
process.exit(0);
