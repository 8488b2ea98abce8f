/**
 * How well the per-title analysis's sample stands for its title, in bits (per-title-sample.ts
 * sampleWindows, title-complexity.ts). For each master and each of two rungs (the display height
 * ÷ 1 at CRF 26 and ÷ 3 at CRF 32, x264 veryfast as the trials) it encodes the whole title twice:
 * with one keyframe (every frame's bits are its content's, not its place in a GOP) and with the
 * final encodes' GOP (one segment, 4 s, no scene cuts: rendition.ts). Then for each way of
 * choosing the sample it reports
 *   - the sample frames' bitrate in the one-keyframe encode against the whole title's
 *     ("frames vs title"): how representative the sample's frames are;
 *   - the bitrate of a trial encode of the sample as the analysis makes it against the same
 *     frames in the final-GOP encode ("trial vs frames"): what coding the windows on their own
 *     adds (window joins coded as cuts, keyframes).
 * The ways: the 4 s windows of the 20% rule centred in their shares (minWindows 1, no profile:
 * before 2026-12-04); the same seconds in MIN_SAMPLE_WINDOWS shorter windows, centred; those
 * placed by the complexity scan (the default); and the shorter windows each with its own GOP,
 * their keyframes counted at full weight and at their share of a 4 s GOP (measured, not taken).
 * Also the complexity scan's time per master.
 *
 * Writes bench/results/sample-bias.json and sample-bias.md.
 * Run: npm run bench:sample-bias   (about 3 minutes on 2 cores; BENCH_CLIPS=a.mp4,/path/b.mov as bench:ladder)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { probePackets, resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { toEven } from '../src/encoder/fixed-ladder.js';
import { qualityMeasurementSize } from '../src/encoder/quality-metrics.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { decodeSample, sampleWindows, MIN_SAMPLE_WINDOWS, type SampleWindow } from '../src/encoder/per-title-sample.js';
import { scanComplexity } from '../src/encoder/title-complexity.js';
import { videoEncoderOptions } from '../src/encoder/rendition.js';
import { outputFrameRate } from '../src/encoder/title-stages.js';
import { benchClips } from './bench-clips.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const MEDIA = path.resolve(ROOT, '..', 'shared', 'media');
const OUT = path.join(ROOT, 'bench', 'results');
const WINDOW_S = 4;
const paths = resolveFfmpegPaths(loadConfig(process.env));
const clips = [...(await benchClips(MEDIA)).values()];
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-sample-bias-'));

interface Way { readonly name: string; readonly windows: SampleWindow[]; readonly ownGop: boolean; readonly keyframeWeight: number }
const rows: Record<string, unknown>[] = [];
const md: string[] = [];
const pct = (x: number, of: number): string => `${x >= of ? '+' : '−'}${Math.abs((x / of - 1) * 100).toFixed(1)}%`;

/** Bits of each frame of `file` by frame index at `rate`, and whether it is a keyframe. */
async function framesOf(file: string, rate: number): Promise<{ bits: number; key: boolean }[]> {
  const packets = await probePackets(file, paths);
  const first = Math.min(...packets.map((p) => p.ptsS));
  const out: { bits: number; key: boolean }[] = [];
  for (const p of packets) out[Math.round((p.ptsS - first) * rate)] = { bits: p.sizeBytes * 8, key: p.keyframe };
  return Array.from(out, (x) => x ?? { bits: 0, key: false });
}

