/**
 * What measuring the published rungs on a frame sample costs in accuracy, and saves in time
 * (issue 13: "VMAF on every n-th frame with the error that causes measured and stated").
 *
 * For every clip in ../shared/media (and, with --synth-1080p <s>, a synthetic 1920x1080 30 fps
 * master made from ffmpeg's test sources with temporal noise), three rungs are encoded with x264
 * (the display height ÷ 1, ÷ 2 and ÷ 4, CRF 23, 30 and 37), then each rung is measured against
 * the master as the pipeline measures it (measureFrameScoresBatch: PSNR, SSIM, VMAF at the
 * master's display size) twice: on every frame, and on the published rungs' default frame sample
 * (rungFrameSample: RUNG_QUALITY_FRAMES_PER_S frames per second, each with its two neighbours,
 * the reference's kept frames decoded once). Reports per rung the difference of the mean VMAF, of
 * the 5th-percentile frame's VMAF and of the PSNR, and the wall time of both measurements.
 * Then, from the every-frame scores, the error by frame count (what RUNG_QUALITY_MAX_FRAMES rests
 * on): for N scored frames per rung, the mean and 5th-percentile VMAF of every (frames ÷ N)-th
 * frame from each possible first frame against every frame's — a sampled frame scored with its two
 * neighbours scores as it does among every frame (tested), so these are the scores a frame sample
 * of that stride gets — beside σ/√N, σ the spread of the rung's per-frame VMAF.
 *
 * Writes bench/results/rung-sample.json and rung-sample.md.
 * Run: npm run bench:rung-sample -- --help   (about 15 minutes on 2 cores with --synth-1080p 10)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { toEven } from '../src/encoder/fixed-ladder.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { rungFrameSample, RUNG_QUALITY_FRAMES_PER_S, RUNG_QUALITY_MAX_FRAMES } from '../src/encoder/measure-stage.js';
import { LOW_FRAME_PERCENTILE, measureFrameScoresBatch, nearestRankPercentile, qualityMeasurementSize, summarizeFrames, type QualityScores } from '../src/encoder/quality-metrics.js';
import { outputFrameRate } from '../src/encoder/title-stages.js';
import { makeSyntheticMaster } from '../fixtures/synthetic-master.js';
import { transparentHugePagesMode } from '../src/util/transparent-huge-pages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Segment length of the rungs, s: each is encoded with a keyframe every segment, as published rungs are. */
const SEGMENT_S = 4;
const MEDIA = path.resolve(ROOT, '..', 'shared', 'media');
const OUT = path.join(ROOT, 'bench', 'results');

const opts = new Command('bench:rung-sample')
  .description("Error and time saved by measuring the published rungs on the default frame sample instead of every frame.")
  .option('--clips <list>', 'comma-separated file names in ../shared/media (default: all; "none" for none)')
  .option('--synth-1080p <s>', 'add a synthetic 1920x1080 30 fps master of this length, s', (v) => Number(v), 0)
  .option('--vmaf-model <path>', 'VMAF model', process.env.VMAF_MODEL ?? path.resolve(ROOT, '..', 'shared', 'vmaf', 'vmaf_v0.6.1.pkl'))
  .parse()
  .opts<{ clips?: string; synth1080p: number; vmafModel: string }>();

const paths = resolveFfmpegPaths(loadConfig({}));
/** The host's THP mode, which sets libvmaf's speed (src/util/transparent-huge-pages.ts). */
const thp = (await transparentHugePagesMode()) ?? 'unknown';
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-rung-sample-'));
const only = opts.clips?.split(',').map((s) => s.trim());
const masters: string[] = [];
for (const f of (await fs.readdir(MEDIA)).filter((f) => /\.(mp4|mov|mkv|webm)$/i.test(f) && (!only || only.includes(f))).sort()) masters.push(path.join(MEDIA, f));
if (opts.synth1080p > 0) {
  process.stderr.write(`making a ${opts.synth1080p} s 1080p30 master… `);
  masters.push(await makeSyntheticMaster({ path: path.join(work, `synth_testsrc2_noise_1920x1080_30fps_${opts.synth1080p}s.mp4`), durationS: opts.synth1080p, width: 1920, height: 1080, frameRate: 30, audio: false, videoFilter: 'noise=alls=6:allf=t' }, paths));
  process.stderr.write('done\n');
}

