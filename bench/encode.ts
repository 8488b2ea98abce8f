/**
 * Catalog-scale encoding benchmark (issue 12): wall time to publish a 1920x1080 master made
 * from ffmpeg's test sources, through the real queue and real `vod worker` processes, with the
 * fixed and the per-title ladder, on 1 and 2 workers, chunked and (fixed ladder, 1 worker) in
 * one pass; and the same fixed ladder encoded by plain ffmpeg commands (one per rendition,
 * the options the pipeline uses) for reference. Reports the split analysis / encode / measure
 * from each title's ladder.json, the pipeline's overhead over plain ffmpeg, the chunking
 * overhead, the real-time factor (encode time ÷ title duration) per resolution, and the
 * projected time of a 2-hour 1080p title on N machines like this one. With --hdr the master is
 * re-encoded as HDR (PQ or HLG, HEVC Main 10) and the runs publish it tone-mapped to SDR; the
 * tone map's own cost is timed too (decoding the master with and without it).
 *
 * Writes bench/results/encode.json and encode.md (the README table), or encode-<tag>.* with --tag.
 * Run: npm run bench:encode -- --help
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { loadConfig, storeDir } from '../src/config.js';
import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { fixedLadderFor } from '../src/encoder/fixed-ladder.js';
import type { LadderReport } from '../src/encoder/ladder-report.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { encodeAudioRendition, encodeVideoRendition, videoRenditionOptions } from '../src/encoder/rendition.js';
import { outputFrameRate, rungFrameSample, RUNG_QUALITY_MAX_FRAMES } from '../src/encoder/title-stages.js';
import { AUDIO_BITRATE_BPS } from '../src/encoder/audio-tracks.js';
import { EncodeQueue } from '../src/ingest/encode-queue.js';
import { ensureRedis } from '../src/ingest/redis-server.js';
import { uploadMaster } from '../src/ingest/upload.js';
import { FsObjectStore } from '../src/origin/fs-object-store.js';
import type { LadderKind } from '../src/title/title-address.js';
import { makeHdrMaster, makeSyntheticMaster } from '../fixtures/synthetic-master.js';
import { toneMapFilter } from '../src/encoder/media-info.js';
import { transparentHugePagesMode } from '../src/util/transparent-huge-pages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'results');
const VOD_BIN = path.join(ROOT, 'bin', 'vod.mjs');
const DEFAULT_VMAF = path.resolve(ROOT, '..', 'shared', 'vmaf', 'vmaf_v0.6.1.pkl');
/** The title the projection is for: 2 hours. */
const FEATURE_S = 2 * 3600;
/**
 * Per chunk and rung, the part of measuring that does not shrink with the frame sample: ffmpeg
 * and libvmaf start-up, the frame sample's pad frame, decoding the chunk of the rung. About 1.3 s
 * at 1080p on this machine (2026-12-03: 0.35 s start-up, 0.45 s for the pad's scored frame, 1.0 s
 * to decode 12 s of the 1080p rung, 0.2 s for 360p); the projection takes it as the same per
 * chunk and rung and scales the rest of the measurement with the frames scored.
 */
const MEASURE_PER_CHUNK_RUNG_S = 1.3;

const program = new Command('bench:encode')
  .description('Publish a synthetic 1080p master through the queue and real workers; compare with plain ffmpeg.')
  .option('--duration <s>', 'master length, s', (v) => Number(v), 60)
  .option('--fps <n>', 'master frame rate', (v) => Number(v), 30)
  .option('--master-gop <s>', "keyframe interval of the synthetic master, s (default x264's 250 frames; mezzanines use short GOPs)", (v) => Number(v))
  .option('--chunk <s>', 'chunk length of the chunked runs, s (VOD_CHUNK_DURATION_S)', (v) => Number(v), 12)
  .option('--preset <name>', 'x264 preset of the final encodes (VOD_X264_PRESET)', 'medium')
  .addOption(new Option('--runs <list>', 'runs to do, comma-separated').default('plain,fixed-1,fixed-1-onepass,fixed-2,per-title-1,per-title-2'))
  .option('--no-vmaf', 'measure PSNR/SSIM only (default: VMAF with ../shared/vmaf/vmaf_v0.6.1.pkl when present)')
  .option('--tag <name>', 'write encode-<name>.json/.md instead of encode.json/.md (runs kept side by side)')
  .addOption(new Option('--hdr <transfer>', 'make the master HDR (BT.2020, this transfer, HEVC Main 10) and time its tone map to SDR').choices(['pq', 'hlg']))
  .parse();
