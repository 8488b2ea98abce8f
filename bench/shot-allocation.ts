/**
 * Shot-aware allocation against one CRF per rung (issue 13: "Shot-aware allocation … Compare the
 * result with the per-title ladder in the bench").
 *
 * For a master and its per-title rungs (resolution, CRF, bitrate: by default the per-title rungs
 * `npm run bench:ladder` published for that clip, bench/results/ladder.json), the shots are
 * detected (src/encoder/shots.ts), and each rung is encoded over the whole title at its CRF and at
 * CRF offsets around it (x264 at the final preset, capped CRF with the rung's VBV, 4 s closed GOPs,
 * as the pipeline's final encodes) and measured on every frame with VMAF at the master's display
 * size. Each shot's bits and mean VMAF at those CRFs are its rate–quality points; two allocations
 * choose a CRF per shot within the bits the rung's one CRF spent (src/encoder/shot-allocation.ts):
 * equal slope (the most frame-weighted VMAF: the Dynamic Optimizer's rule) and even quality. Each
 * is encoded with x264 zones and measured the same way. Reported per rung: bitrate, mean VMAF,
 * the 5th-percentile frame, the spread of the shots' VMAF, and the bits saved at equal mean VMAF —
 * the allocation's bitrate against what one CRF needs for the same mean VMAF (interpolated in log
 * bitrate between the offsets' encodes) — and, over the rungs, the BD-rate against one CRF.
 *
 * Writes bench/results/shots-<tag>.json and .md. Run: npm run bench:shots -- --help
 * (the 70 s Tears of Steel clip, 6 rungs × 7 encodes: about 25 minutes on 2 cores).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { bdRate } from '../src/encoder/bd-rate.js';
import { probePackets, resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { LOW_FRAME_PERCENTILE, measureFrameScoresBatch, nearestRankPercentile, qualityMeasurementSize } from '../src/encoder/quality-metrics.js';
import { BUFSIZE_FACTOR, MAXRATE_FACTOR, videoEncoderOptions } from '../src/encoder/rendition.js';
import { allocateEqualSlope, allocateEvenQuality, type ShotRd } from '../src/encoder/shot-allocation.js';
import { detectCutTimesS, shotsFromCuts, x264ZonesForShots, type Shot } from '../src/encoder/shots.js';
import { outputFrameRate } from '../src/encoder/title-stages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'results');
const SEGMENT_S = 4;

interface RungArg {
  width: number;
  height: number;
  crf: number;
  bitrateBps: number;
}

const parseRung = (v: string, acc: RungArg[]): RungArg[] => {
  const m = /^(\d+)x(\d+):([0-9.]+):(\d+)$/.exec(v);
  if (!m) throw new Error(`--rung ${v}: expected WIDTHxHEIGHT:CRF:BITRATE_BPS, e.g. 768x318:23.2:949000`);
  return [...acc, { width: Number(m[1]), height: Number(m[2]), crf: Number(m[3]), bitrateBps: Number(m[4]) }];
};

const opts = new Command('bench:shots')
  .description('Shot-aware allocation (a CRF per shot, x264 zones) against one CRF per rung: bitrate, VMAF, 5th-percentile frame, BD-rate.')
  .option('--master <file>', 'the master', path.resolve(ROOT, '..', 'shared', 'media', 'tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm'))
  .option('--rung <WxH:crf:bps>', "a rung (repeat); default: the master's per-title rungs in bench/results/ladder.json", parseRung, [] as RungArg[])
  .option('--offsets <list>', 'CRF offsets measured around each rung’s CRF', '-6,-3,0,3,6')
  .option('--preset <name>', 'x264 preset of every encode', process.env.VOD_X264_PRESET ?? 'medium')
  .option('--vmaf-model <path>', 'VMAF model', process.env.VMAF_MODEL ?? path.resolve(ROOT, '..', 'shared', 'vmaf', 'vmaf_v0.6.1.pkl'))
  .option('--tag <name>', 'output name: bench/results/shots-<tag>.*', '')
  .parse()
  .opts<{ master: string; rung: RungArg[]; offsets: string; preset: string; vmafModel: string; tag: string }>();

const paths = resolveFfmpegPaths(loadConfig({}));
const master = path.resolve(opts.master);
const clip = path.basename(master);
const info = await inspectMaster(master, paths);
const video = info.video!;
const frameRate = outputFrameRate(video);
let rungs = opts.rung;
if (rungs.length === 0) {
  const ladder = JSON.parse(await fs.readFile(path.join(OUT, 'ladder.json'), 'utf8')) as { clips: { clip: string; perTitle: { rungs: { width: number; height: number; crf?: number; targetBitrateBps: number }[] } }[] };
  const found = ladder.clips.find((c) => c.clip === clip);
  if (!found) throw new Error(`no per-title rungs for ${clip} in bench/results/ladder.json: give them with --rung`);
  rungs = found.perTitle.rungs.filter((r) => r.crf !== undefined).map((r) => ({ width: r.width, height: r.height, crf: r.crf!, bitrateBps: r.targetBitrateBps }));
}
const offsets = opts.offsets.split(',').map(Number);
if (!offsets.includes(0) || offsets.some((o) => !Number.isFinite(o))) throw new Error('--offsets must be numbers and include 0');
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-shots-'));
const started = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${s}\n`);

const cuts = await detectCutTimesS(master, paths);
const frameCount = Math.round(info.durationS * frameRate);
let shots: Shot[] = shotsFromCuts(cuts, frameRate, frameCount);
log(`${clip}: ${shots.length} shots (cuts at ${cuts.map((c) => c.toFixed(2)).join(', ') || 'none'} s)`);

/** Encodes the whole master at one rung, one CRF (and optional zones); returns the file. */
async function encode(rung: RungArg, crf: number, name: string, zones?: string): Promise<string> {
  const gop = Math.round(frameRate * SEGMENT_S);
  const options = videoEncoderOptions({ preset: opts.preset, crf, vbv: { maxrateBps: rung.bitrateBps * MAXRATE_FACTOR, bufsizeBps: rung.bitrateBps * BUFSIZE_FACTOR }, gop });
  const i = options.indexOf('-x264-params');
  if (zones) options[i + 1] = `${options[i + 1]}:zones=${zones}`;
  const out = path.join(work, `${name}.mp4`);
  await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-map', '0:v:0', '-an', '-sn', '-vf', `scale=${rung.width}:${rung.height}:flags=bicubic,setsar=1`, '-r', String(frameRate), ...options, '-force_key_frames', `expr:gte(t,n_forced*${SEGMENT_S})`], output: out }, paths);
  return out;
}