for (const clip of clips) {
  const name = path.basename(clip);
  const probed = await inspectMaster(clip, paths);
  const video = probed.video!;
  const rate = outputFrameRate(video);
  const gop = Math.round(rate * WINDOW_S);
  const ref = qualityMeasurementSize(video); // as the pipeline measures
  const scanStarted = performance.now();
  const profile = await scanComplexity(clip, probed, rate, paths);
  const scanS = (performance.now() - scanStarted) / 1000;
  const split = sampleWindows(probed.durationS, WINDOW_S, 0.2, 10, rate);
  const placed = sampleWindows(probed.durationS, WINDOW_S, 0.2, 10, rate, MIN_SAMPLE_WINDOWS, profile);
  const ways: Way[] = [
    { name: '4 s windows, centred (before)', windows: sampleWindows(probed.durationS, WINDOW_S, 0.2, 10, rate, 1), ownGop: false, keyframeWeight: 1 },
    { name: `${split.length} windows, centred`, windows: split, ownGop: false, keyframeWeight: 1 },
    { name: `${placed.length} windows, placed by the scan (default)`, windows: placed, ownGop: false, keyframeWeight: 1 },
    { name: `${split.length} windows centred, GOP each`, windows: split, ownGop: true, keyframeWeight: 1 },
    { name: `${split.length} windows centred, GOP each, keyframes weighted`, windows: split, ownGop: true, keyframeWeight: split[0]!.durationS / WINDOW_S },
  ];
  const at = (ws: SampleWindow[]) => ws.map((w) => `${w.startS.toFixed(2)}+${w.durationS.toFixed(2)}`).join(', ');
  md.push(`### ${name} (${probed.durationS.toFixed(1)} s; complexity scan ${scanS.toFixed(1)} s; centred ${at(split)} s; placed ${at(placed)} s)`, '', '| rung | way | frames kbit/s (vs title) | trial kbit/s (vs frames) |', '|---|---|---:|---:|');
  for (const [divisor, crf] of [[1, 26], [3, 32]] as const) {
    const size = { width: toEven(ref.width / divisor), height: toEven(ref.height / divisor) };
    const encode = (inputs: { source: string }[], vf: string, g: number, out: string) =>
      runFfmpeg({ inputs, outputOptions: ['-vf', vf, ...videoEncoderOptions({ preset: 'veryfast', crf, gop: g }), '-an', '-sn'], output: out }, paths);
    const scale = `setpts=PTS-STARTPTS,fps=fps=${Number(rate.toFixed(3))},scale=${ref.width}:${ref.height}:flags=bicubic,scale=${size.width}:${size.height}:flags=bicubic,format=yuv420p`;
    const whole = path.join(work, 'whole.mp4');
    await encode([{ source: clip }], scale, gop, whole);
    const title = await framesOf(whole, rate);
    await encode([{ source: clip }], scale, 1_000_000, whole);
    const content = await framesOf(whole, rate);
    const titleKbps = (content.reduce((s, f) => s + f.bits, 0) / content.length) * (rate / 1000);
    md.push(`| ${size.width}x${size.height} CRF ${crf} | whole title | ${titleKbps.toFixed(0)} | |`);
    for (const way of ways) {
      const framesIn = (all: { bits: number }[]) => way.windows.flatMap((w) => {
        const a = Math.ceil(w.startS * rate - 1e-6);
        return all.slice(a, a + Math.round(w.durationS * rate));
      });
      const kbps = (xs: { bits: number }[]) => (xs.reduce((s, f) => s + f.bits, 0) / xs.length) * (rate / 1000);
      const contentKbps = kbps(framesIn(content));
      const inTitleKbps = kbps(framesIn(title));
      const sample = (await decodeSample(clip, { windows: way.windows, reference: ref, frameRate: rate, ...(probed.videoStartOffsetS ? { videoStartOffsetS: probed.videoStartOffsetS } : {}) }, work, paths))!;
      const trialFile = path.join(work, 'trial.mp4');
      await encode([{ source: sample }], `scale=${size.width}:${size.height}:flags=bicubic`, way.ownGop ? Math.round(way.windows[0]!.durationS * rate) : gop, trialFile);
      const trial = await framesOf(trialFile, rate);
      const bits = trial.map((f) => f.bits * (f.key ? way.keyframeWeight : 1));
      const trialKbps = (bits.reduce((a, b) => a + b, 0) / trial.length) * (rate / 1000);
      await fs.rm(sample, { force: true });
      rows.push({ clip: name, width: size.width, height: size.height, crf, way: way.name, scanS, titleKbps, contentKbps, inTitleKbps, trialKbps });
      md.push(`| | ${way.name} | ${contentKbps.toFixed(0)} (${pct(contentKbps, titleKbps)}) | ${trialKbps.toFixed(0)} (${pct(trialKbps, inTitleKbps)}) |`);
      process.stderr.write(`${name} ${size.width}x${size.height} ${way.name}: ${contentKbps.toFixed(0)} / ${trialKbps.toFixed(0)} kbit/s (title ${titleKbps.toFixed(0)})\n`);
    }
  }
  md.push('');
}
await fs.rm(work, { recursive: true, force: true });
const date = new Date().toISOString().slice(0, 10);
const header = `Per-title sample vs title, in bits (${date}, ${os.cpus().length} cores; x264 veryfast; MIN_SAMPLE_WINDOWS ${MIN_SAMPLE_WINDOWS}; \`npm run bench:sample-bias\`).`;
await fs.mkdir(OUT, { recursive: true });
await fs.writeFile(path.join(OUT, 'sample-bias.json'), `${JSON.stringify({ date, rows }, null, 2)}\n`);
await fs.writeFile(path.join(OUT, 'sample-bias.md'), `${header}\n\n${md.join('\n')}\n`);
process.stdout.write(`${header}\n\n${md.join('\n')}\nWrote bench/results/sample-bias.json, sample-bias.md\n`);