interface Row {
  clip: string;
  rung: string;
  frames: number;
  frameSample: number;
  every: QualityScores;
  /** Mean VMAF of every n-th frame from frame 0 (the sampler until 2026-12-02, n = round(frame rate)), from the every-frame scores. */
  fromZeroVmaf: number;
  sampled: QualityScores;
  everyS: number;
  sampledS: number;
}
const rows: Row[] = [];

/** Scored frames per rung the error-by-frame-count table looks at. */
const FRAME_COUNTS = [10, 20, 40, 80, 160, 320, 600];

interface ByCount {
  clip: string;
  rung: string;
  frames: number;
  /** Standard deviation of the rung's per-frame VMAF. */
  sigma: number;
  counts: { n: number; stride: number; meanMaxAbs: number; meanRms: number; lowMaxAbs: number }[];
}
const byCount: ByCount[] = [];

/** Error of every systematic sample of about `n` frames (each first frame) against every frame. */
function errorsByCount(vmaf: readonly number[], n: number): ByCount['counts'][number] | undefined {
  const stride = Math.floor(vmaf.length / n);
  if (stride < 2) return undefined;
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const all = mean(vmaf);
  const allLow = nearestRankPercentile(vmaf, LOW_FRAME_PERCENTILE);
  const errs: number[] = [];
  const lowErrs: number[] = [];
  for (let o = 0; o < stride; o++) {
    const sample = vmaf.filter((_v, i) => i >= o && (i - o) % stride === 0);
    errs.push(mean(sample) - all);
    lowErrs.push(nearestRankPercentile(sample, LOW_FRAME_PERCENTILE) - allLow);
  }
  return { n, stride, meanMaxAbs: Math.max(...errs.map(Math.abs)), meanRms: Math.sqrt(mean(errs.map((e) => e * e))), lowMaxAbs: Math.max(...lowErrs.map(Math.abs)) };
}
for (const master of masters) {
  const clip = path.basename(master);
  const info = await inspectMaster(master, paths);
  const video = info.video!;
  const frameRate = outputFrameRate(video);
  const { width, height } = qualityMeasurementSize(video); // as the pipeline measures
  const gop = Math.round(frameRate * SEGMENT_S);
  const rungs: { name: string; file: string }[] = [];
  for (const [k, crf] of [23, 30, 37].entries()) {
    const h = toEven(height / 2 ** k);
    const w = toEven((width * h) / height);
    const file = path.join(work, `${clip}.${h}p.mp4`);
    await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-an', '-vf', `scale=${w}:${h}`, '-r', String(frameRate), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0'], output: file }, paths);
    rungs.push({ name: `${w}x${h} CRF ${crf}`, file });
  }
  const spec = { reference: master, referenceDurationS: info.durationS, width, height, frameRate, ssim: true, vmafModelPath: opts.vmafModel };
  const n = rungFrameSample(frameRate, SEGMENT_S);
  process.stderr.write(`${clip}: every frame… `);
  let t = performance.now();
  const every = await measureFrameScoresBatch(spec, rungs.map((r) => r.file), paths);
  const everyS = (performance.now() - t) / 1000;
  process.stderr.write(`${everyS.toFixed(0)} s; every ${n}th frame and its neighbours… `);
  t = performance.now();
  const sampled = await measureFrameScoresBatch({ ...spec, frameSample: n }, rungs.map((r) => r.file), paths);
  const sampledS = (performance.now() - t) / 1000;
  process.stderr.write(`${sampledS.toFixed(0)} s\n`);
  const before = Math.max(1, Math.round(frameRate / RUNG_QUALITY_FRAMES_PER_S));
  const fromZero = (v: readonly number[]) => { const s = v.filter((_x, i) => i % before === 0); return s.reduce((a, b) => a + b, 0) / s.length; };
  rungs.forEach((r, j) => {
    const v = every[j]!.vmaf!;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const sigma = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    byCount.push({ clip, rung: r.name, frames: v.length, sigma, counts: FRAME_COUNTS.map((n) => errorsByCount(v, n)).filter((c) => c !== undefined) });
  });
  rungs.forEach((r, j) =>
    rows.push({ clip, rung: r.name, frames: every[j]!.mseY!.length, frameSample: n, every: summarizeFrames(every[j]!), fromZeroVmaf: fromZero(every[j]!.vmaf!), sampled: summarizeFrames(sampled[j]!), everyS: everyS / rungs.length, sampledS: sampledS / rungs.length }),
  );
}