const opts = program.opts<{ duration: number; fps: number; masterGop?: number; chunk: number; preset: string; runs: string; vmaf: boolean; tag?: string; hdr?: 'pq' | 'hlg' }>();
const outName = opts.tag ? `encode-${opts.tag.replace(/[^A-Za-z0-9_-]/g, '_')}` : 'encode';
const runs = new Set(opts.runs.split(',').map((s) => s.trim()));

const vmafModel = opts.vmaf ? (process.env.VMAF_MODEL ?? ((await fs.stat(DEFAULT_VMAF).catch(() => undefined)) ? DEFAULT_VMAF : undefined)) : undefined;
const paths = resolveFfmpegPaths(loadConfig({}));
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-encode-'));

interface PlainResult {
  /** Seconds per rendition, and the ffmpeg options each ran with. */
  renditions: { name: string; width: number; height: number; bitrateBps: number; seconds: number; realTimeFactor: number; ffmpegOutputOptions: string[] }[];
  audioS: number;
  totalS: number;
}

interface PipelineResult {
  name: string;
  ladder: LadderKind;
  workers: number;
  chunkS: number;
  /** Upload queued → title published, s. */
  wallS: number;
  /** From the title's ladder.json: analysis wall time; encodes and quality measurement summed over the jobs that ran them. */
  analysisS: number;
  encodeS: number;
  measureS: number;
  rungs: number;
  sampleDurationS: number | undefined;
}

const bar = new cliProgress.SingleBar({ format: '{run} [{bar}] {percentage}% {stage} | {elapsed}s', hideCursor: true }, cliProgress.Presets.shades_classic);