interface Measured {
  crf: number;
  bitrateBps: number;
  vmaf: number;
  lowVmaf: number;
  /** Each shot's bits and mean VMAF. */
  shots: { bits: number; vmaf: number }[];
}

/** Per-frame bits (presentation order) and per-frame VMAF of encodes of the whole master. */
async function measure(files: string[], crfs: number[]): Promise<Measured[]> {
  const scores = await measureFrameScoresBatch({ reference: master, ...qualityMeasurementSize(video), frameRate, vmafModelPath: opts.vmafModel, psnr: false, ssim: false }, files, paths);
  const perFrame = await Promise.all(files.map(async (f, k) => ({ file: f, bits: (await probePackets(f, paths)).sort((a, b) => a.ptsS - b.ptsS).map((p) => p.sizeBytes * 8), vmaf: [...scores[k]!.vmaf!] })));
  for (const { file, bits, vmaf } of perFrame) if (bits.length !== vmaf.length) throw new Error(`${file}: ${bits.length} packets but ${vmaf.length} VMAF frames`);
  const frames = perFrame[0]!.bits.length;
  if (shots.at(-1)!.endFrame !== frames) {
    // The title's frame count is what the encodes hold: the shots were cut on the duration's estimate.
    log(`the encodes hold ${frames} frames, not ${shots.at(-1)!.endFrame}: shots re-cut on that count`);
    shots = shotsFromCuts(cuts, frameRate, frames);
  }
  const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
  return perFrame.map(({ bits, vmaf }, k) => ({
    crf: crfs[k]!,
    bitrateBps: (sum(bits) / bits.length) * frameRate,
    vmaf: sum(vmaf) / vmaf.length,
    lowVmaf: nearestRankPercentile(vmaf, LOW_FRAME_PERCENTILE),
    shots: shots.map((s) => ({ bits: sum(bits.slice(s.startFrame, s.endFrame)), vmaf: sum(vmaf.slice(s.startFrame, s.endFrame)) / (s.endFrame - s.startFrame) })),
  }));
}