const f = (x: number, d = 2) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}`;
const diffs = rows.map((r) => ({ vmaf: r.sampled.vmaf! - r.every.vmaf!, low: r.sampled.low!.vmaf! - r.every.low!.vmaf!, psnr: r.sampled.psnrDb - r.every.psnrDb, fromZero: r.fromZeroVmaf - r.every.vmaf! }));
const maxAbs = (k: 'vmaf' | 'low' | 'psnr' | 'fromZero') => Math.max(...diffs.map((d) => Math.abs(d[k])));
const everyTotal = rows.reduce((a, r) => a + r.everyS, 0);
const sampledTotal = rows.reduce((a, r) => a + r.sampledS, 0);
const md = [
  `Rung quality on a frame sample against every frame (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, transparent huge pages ${thp}; ${RUNG_QUALITY_FRAMES_PER_S} frame per second of content, the sampled frames in the middle of each stride, the stride coprime with the ${SEGMENT_S} s GOP, each with its two neighbours; rungs encoded with a keyframe every ${SEGMENT_S} s as published rungs are; VMAF v0.6.1, PSNR and SSIM as the pipeline measures published rungs; \`npm run bench:rung-sample\`). "from frame 0": the mean VMAF of every round(frame rate)-th frame from frame 0, the sampler until 2026-12-02, computed from the every-frame scores.`,
  '',
  '| clip | rung | frames | stride | VMAF every frame | sampled − every | from frame 0 − every | 5th-pct frame VMAF every | sampled − every | PSNR dB every | sampled − every | time every / sampled, s |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r, i) => `| ${r.clip} | ${r.rung} | ${r.frames} | ${r.frameSample} | ${r.every.vmaf!.toFixed(2)} | ${f(diffs[i]!.vmaf)} | ${f(diffs[i]!.fromZero)} | ${r.every.low!.vmaf!.toFixed(2)} | ${f(diffs[i]!.low)} | ${r.every.psnrDb.toFixed(2)} | ${f(diffs[i]!.psnr)} | ${r.everyS.toFixed(1)} / ${r.sampledS.toFixed(1)} |`),
  '',
  `Largest difference over the rungs: mean VMAF ${maxAbs('vmaf').toFixed(2)} (from frame 0: ${maxAbs('fromZero').toFixed(2)}), 5th-percentile frame VMAF ${maxAbs('low').toFixed(2)}, PSNR ${maxAbs('psnr').toFixed(2)} dB. Time: ${everyTotal.toFixed(0)} s every frame, ${sampledTotal.toFixed(0)} s sampled (${(everyTotal / sampledTotal).toFixed(1)}× less).`,
  '',
  `Error by frame count (from the every-frame scores): for N scored frames per rung, every (frames ÷ N)-th frame from each possible first frame; largest and rms error of the mean VMAF over those first frames, largest error of the 5th-percentile frame's VMAF, and σ/√N (σ: spread of the rung's per-frame VMAF). Long titles are scored on at most ${RUNG_QUALITY_MAX_FRAMES} frames per rung (RUNG_QUALITY_MAX_FRAMES).`,
  '',
  `| clip | rung | frames | σ | ${FRAME_COUNTS.map((n) => `N=${n}: mean max / rms · 5th-pct max · σ/√N`).join(' | ')} |`,
  `|---|---|---:|---:|${FRAME_COUNTS.map(() => '---:').join('|')}|`,
  ...byCount.map((b) => `| ${b.clip} | ${b.rung} | ${b.frames} | ${b.sigma.toFixed(2)} | ${FRAME_COUNTS.map((n) => { const c = b.counts.find((x) => x.n === n); return c ? `${c.meanMaxAbs.toFixed(2)} / ${c.meanRms.toFixed(2)} · ${c.lowMaxAbs.toFixed(2)} · ${(b.sigma / Math.sqrt(n)).toFixed(2)}` : '–'; }).join(' | ')} |`),
].join('\n');
await fs.mkdir(OUT, { recursive: true });
await fs.writeFile(path.join(OUT, 'rung-sample.md'), `${md}\n`);
await fs.writeFile(path.join(OUT, 'rung-sample.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), framesPerS: RUNG_QUALITY_FRAMES_PER_S, maxFrames: RUNG_QUALITY_MAX_FRAMES, rows, byCount }, null, 2)}\n`);
process.stdout.write(`${md}\nWrote bench/results/rung-sample.md and rung-sample.json\n`);
await fs.rm(work, { recursive: true, force: true });