try {
  process.stderr.write(`master: ${opts.duration} s 1920x1080 at ${opts.fps} fps (testsrc2 + temporal noise)…\n`);
  const sdrMaster = await makeSyntheticMaster(
    { path: path.join(work, 'master.mp4'), durationS: opts.duration, width: 1920, height: 1080, frameRate: opts.fps, videoFilter: 'noise=alls=6:allf=t', ...(opts.masterGop !== undefined ? { keyframeIntervalS: opts.masterGop } : {}) },
    paths,
  );
  const master = opts.hdr
    ? await makeHdrMaster(sdrMaster, path.join(work, `master-${opts.hdr}.mp4`), opts.hdr, paths, { x265Preset: 'ultrafast', frameRate: opts.fps, ...(opts.masterGop !== undefined ? { keyframeIntervalS: opts.masterGop } : {}) })
    : sdrMaster;
  const hdr = opts.hdr ? { transfer: opts.hdr, ...(await timeToneMap(master, opts.hdr)) } : undefined;
  const probe = await inspectMaster(master, paths);
  const frameRate = outputFrameRate(probe.video!);
  const ladder = fixedLadderFor(probe.video!);

  let plain: PlainResult | undefined;
  if (runs.has('plain')) {
    const renditions: PlainResult['renditions'] = [];
    const started = performance.now();
    for (const rung of ladder) {
      const name = `${rung.height}p`;
      const spec = { masterPath: master, outDir: path.join(work, 'plain', name), rung, frameRate, segmentDurationS: 4, x264Preset: opts.preset };
      bar.start(100, 0, { run: `plain ffmpeg ${name}`, stage: '' });
      const t0 = performance.now();
      await encodeVideoRendition(spec, paths, { durationS: opts.duration, onProgress: (f) => bar.update(Math.round(f * 100)) });
      const seconds = (performance.now() - t0) / 1000;
      bar.stop();
      renditions.push({ name, ...rung, seconds, realTimeFactor: seconds / opts.duration, ffmpegOutputOptions: videoRenditionOptions(spec) });
    }
    const t0 = performance.now();
    await encodeAudioRendition({ masterPath: master, outDir: path.join(work, 'plain', 'audio'), bitrateBps: AUDIO_BITRATE_BPS, sampleRateHz: 48_000, segmentDurationS: 4 }, paths);
    const audioS = (performance.now() - t0) / 1000;
    plain = { renditions, audioS, totalS: (performance.now() - started) / 1000 };
    await fs.rm(path.join(work, 'plain'), { recursive: true, force: true });
  }

  const pipeline: PipelineResult[] = [];
  const plans: { name: string; ladder: LadderKind; workers: number; chunkS: number }[] = [
    { name: 'fixed-1', ladder: 'fixed', workers: 1, chunkS: opts.chunk },
    { name: 'fixed-1-onepass', ladder: 'fixed', workers: 1, chunkS: 0 },
    { name: 'fixed-2', ladder: 'fixed', workers: 2, chunkS: opts.chunk },
    { name: 'per-title-1', ladder: 'per-title', workers: 1, chunkS: opts.chunk },
    { name: 'per-title-2', ladder: 'per-title', workers: 2, chunkS: opts.chunk },
  ];
  for (const plan of plans.filter((p) => runs.has(p.name))) pipeline.push(await runPipeline(master, plan));

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), model: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), transparentHugePages: (await transparentHugePagesMode()) ?? 'unknown' },
    settings: { durationS: opts.duration, width: 1920, height: 1080, frameRate, masterGopS: opts.masterGop ?? 'x264 default (250 frames)', preset: opts.preset, chunkS: opts.chunk, metric: vmafModel ? 'vmaf' : 'psnr', ...(opts.hdr ? { master: `HDR ${opts.hdr.toUpperCase()}, HEVC Main 10` } : {}) },
    hdr,
    plain,
    pipeline,
    derived: derive(plain, pipeline),
  };
  await fs.mkdir(OUT, { recursive: true });
  await fs.writeFile(path.join(OUT, `${outName}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(result);
  await fs.writeFile(path.join(OUT, `${outName}.md`), md);
  process.stdout.write(md);
} finally {
  bar.stop();
  await fs.rm(work, { recursive: true, force: true });
}

/**
 * Seconds to decode the master's video to nothing, without and with the tone map to SDR that
 * every pass reading an HDR master runs (media-info.ts toneMapFilter), one ffmpeg each.
 */
async function timeToneMap(file: string, transfer: 'pq' | 'hlg'): Promise<{ decodeS: number; decodeToneMapS: number }> {
  const time = async (vf: string) => {
    const t0 = performance.now();
    await runFfmpeg({ inputs: [{ source: file }], outputOptions: ['-map', '0:v:0', ...(vf ? ['-vf', vf.replace(/,$/, '')] : []), '-f', 'null'], output: '/dev/null' }, paths);
    return (performance.now() - t0) / 1000;
  };
  const decodeS = await time('');
  return { decodeS, decodeToneMapS: await time(toneMapFilter(transfer)) };
}

/** Publishes the master through a fresh queue and store with `workers` real `vod worker` processes. */
async function runPipeline(master: string, plan: { name: string; ladder: LadderKind; workers: number; chunkS: number }): Promise<PipelineResult> {
  const dataDir = path.join(work, plan.name);
  const env: NodeJS.ProcessEnv = { ...process.env, VOD_DATA_DIR: dataDir, VOD_X264_PRESET: opts.preset, VOD_CHUNK_DURATION_S: String(plan.chunkS), LOG_LEVEL: 'warn' };
  delete env.VOD_STORE_URL;
  delete env.REDIS_URL;
  if (vmafModel) env.VMAF_MODEL = vmafModel;
  else delete env.VMAF_MODEL;
  const config = loadConfig(env);
  const redis = await ensureRedis(config);
  const queue = new EncodeQueue(redis, config);
  const store = new FsObjectStore(storeDir(config));
  const children: ChildProcess[] = [];
  try {
    for (let i = 1; i <= plan.workers; i++) {
      children.push(spawn(process.execPath, [VOD_BIN, '--data-dir', dataDir, 'worker', '--name', `bench-${i}`], { env, stdio: 'ignore' }));
    }
    const started = performance.now();
    const { titleId } = await uploadMaster({ file: master, title: `bench ${plan.name}`, ladder: plan.ladder }, { store, queue: async () => queue, paths });
    bar.start(100, 0, { run: plan.name, stage: 'queued' });
    const final = await queue.waitUntilFinished(titleId, (s) => {
      const chunks = s.children ? ` ${s.children.done}/${s.children.total} chunk jobs` : '';
      bar.update(Math.round(s.progress?.percent ?? 0), { stage: `${s.progress?.stage ?? s.state}${chunks}` });
    }, { pollMs: 500 });
    bar.stop();
    if (final.state !== 'completed') throw new Error(`${plan.name}: ${final.failedReason}`);
    const wallS = (performance.now() - started) / 1000;
    const report = JSON.parse((await store.get(`vod/${titleId}/ladder.json`))!.toString('utf8')) as LadderReport;
    process.stderr.write(`${plan.name}: ${wallS.toFixed(1)} s\n`);
    return {
      ...plan,
      wallS,
      analysisS: report.timings.analysisS,
      encodeS: report.timings.encodeS,
      measureS: report.timings.measureS,
      rungs: report.rungs.length,
      sampleDurationS: report.analysis?.sample.durationS,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await queue.close();
    await redis.stopIfStartedHere();
  }
}

/** Ratios and the projection (see the module header). */
function derive(plain: PlainResult | undefined, pipeline: PipelineResult[]) {
  const by = (name: string) => pipeline.find((p) => p.name === name);
  const f1 = by('fixed-1');
  const onepass = by('fixed-1-onepass');
  const pt1 = by('per-title-1');
  // The pipeline's own time on one worker: its wall time less the quality measurement, which
  // plain ffmpeg does not do (the two run one after another on one worker).
  const own = (p: PipelineResult | undefined) => (p ? p.wallS - p.measureS : undefined);
  const projection = (p: PipelineResult | undefined) => {
    if (!p) return undefined;
    // Analysis samples min(10 windows, 20% of the title): at most 10 windows of a 2-hour title.
    const analysis2h = p.sampleDurationS ? (p.analysisS * Math.min(10 * 4, FEATURE_S * 0.2)) / p.sampleDurationS : 0;
    // Measurement (VMAF on a frame sample): the rungs are scored on about one frame per second up
    // to RUNG_QUALITY_MAX_FRAMES frames (measure-stage.ts rungFrameSample), so a 2-hour title's
    // per-frame part grows with the frames scored, its per-chunk part with the chunks.
    let measure2h = (p.measureS * FEATURE_S) / opts.duration;
    if (vmafModel && p.chunkS > 0) {
      const scored = (d: number) => (d * opts.fps) / rungFrameSample(opts.fps, 4, d);
      const chunks = (d: number) => Math.ceil(d / p.chunkS);
      const perChunk = Math.min(p.measureS, MEASURE_PER_CHUNK_RUNG_S * p.rungs * chunks(opts.duration));
      measure2h = ((p.measureS - perChunk) * scored(FEATURE_S)) / scored(opts.duration) + (perChunk * chunks(FEATURE_S)) / chunks(opts.duration);
    }
    const perContentS = (p.wallS - p.analysisS - p.measureS) / opts.duration;
    return Object.fromEntries([1, 2, 10, 50].map((n) => [n, Math.round(analysis2h + (perContentS * FEATURE_S + measure2h) / n)]));
  };
  return {
    pipelineOverOwnFfmpeg: plain && f1 ? own(f1)! / plain.totalS : undefined,
    onePassOverPlainFfmpeg: plain && onepass ? own(onepass)! / plain.totalS : undefined,
    chunkingOverhead: f1 && onepass ? own(f1)! / own(onepass)! - 1 : undefined,
    perTitleAnalysisPlusMeasureOverEncodes: pt1 ? (pt1.analysisS + pt1.measureS) / pt1.encodeS : undefined,
    twoWorkerSpeedup: Object.fromEntries(['fixed', 'per-title'].map((l) => [l, by(`${l}-1`) && by(`${l}-2`) ? by(`${l}-1`)!.wallS / by(`${l}-2`)!.wallS : undefined])),
    projected2hTitleS: { fixed: projection(f1), perTitle: projection(pt1) },
  };
}

function markdown(r: { date: string; machine: { cpus: number; model: string; transparentHugePages?: string }; settings: Record<string, unknown>; hdr: { transfer: string; decodeS: number; decodeToneMapS: number } | undefined; plain: PlainResult | undefined; pipeline: PipelineResult[]; derived: ReturnType<typeof derive> }): string {
  const s = (x: number | undefined, d = 1) => (x === undefined ? '–' : x.toFixed(d));
  const pct = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `Encode benchmark (${r.date.slice(0, 10)}, ${r.machine.cpus} cores, ${r.machine.model}, transparent huge pages ${r.machine.transparentHugePages ?? 'unknown'}): ${JSON.stringify(r.settings)}`,
    '',
    '| run | ladder | workers | chunk s | rungs | wall s | analysis s | encode s (summed) | measure s (summed) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.pipeline.map((p) => `| ${p.name} | ${p.ladder} | ${p.workers} | ${p.chunkS || 'one pass'} | ${p.rungs} | ${s(p.wallS)} | ${s(p.analysisS)} | ${s(p.encodeS)} | ${s(p.measureS)} |`),
    '',
  ];
  if (r.plain) {
    lines.push('| plain ffmpeg rendition | seconds | real-time factor |', '|---|---|---|');
    for (const x of r.plain.renditions) lines.push(`| ${x.width}x${x.height} @ ${Math.round(x.bitrateBps / 1000)}k | ${s(x.seconds)} | ${s(x.realTimeFactor, 2)} |`);
    lines.push(`| audio | ${s(r.plain.audioS)} | |`, `| **all** | ${s(r.plain.totalS)} | ${s(r.plain.totalS / Number(r.settings.durationS), 2)} |`, '');
  }
  const d = r.derived;
  if (r.hdr) {
    const extra = r.hdr.decodeToneMapS - r.hdr.decodeS;
    lines.push(`- HDR (${r.hdr.transfer.toUpperCase()}) master: decoding its video takes ${s(r.hdr.decodeS)} s, with the tone map to SDR ${s(r.hdr.decodeToneMapS)} s: the tone map costs ${s(extra)} s (${s(extra / Number(r.settings.durationS), 2)} s per second of 1080p), paid by every pass that reads the master`);
  }
  lines.push(
    `- Pipeline (fixed ladder, 1 worker, chunked) less its quality measurement ÷ plain ffmpeg: ${s(d.pipelineOverOwnFfmpeg, 3)} (one pass: ${s(d.onePassOverPlainFfmpeg, 3)})`,
    `- Chunking overhead (chunked vs one pass, 1 worker, less measurement): ${pct(d.chunkingOverhead)}`,
    `- Per-title analysis + quality measurement ÷ final encodes: ${s(d.perTitleAnalysisPlusMeasureOverEncodes, 2)}`,
    `- 2 workers vs 1 on this machine: fixed ${s(d.twoWorkerSpeedup.fixed, 2)}×, per-title ${s(d.twoWorkerSpeedup['per-title'], 2)}×`,
    `- Projected 2-hour 1080p title on N machines like this one (s; analysis scaled to its 40 s sample; measurement by the frames scored, at most ${RUNG_QUALITY_MAX_FRAMES} per rung, and by chunks for ${MEASURE_PER_CHUNK_RUNG_S} s per chunk and rung; the rest by duration; all but the analysis divided by N): fixed ${d.projected2hTitleS.fixed ? JSON.stringify(d.projected2hTitleS.fixed) : '–'}, per-title ${d.projected2hTitleS.perTitle ? JSON.stringify(d.projected2hTitleS.perTitle) : '–'}`,
    '',
  );
  return lines.join('\n');
}