/** The bitrate one CRF needs for `vmaf`, interpolated in log bitrate between measured CRFs (NaN outside them). */
function constantRateFor(curve: Measured[], vmaf: number): number {
  const pts = [...curve].sort((a, b) => a.vmaf - b.vmaf);
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[i + 1]!;
    if (a.vmaf <= vmaf && vmaf <= b.vmaf && b.vmaf > a.vmaf) return Math.exp(Math.log(a.bitrateBps) + ((vmaf - a.vmaf) / (b.vmaf - a.vmaf)) * (Math.log(b.bitrateBps) - Math.log(a.bitrateBps)));
  }
  return Number.NaN;
}

const spread = (m: Measured) => ({ min: Math.min(...m.shots.map((s) => s.vmaf)), max: Math.max(...m.shots.map((s) => s.vmaf)) });
async function runRung(rung: RungArg) {
  const label = `${rung.width}x${rung.height} CRF ${rung.crf}`;
  const crfs = offsets.map((o) => Math.max(0, Math.min(51, Number((rung.crf + o).toFixed(2)))));
  const files = [];
  for (const c of crfs) files.push(await encode(rung, c, `${rung.height}p-crf${c}`));
  const curve = await measure(files, crfs);
  const one = curve.find((m) => m.crf === Number(rung.crf.toFixed(2)))!;
  log(`${label}: one CRF ${(one.bitrateBps / 1e3).toFixed(0)} kbit/s, VMAF ${one.vmaf.toFixed(2)}`);
  const rd: ShotRd[] = shots.map((s, i) => ({ frames: s.endFrame - s.startFrame, points: curve.map((m) => ({ crf: m.crf, bits: m.shots[i]!.bits, quality: m.shots[i]!.vmaf })) }));
  const budget = one.shots.reduce((a, s) => a + s.bits, 0);
  const allocations = { equalSlope: allocateEqualSlope(rd, budget), evenQuality: allocateEvenQuality(rd, budget) };
  const zoned = [];
  for (const [name, a] of Object.entries(allocations)) zoned.push(await encode(rung, rung.crf, `${rung.height}p-${name}`, x264ZonesForShots(shots, a.crfs)));
  const [slope, even] = await measure(zoned, [rung.crf, rung.crf]);
  const result = (m: Measured, crfsChosen: number[]) => {
    const same = constantRateFor(curve, m.vmaf);
    return { bitrateBps: m.bitrateBps, vmaf: m.vmaf, lowVmaf: m.lowVmaf, shotVmaf: spread(m), oneCrfBitrateAtSameVmafBps: same, bitsSaved: Number.isFinite(same) ? 1 - m.bitrateBps / same : null, crfs: crfsChosen };
  };
  const row = {
    rung: label,
    width: rung.width,
    height: rung.height,
    crf: rung.crf,
    oneCrf: { bitrateBps: one.bitrateBps, vmaf: one.vmaf, lowVmaf: one.lowVmaf, shotVmaf: spread(one) },
    curve: curve.map((m) => ({ crf: m.crf, bitrateBps: m.bitrateBps, vmaf: m.vmaf })),
    equalSlope: result(slope!, allocations.equalSlope.crfs),
    evenQuality: result(even!, allocations.evenQuality.crfs),
  };
  log(`${label}: equal slope ${(row.equalSlope.bitrateBps / 1e3).toFixed(0)} kbit/s VMAF ${row.equalSlope.vmaf.toFixed(2)} (saved ${((row.equalSlope.bitsSaved ?? NaN) * 100).toFixed(1)}%), even ${(row.evenQuality.bitrateBps / 1e3).toFixed(0)} kbit/s VMAF ${row.evenQuality.vmaf.toFixed(2)} (saved ${((row.evenQuality.bitsSaved ?? NaN) * 100).toFixed(1)}%)`);
  return row;
}
const rows: Awaited<ReturnType<typeof runRung>>[] = [];
for (const rung of rungs) rows.push(await runRung(rung));

const bd = (key: 'equalSlope' | 'evenQuality') => {
  try {
    return bdRate(
      rows.map((r) => ({ bitrateBps: r.oneCrf.bitrateBps, quality: r.oneCrf.vmaf })),
      rows.map((r) => ({ bitrateBps: r[key].bitrateBps, quality: r[key].vmaf })),
    );
  } catch {
    return null;
  }
};
const summary = { equalSlopeBdRate: bd('equalSlope'), evenQualityBdRate: bd('evenQuality') };
const kb = (b: number) => (b / 1e3).toFixed(0);
const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : `${x >= 0 ? '' : '−'}${Math.abs(x * 100).toFixed(1)}%`);
const md = [
  `Shot-aware allocation against one CRF per rung (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, x264 ${opts.preset}, capped CRF with each rung's VBV, VMAF on every frame at ${qualityMeasurementSize(video).width}x${qualityMeasurementSize(video).height}): ${clip}, ${shots.length} shots, CRF offsets ${offsets.join(', ')}. "saved" is the bits saved against one CRF at the same mean VMAF; shots: the lowest and highest shot's mean VMAF.`,
  '',
  '| rung | one CRF kbit/s | VMAF | 5th pct | shots | equal slope kbit/s | VMAF | 5th pct | shots | saved | even quality kbit/s | VMAF | 5th pct | shots | saved |',
  '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |',
  ...rows.map((r) => {
    const cell = (m: { bitrateBps: number; vmaf: number; lowVmaf: number; shotVmaf: { min: number; max: number } }) => `${kb(m.bitrateBps)} | ${m.vmaf.toFixed(2)} | ${m.lowVmaf.toFixed(1)} | ${m.shotVmaf.min.toFixed(1)}–${m.shotVmaf.max.toFixed(1)}`;
    return `| ${r.rung} | ${cell(r.oneCrf)} | ${cell(r.equalSlope)} | ${pct(r.equalSlope.bitsSaved)} | ${cell(r.evenQuality)} | ${pct(r.evenQuality.bitsSaved)} |`;
  }),
  '',
  `BD-rate on VMAF against one CRF per rung, over the rungs: equal slope ${pct(summary.equalSlopeBdRate)}, even quality ${pct(summary.evenQualityBdRate)} (negative: fewer bits at equal quality).`,
  '',
].join('\n');
const name = `shots-${opts.tag || clip.replace(/\.[^.]+$/, '').split('_').slice(0, 2).join('-')}`;
await fs.mkdir(OUT, { recursive: true });
await fs.writeFile(path.join(OUT, `${name}.md`), md);
await fs.writeFile(path.join(OUT, `${name}.json`), `${JSON.stringify({ generatedAt: new Date().toISOString(), clip, preset: opts.preset, offsets, cuts, shots, summary, rows }, null, 1)}\n`);
await fs.rm(work, { recursive: true, force: true });
process.stdout.write(`${md}\nWrote bench/results/${name}.md and ${name}.json\n`);
